package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// AlertState is the repeat limit's memory for one task and topic
// (t_task_alert_state).
type AlertState struct {
	Failing    bool
	Announced  bool
	LastSentAt *time.Time
	Suppressed int
}

// NewAlert is an alert to record.
type NewAlert struct {
	Kind       string
	ExecID     *int64
	Title      string
	Body       string
	ExitCode   *int
	Excerpt    []string
	Sent       bool
	Repeat     bool
	Suppressed int
}

// AlertRow is one row of t_task_alert.
type AlertRow struct {
	ID        int64
	DedupeKey string
	TaskName  string
	NewAlert
	DispatchedAt *time.Time
	Deliveries   map[string]Delivery
	CreatedAt    time.Time
}

// Delivery is one channel's outcome for an alert.
type Delivery struct {
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

const alertColumns = `id, dedupe_key, task_name, kind, exec_id, title, body, exit_code, excerpt,
	sent, repeat, suppressed, dispatched_at, deliveries, created_at`

func scanAlert(row pgx.Row) (AlertRow, error) {
	var a AlertRow
	err := row.Scan(&a.ID, &a.DedupeKey, &a.TaskName, &a.Kind, &a.ExecID, &a.Title, &a.Body,
		&a.ExitCode, &a.Excerpt, &a.Sent, &a.Repeat, &a.Suppressed, &a.DispatchedAt,
		&a.Deliveries, &a.CreatedAt)
	return a, err
}

// RecordAlert decides on and records an alert in one transaction. The
// topic's state is locked, so events of one task are decided one at a
// time. When dedupeKey was recorded before it returns that row and
// created false; otherwise decide gets the state and returns the new state
// and the alert to record, or nil when there is nothing to record (then
// the returned row is zero). A sent alert also sets the task's
// last_warning_time.
func (s *Store) RecordAlert(ctx context.Context, dedupeKey, taskName, topic string,
	decide func(AlertState) (AlertState, *NewAlert)) (row AlertRow, created bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t_task_alert_state (task_name, topic) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, taskName, topic); err != nil {
			return err
		}
		var st AlertState
		if err := tx.QueryRow(ctx, `SELECT failing, announced, last_sent_at, suppressed
			FROM t_task_alert_state WHERE task_name = $1 AND topic = $2 FOR UPDATE`, taskName, topic).
			Scan(&st.Failing, &st.Announced, &st.LastSentAt, &st.Suppressed); err != nil {
			return err
		}
		existing, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertColumns+` FROM t_task_alert
			WHERE dedupe_key = $1`, dedupeKey))
		if err == nil {
			row = existing
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		next, na := decide(st)
		if _, err := tx.Exec(ctx, `UPDATE t_task_alert_state SET failing = $3, announced = $4,
			last_sent_at = $5, suppressed = $6 WHERE task_name = $1 AND topic = $2`,
			taskName, topic, next.Failing, next.Announced, next.LastSentAt, next.Suppressed); err != nil {
			return err
		}
		if na == nil {
			return nil
		}
		if na.Excerpt == nil {
			na.Excerpt = []string{}
		}
		row, err = scanAlert(tx.QueryRow(ctx, `INSERT INTO t_task_alert (dedupe_key, task_name, kind,
			exec_id, title, body, exit_code, excerpt, sent, repeat, suppressed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+alertColumns,
			dedupeKey, taskName, na.Kind, na.ExecID, na.Title, na.Body, na.ExitCode, na.Excerpt,
			na.Sent, na.Repeat, na.Suppressed))
		if err != nil {
			return err
		}
		created = true
		if na.Sent {
			_, err = tx.Exec(ctx, `UPDATE t_task_list SET last_warning_time = now() WHERE task_name = $1`, taskName)
		}
		return err
	})
	if err != nil {
		return row, false, fmt.Errorf("record %s alert of %q: %w", topic, taskName, err)
	}
	return row, created, nil
}

// GetAlert returns one alert.
func (s *Store) GetAlert(ctx context.Context, id int64) (AlertRow, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM t_task_alert WHERE id = $1`, id))
	if err != nil {
		return a, fmt.Errorf("get alert %d: %w", id, err)
	}
	return a, nil
}

// ListAlerts returns a task's alerts ("" for every task), newest first.
func (s *Store) ListAlerts(ctx context.Context, taskName string, limit int) ([]AlertRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM t_task_alert
		WHERE $1 = '' OR task_name = $1 ORDER BY id DESC LIMIT $2`, taskName, limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	alerts, err := collect(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return alerts, nil
}

// UndispatchedAlerts returns sent alerts whose delivery was not started,
// raised before the given time, oldest first.
func (s *Store) UndispatchedAlerts(ctx context.Context, before time.Time, limit int) ([]AlertRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM t_task_alert
		WHERE sent AND dispatched_at IS NULL AND created_at < $1 ORDER BY id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("undispatched alerts: %w", err)
	}
	alerts, err := collect(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("undispatched alerts: %w", err)
	}
	return alerts, nil
}

// MarkAlertDispatched records that an alert's delivery was started.
func (s *Store) MarkAlertDispatched(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_task_alert SET dispatched_at = coalesce(dispatched_at, now())
		WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark alert %d dispatched: %w", id, err)
	}
	return nil
}

// RecordDelivery records one channel's outcome for an alert.
func (s *Store) RecordDelivery(ctx context.Context, id int64, channel string, d Delivery) error {
	b, err := json.Marshal(map[string]Delivery{channel: d})
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE t_task_alert SET deliveries = deliveries || $2::jsonb
		WHERE id = $1`, id, b); err != nil {
		return fmt.Errorf("record delivery of alert %d: %w", id, err)
	}
	return nil
}

// ForgetAlertState drops a task's repeat-limit memory (after its deletion,
// so a new task of the same name starts clean).
func (s *Store) ForgetAlertState(ctx context.Context, taskName string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM t_task_alert_state WHERE task_name = $1`, taskName); err != nil {
		return fmt.Errorf("forget alert state of %q: %w", taskName, err)
	}
	return nil
}

// DeletedTask returns the last deleted row of a task, from t_task_tombstone,
// and the tombstone's id; ErrTaskNotFound when there is none.
func (s *Store) DeletedTask(ctx context.Context, name string) (tasktype.Task, int64, error) {
	var id int64
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT id, row_data FROM t_task_tombstone WHERE task_name = $1
		ORDER BY id DESC LIMIT 1`, name).Scan(&id, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return tasktype.Task{}, 0, fmt.Errorf("deleted task %q: %w", name, ErrTaskNotFound)
	}
	if err != nil {
		return tasktype.Task{}, 0, fmt.Errorf("deleted task %q: %w", name, err)
	}
	var row struct {
		Rule          string   `json:"rule"`
		TimeZone      string   `json:"time_zone"`
		Owners        []string `json:"owners"`
		Description   string   `json:"description"`
		AlertChannels []string `json:"alert_channels"`
		SlackChannel  string   `json:"slack_channel"`
		WebhookURL    string   `json:"webhook_url"`
	}
	if err := json.Unmarshal(data, &row); err != nil {
		return tasktype.Task{}, 0, fmt.Errorf("deleted task %q: %w", name, err)
	}
	return tasktype.Task{Name: name, Rule: row.Rule, TimeZone: row.TimeZone, Owners: row.Owners,
		Description: row.Description, AlertChannels: row.AlertChannels, SlackChannel: row.SlackChannel,
		WebhookURL: row.WebhookURL}, id, nil
}

// AddPublish appends a publish to a run's row.
func (s *Store) AddPublish(ctx context.Context, runID int64, p tasktype.Publish) error {
	b, err := json.Marshal([]tasktype.Publish{p})
	if err != nil {
		return fmt.Errorf("add publish: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET publishes = publishes || $2::jsonb WHERE id = $1`, runID, b)
	if err != nil {
		return fmt.Errorf("add publish to run %d: %w", runID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("add publish to run %d: %w", runID, ErrRunNotFound)
	}
	return nil
}

// MonitorWatermark returns how far the missed-run check has looked for a
// task (nil when it never looked).
func (s *Store) MonitorWatermark(ctx context.Context, name string) (*time.Time, error) {
	var t time.Time
	err := s.pool.QueryRow(ctx, `SELECT checked_until FROM t_task_monitor WHERE task_name = $1`, name).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("monitor watermark of %q: %w", name, err)
	}
	return &t, nil
}

// SetMonitorWatermark records how far the missed-run check has looked.
func (s *Store) SetMonitorWatermark(ctx context.Context, name string, t time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO t_task_monitor (task_name, checked_until) VALUES ($1, $2)
		ON CONFLICT (task_name) DO UPDATE SET checked_until = $2`, name, t); err != nil {
		return fmt.Errorf("set monitor watermark of %q: %w", name, err)
	}
	return nil
}

// ScheduledTimes returns the scheduled times of a task's runs in [from, to].
func (s *Store) ScheduledTimes(ctx context.Context, name string, from, to time.Time) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT scheduled_time FROM t_task_exec_list
		WHERE task_name = $1 AND scheduled_time BETWEEN $2 AND $3`, name, from, to)
	if err != nil {
		return nil, fmt.Errorf("scheduled times of %q: %w", name, err)
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("scheduled times of %q: %w", name, err)
	}
	return times, nil
}

// RunAlerts returns the alerts raised about one run, oldest first.
func (s *Store) RunAlerts(ctx context.Context, runID int64) ([]AlertRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM t_task_alert WHERE exec_id = $1 ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("alerts of run %d: %w", runID, err)
	}
	alerts, err := collect(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("alerts of run %d: %w", runID, err)
	}
	return alerts, nil
}
