package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/tasktype"
)

const taskColumns = `task_name, rule, time_zone, timeout, timeout_action, task_status,
	overlap_policy, owners, description, last_start_time, last_end_time,
	last_warning_time, coalesce(task_version, ''), created_at, updated_at,
	alert_channels, slack_channel, webhook_url, status_note,
	run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
	learn_normal, slow_margin_seconds,
	retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
	retry_timed_out, retry_lost, params, after, after_condition, on_failure, deadline`

func scanTask(row pgx.Row) (tasktype.Task, error) {
	var t tasktype.Task
	var timeout int32
	var slowMargin *int32
	var retryDelay, retryMaxDelay int32
	err := row.Scan(&t.Name, &t.Rule, &t.TimeZone, &timeout, &t.TimeoutAction, &t.Status,
		&t.Overlap, &t.Owners, &t.Description, &t.LastStartTime, &t.LastEndTime,
		&t.LastWarningTime, &t.Version, &t.CreatedAt, &t.UpdatedAt,
		&t.AlertChannels, &t.SlackChannel, &t.WebhookURL, &t.StatusNote,
		&t.RunAs, &t.MemoryLimitMB, &t.CPULimit, &t.PidsLimit, &t.KeepRuns, &t.KeepDays,
		&t.LearnNormal, &slowMargin,
		&t.Retry.Max, &retryDelay, &t.Retry.Backoff, &retryMaxDelay, &t.Retry.On,
		&t.Retry.TimedOut, &t.Retry.Lost, &t.Params, &t.After, &t.AfterCondition, &t.OnFailure, &t.Deadline)
	t.Retry.Delay, t.Retry.MaxDelay = time.Duration(retryDelay)*time.Second, time.Duration(retryMaxDelay)*time.Second
	t.Timeout = time.Duration(timeout) * time.Second
	if len(t.Params) == 0 {
		t.Params = nil // '[]' declares none, as nil does
	}
	if len(t.After) == 0 {
		t.After = nil
	}
	if len(t.OnFailure) == 0 {
		t.OnFailure = nil
	}
	if slowMargin != nil {
		t.SlowMargin = new(time.Duration(*slowMargin) * time.Second)
	}
	return t, err
}

// ListTasks returns every task, by name.
func (s *Store) ListTasks(ctx context.Context) ([]tasktype.Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM t_task_list ORDER BY task_name`)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	tasks, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, nil
}

// GetTask returns the named task, or ErrTaskNotFound.
func (s *Store) GetTask(ctx context.Context, name string) (tasktype.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM t_task_list WHERE task_name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("get task %q: %w", name, ErrTaskNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get task %q: %w", name, err)
	}
	return t, nil
}

// UpsertTask inserts or replaces a task's settings (not its run
// bookkeeping, nor learn_normal, slow_margin_seconds, params and the
// chain settings, which keep their defaults or what the console or apply
// set). Only the bench uses it.
func (s *Store) UpsertTask(ctx context.Context, t tasktype.Task) error {
	err := s.taskTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
		INSERT INTO t_task_list (task_name, rule, time_zone, timeout, timeout_action,
			task_status, overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
			run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
			retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
			retry_timed_out, retry_lost)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26)
		ON CONFLICT (task_name) DO UPDATE SET rule = $2, time_zone = $3, timeout = $4,
			timeout_action = $5, task_status = $6, overlap_policy = $7, owners = $8,
			description = $9, alert_channels = $10, slack_channel = $11, webhook_url = $12, status_note = $13,
			run_as = $14, memory_limit_mb = $15, cpu_limit = $16, pids_limit = $17,
			keep_runs = $18, keep_days = $19,
			retry_max = $20, retry_delay_seconds = $21, retry_backoff = $22, retry_delay_max_seconds = $23,
			retry_on = $24, retry_timed_out = $25, retry_lost = $26`,
			taskArgs(t)[:26]...)
		return err
	})
	if err != nil {
		return fmt.Errorf("upsert task %q: %w", t.Name, err)
	}
	return nil
}

// DeleteTask deletes a task row; its runs stay in the history.
func (s *Store) DeleteTask(ctx context.Context, name string) error {
	var tag pgconn.CommandTag
	err := s.taskTx(ctx, func(tx pgx.Tx) (err error) {
		tag, err = tx.Exec(ctx, `DELETE FROM t_task_list WHERE task_name = $1`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete task %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete task %q: %w", name, ErrTaskNotFound)
	}
	return nil
}

// SetTaskStatus sets a task's task_status and clears its status note.
func (s *Store) SetTaskStatus(ctx context.Context, name string, status tasktype.Status) error {
	return s.SetTaskStatusNote(ctx, name, status, "")
}

// SetTaskStatusNote sets a task's task_status with a note saying why.
func (s *Store) SetTaskStatusNote(ctx context.Context, name string, status tasktype.Status, note string) error {
	var tag pgconn.CommandTag
	err := s.taskTx(ctx, func(tx pgx.Tx) (err error) {
		tag, err = tx.Exec(ctx, `UPDATE t_task_list SET task_status = $2, status_note = $3 WHERE task_name = $1`, name, status, note)
		return err
	})
	if err != nil {
		return fmt.Errorf("set status of task %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set status of task %q: %w", name, ErrTaskNotFound)
	}
	return nil
}

// MarkWarned records that a warning about the task was raised now.
func (s *Store) MarkWarned(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_task_list SET last_warning_time = now() WHERE task_name = $1`, name); err != nil {
		return fmt.Errorf("mark task %q warned: %w", name, err)
	}
	return nil
}

// TaskWebhook is a task's own webhook: where its alerts go instead of
// SCHETASK_WEBHOOK_URL, and the secret that signs them there.
type TaskWebhook struct {
	// URL is "" when the task uses the configured webhook.
	URL string
	// Secret is the task's webhook_secret, renewed by the database when
	// URL changes; unset for a task deleted before tasks had one.
	Secret config.Secret
}

// TaskWebhook returns a task's own webhook, from its row or, for a deleted
// task, its last tombstone; ErrTaskNotFound when there is neither. It is
// read when an alert is delivered, so that neither the URL's tokens nor
// the secret travel in the alert, which Temporal keeps in its history.
func (s *Store) TaskWebhook(ctx context.Context, name string) (TaskWebhook, error) {
	var url, secret string
	err := s.pool.QueryRow(ctx, `SELECT webhook_url, webhook_secret FROM t_task_list WHERE task_name = $1`,
		name).Scan(&url, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `SELECT coalesce(row_data->>'webhook_url', ''), coalesce(row_data->>'webhook_secret', '')
			FROM t_task_tombstone WHERE task_name = $1 ORDER BY id DESC LIMIT 1`, name).Scan(&url, &secret)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return TaskWebhook{}, fmt.Errorf("webhook of task %q: %w", name, ErrTaskNotFound)
	}
	if err != nil {
		return TaskWebhook{}, fmt.Errorf("webhook of task %q: %w", name, err)
	}
	return TaskWebhook{URL: url, Secret: config.NewSecret(secret)}, nil
}

// uniqueViolation is Postgres's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// checkViolation is Postgres's SQLSTATE for a refused check, which the
// chain trigger raises too (constraint chainNoCycle).
const (
	checkViolation = "23514"
	chainNoCycle   = "chain_no_cycle"
)

// ErrChainCycle is what a task write that would make the chain graph
// loop (a task after or on failure of itself, or of a task that runs
// after it) fails with; errors.As gives the *ChainCycleError saying which.
var ErrChainCycle = errors.New("chain cycle")

// ChainCycleError is the database's refusal of a chain cycle: Message is
// its words, "chain cycle: a → b → a" or "task a cannot run after or on
// failure of itself". It matches ErrChainCycle (errors.Is) and wraps the
// database's error.
type ChainCycleError struct {
	// Task is the task whose write was refused.
	Task string
	// Field is the setting of Task that closes the cycle: "after" or
	// "on_failure".
	Field string
	// Cycle is the loop, from Task back to it: [a b a]; [a a] for a task
	// naming itself.
	Cycle   []string
	Message string
	err     error
}

func (e *ChainCycleError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrChainCycle) true.
func (e *ChainCycleError) Is(target error) bool { return target == ErrChainCycle }

func (e *ChainCycleError) Unwrap() error { return e.err }

// chainCycle turns the database's refusal of a chain cycle in a write of
// t into a *ChainCycleError; any other error is returned as it is.
func chainCycle(t tasktype.Task, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != checkViolation || pgErr.ConstraintName != chainNoCycle {
		return err
	}
	e := &ChainCycleError{Task: t.Name, Field: "after", Message: pgErr.Message, err: pgErr}
	if path, ok := strings.CutPrefix(pgErr.Message, "chain cycle: "); ok {
		e.Cycle = strings.Split(path, " → ")
	} else {
		e.Cycle = []string{t.Name, t.Name}
	}
	// The loop leaves t by an on_failure edge or by a task naming t in
	// its after, and comes back by t's after or by a task naming t in its
	// on_failure; say which of t's own settings is in it.
	if n := len(e.Cycle); n >= 2 {
		if last := e.Cycle[n-2]; !slices.Contains(t.After, last) && slices.Contains(t.OnFailure, e.Cycle[1]) {
			e.Field = "on_failure"
		}
	}
	return e
}

// taskArgs are a task's settings in the column order of CreateTask
// (UpsertTask takes the first 26).
func taskArgs(t tasktype.Task) []any {
	if t.Owners == nil {
		t.Owners = []string{}
	}
	if t.AlertChannels == nil {
		t.AlertChannels = []string{}
	}
	r := t.Retry.WithDefaults()
	var slowMargin *int32
	if t.SlowMargin != nil {
		slowMargin = new(int32(*t.SlowMargin / time.Second))
	}
	params := t.Params
	if params == nil {
		params = []tasktype.Param{}
	}
	after, onFailure := t.After, t.OnFailure
	if after == nil {
		after = []string{}
	}
	if onFailure == nil {
		onFailure = []string{}
	}
	return []any{t.Name, t.Rule, t.TimeZone, int32(t.Timeout / time.Second), t.TimeoutAction,
		t.Status, t.Overlap, t.Owners, t.Description, t.AlertChannels, t.SlackChannel, t.WebhookURL, t.StatusNote,
		t.RunAs, t.MemoryLimitMB, t.CPULimit, t.PidsLimit, t.KeepRuns, t.KeepDays,
		r.Max, int32(r.Delay / time.Second), r.Backoff, int32(r.MaxDelay / time.Second), r.On,
		r.TimedOut, r.Lost, t.LearnNormal, slowMargin, params,
		after, cmp.Or(t.AfterCondition, tasktype.AfterAllSucceeded), onFailure, t.Deadline}
}

// insertTaskSQL and updateTaskSQL write every setting of a task, from
// taskArgs: CreateTask, UpdateTask and ApplyTasks use them.
const (
	insertTaskSQL = `INSERT INTO t_task_list (task_name, rule, time_zone, timeout, timeout_action,
			task_status, overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
			run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
			retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
			retry_timed_out, retry_lost, learn_normal, slow_margin_seconds, params,
			after, after_condition, on_failure, deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)`
	updateTaskSQL = `UPDATE t_task_list SET rule = $2, time_zone = $3, timeout = $4, timeout_action = $5,
			task_status = $6, overlap_policy = $7, owners = $8, description = $9,
			alert_channels = $10, slack_channel = $11, webhook_url = $12, status_note = $13,
			run_as = $14, memory_limit_mb = $15, cpu_limit = $16, pids_limit = $17,
			keep_runs = $18, keep_days = $19,
			retry_max = $20, retry_delay_seconds = $21, retry_backoff = $22, retry_delay_max_seconds = $23,
			retry_on = $24, retry_timed_out = $25, retry_lost = $26, learn_normal = $27, slow_margin_seconds = $28,
			params = $29, after = $30, after_condition = $31, on_failure = $32, deadline = $33
		WHERE task_name = $1`
)

// CreateTask inserts a new task, or fails with ErrTaskExists.
func (s *Store) CreateTask(ctx context.Context, t tasktype.Task) error {
	err := s.taskTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertTaskSQL, taskArgs(t)...)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return fmt.Errorf("create task %q: %w", t.Name, ErrTaskExists)
	}
	if err != nil {
		return fmt.Errorf("create task %q: %w", t.Name, chainCycle(t, err))
	}
	return nil
}

// UpdateTask replaces a task's settings if nobody changed the task since
// version (its UpdatedAt when the editor read it); otherwise it fails with
// ErrTaskChanged. It returns the task as it was before and after.
func (s *Store) UpdateTask(ctx context.Context, t tasktype.Task, version time.Time) (before, after tasktype.Task, err error) {
	err = s.taskTx(ctx, func(tx pgx.Tx) error {
		before, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM t_task_list WHERE task_name = $1 FOR UPDATE`, t.Name))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTaskNotFound
		}
		if err != nil {
			return err
		}
		if !before.UpdatedAt.Equal(version) {
			return ErrTaskChanged
		}
		after, err = scanTask(tx.QueryRow(ctx, updateTaskSQL+` RETURNING `+taskColumns, taskArgs(t)...))
		return chainCycle(t, err)
	})
	if err != nil {
		return before, after, fmt.Errorf("update task %q: %w", t.Name, err)
	}
	return before, after, nil
}

// LastRuns returns each task's newest run, by task name.
func (s *Store) LastRuns(ctx context.Context) (map[string]tasktype.Run, error) {
	runs, err := s.queryRuns(ctx, "last runs", `SELECT r.* FROM t_task_list t
		CROSS JOIN LATERAL (SELECT `+runColumns+` FROM t_task_exec_list e
			WHERE e.task_name = t.task_name ORDER BY start_time DESC, id DESC LIMIT 1) r`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]tasktype.Run, len(runs))
	for _, r := range runs {
		out[r.TaskName] = r
	}
	return out, nil
}
