// Package monitor checks from Postgres alone that every enabled task ran
// when its rule said it should, that no running run goes far past what
// its task usually takes and that each logical date's run succeeded by
// its task's deadline (deadline.go), and keeps alert deliveries going. It does
// not trust the scheduler it checks: the fire times come from the rule
// itself (rule.Rule.Next, which keeps fixed-time rules to the local clock
// on DST days as the synced schedules do), the runs from
// t_task_exec_list, so a missed run is found whether the worker, Temporal
// or the schedule let it slip.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// Raiser raises alerts and restarts deliveries that could not start.
type Raiser interface {
	Raise(ctx context.Context, ev alert.Event) (alert.Raised, error)
	DispatchPending(ctx context.Context) (int, error)
}

// Monitor runs the checks.
type Monitor struct {
	// Config is what New was given, with its defaults.
	Config
	Store  *store.Store
	Alerts Raiser
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// slowSeen holds the running runs already announced slow, so the
	// next check does not raise them again.
	slowSeen map[int64]bool
}

// maxFiresPerCheck bounds the fire times one check computes for a task.
const maxFiresPerCheck = 100000

// Run checks every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		if _, err := m.CheckMissed(ctx); err != nil && ctx.Err() == nil {
			m.logger().Error("missed-run check", slog.Any("error", err))
		}
		if _, err := m.CheckSlow(ctx); err != nil && ctx.Err() == nil {
			m.logger().Error("slow-run check", slog.Any("error", err))
		}
		if _, err := m.CheckDeadlines(ctx); err != nil && ctx.Err() == nil {
			m.logger().Error("deadline check", slog.Any("error", err))
		}
		if n, err := m.Alerts.DispatchPending(ctx); err != nil && ctx.Err() == nil {
			m.logger().Warn("alert deliveries still waiting for Temporal", slog.Any("error", err))
		} else if n > 0 {
			m.logger().Info("alert deliveries started late", slog.Int("alerts", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// CheckMissed looks, for every enabled task, at the fire times its rule
// had since the last check (up to Grace ago) and raises one missed alert
// per task for those without a run. It returns how many fires were missed.
func (m *Monitor) CheckMissed(ctx context.Context) (int, error) {
	tasks, err := m.Store.ListTasks(ctx)
	if err != nil {
		return 0, fmt.Errorf("check missed runs: %w", err)
	}
	total := 0
	var errs []error
	for _, t := range tasks {
		metrics.MissedRuns.WithLabelValues(t.Name) // the task's series exists, at 0 until a miss
		n, err := m.checkTask(ctx, t)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("task %q: %w", t.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

func (m *Monitor) checkTask(ctx context.Context, t tasktype.Task) (int, error) {
	if t.Status != tasktype.StatusOn {
		return 0, nil // paused runs are not missed; resuming moves updated_at
	}
	if strings.TrimSpace(t.Rule) == "" {
		return 0, nil // runs after its upstreams only: no fire of its own to miss
	}
	sync, synced, err := m.Store.GetSyncState(ctx, t.Name)
	if err != nil {
		return 0, err
	}
	if synced && sync.Error != "" {
		return 0, nil // sync reports the rule; the schedule keeps its old one
	}
	r, err := rule.Parse(t.Rule)
	if err != nil {
		return 0, nil
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return 0, nil
	}

	now := m.now()
	to := now.Add(-m.wait())
	// Count from the last check, but never from before the rule and state
	// took effect: the row's last change and the schedule's last write.
	from := t.UpdatedAt
	if synced && sync.SyncedAt.After(from) {
		from = sync.SyncedAt
	}
	mark, err := m.Store.MonitorWatermark(ctx, t.Name)
	if err != nil {
		return 0, err
	}
	from = from.Add(m.Settle)
	if mark != nil && mark.After(from) {
		from = *mark
	}
	if lb := now.Add(-m.Lookback); from.Before(lb) {
		from = lb
	}
	if !to.After(from) {
		return 0, nil
	}

	var due []time.Time
	for next := r.Next(from, loc); !next.IsZero() && !next.After(to) && len(due) < maxFiresPerCheck; next = r.Next(next, loc) {
		due = append(due, next)
	}
	if len(due) == 0 {
		return 0, nil // nothing was due: no query, no write
	}
	ran, err := m.Store.ScheduledTimes(ctx, t.Name, due[0], due[len(due)-1])
	if err != nil {
		return 0, err
	}
	seen := make(map[int64]bool, len(ran))
	for _, s := range ran {
		seen[s.Unix()] = true
	}
	var missed []time.Time
	for _, d := range due {
		if !seen[d.Unix()] {
			missed = append(missed, d)
		}
	}
	if len(missed) > 0 {
		if _, err := m.Alerts.Raise(ctx, missedEvent(t, missed, m.Grace)); err != nil {
			return 0, err
		}
	}
	// Only after the alert is recorded: a crash in between checks again.
	if err := m.Store.SetMonitorWatermark(ctx, t.Name, to); err != nil {
		return len(missed), err
	}
	metrics.MissedRuns.WithLabelValues(t.Name).Add(float64(len(missed)))
	return len(missed), nil
}

func missedEvent(t tasktype.Task, missed []time.Time, grace time.Duration) alert.Event {
	first, last := missed[0], missed[len(missed)-1]
	const layout = "2006-01-02 15:04:05 MST"
	title := fmt.Sprintf("missed the run due at %s", first.Format(layout))
	if len(missed) > 1 {
		title = fmt.Sprintf("missed %d runs due from %s to %s", len(missed), first.Format(layout), last.Format(layout))
	}
	return alert.Event{
		Kind: alert.KindMissed, TaskName: t.Name, Key: fmt.Sprintf("missed:%s:%d", t.Name, first.Unix()),
		Title: title,
		Text: fmt.Sprintf("Rule %q says the task should have run, and no run started within %s of the due time. "+
			"Likely causes: no worker polling the task queue, Temporal unavailable, or the previous run "+
			"still going when the overlap policy is %q.", t.Rule, grace, t.Overlap),
	}
}

// catchupMargin is how long after a caught-up run's start its row may
// take to appear.
const catchupMargin = 5 * time.Second

// wait is how long after its due time a fire without a run counts as
// missed: the grace, or, when longer, Temporal's catch-up window.
func (m *Monitor) wait() time.Duration {
	if m.CatchupWindow > 0 {
		return max(m.Grace, m.CatchupWindow+catchupMargin)
	}
	return m.Grace
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Monitor) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// New makes the Monitor of cfg, its zero fields set to their defaults;
// it fails when cfg is wrong, naming the field.
func New(cfg Config, st *store.Store, alerts Raiser, logger *slog.Logger) (*Monitor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Monitor{Config: cfg, Store: st, Alerts: alerts, Logger: logger.With(slog.String("component", "monitor"))}, nil
}
