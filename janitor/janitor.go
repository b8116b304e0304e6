package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// Janitor deletes what retention lets go.
type Janitor struct {
	// Config is what New was given, with its defaults.
	Config
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// New returns a janitor with cfg's defaults filled in, or the errors of cfg.
func New(cfg Config, st *store.Store, logger *slog.Logger) (*Janitor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Janitor{Config: cfg, Store: st, Logger: logger.With(slog.String("component", "janitor"))}, nil
}

// Stats is what one pass freed.
type Stats struct {
	// Runs, Alerts, ChainWaits, Sessions and Audit are the rows deleted.
	Runs, Alerts, ChainWaits, Sessions, Audit int64
	// Logs and Histories are the log files and history folders removed,
	// Folders the emptied day and month folders, FreedBytes the bytes of
	// the files removed.
	Logs, Histories, Folders int
	FreedBytes               int64
}

// Run makes a pass every Interval until ctx ends.
func (j *Janitor) Run(ctx context.Context) error {
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	for {
		if _, err := j.Pass(ctx); err != nil && ctx.Err() == nil {
			j.Logger.Error("janitor pass", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass deletes, batch by batch, every run retention lets go with its
// files and alerts, then expired sessions and old audit rows; it logs and
// counts what it freed. An error with one task does not stop the others.
func (j *Janitor) Pass(ctx context.Context) (Stats, error) {
	start := time.Now()
	var st Stats
	var errs []error
	tasks, err := j.Store.RetentionTasks(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	defaults := tasktype.Retention{KeepRuns: j.KeepRuns, KeepDays: j.KeepDays}
	for _, t := range tasks {
		if ctx.Err() != nil {
			break
		}
		r := tasktype.Task{KeepRuns: t.KeepRuns, KeepDays: t.KeepDays}.RetentionFor(defaults)
		if err := j.expireTask(ctx, t.Name, r, &st); err != nil {
			errs = append(errs, err)
		}
	}
	if err := j.expireChainWaits(ctx, &st); err != nil {
		errs = append(errs, err)
	}
	if err := j.expireConsole(ctx, &st); err != nil {
		errs = append(errs, err)
	}
	elapsed := time.Since(start)
	metrics.JanitorPassDuration.Observe(elapsed.Seconds())
	metrics.JanitorDeleted.WithLabelValues("runs").Add(float64(st.Runs))
	metrics.JanitorDeleted.WithLabelValues("alerts").Add(float64(st.Alerts))
	metrics.JanitorDeleted.WithLabelValues("chain_waits").Add(float64(st.ChainWaits))
	metrics.JanitorDeleted.WithLabelValues("sessions").Add(float64(st.Sessions))
	metrics.JanitorDeleted.WithLabelValues("audit").Add(float64(st.Audit))
	metrics.JanitorFreedBytes.Add(float64(st.FreedBytes))
	j.Logger.Info("janitor pass", slog.Int("tasks", len(tasks)), slog.Int64("runs", st.Runs),
		slog.Int64("alerts", st.Alerts), slog.Int64("chain_waits", st.ChainWaits), slog.Int("logs", st.Logs), slog.Int("histories", st.Histories),
		slog.Int("folders", st.Folders), slog.Int64("freed_bytes", st.FreedBytes),
		slog.Int64("sessions", st.Sessions), slog.Int64("audit", st.Audit), slog.Duration("took", elapsed))
	return st, errors.Join(errs...)
}

// expireTask deletes the task's expired runs a batch at a time, each
// batch's files right after its rows, then the folders it emptied.
func (j *Janitor) expireTask(ctx context.Context, name string, r tasktype.Retention, st *Stats) error {
	if r.KeepRuns == 0 && r.KeepDays == 0 {
		return nil
	}
	p := store.ExpireRunsParams{TaskName: name, KeepRuns: r.KeepRuns, Limit: j.BatchSize}
	if r.KeepDays > 0 {
		p.Before = j.now().Add(-time.Duration(r.KeepDays) * j.Day)
	}
	files := runFiles{layout: tasktype.Layout{Root: j.TasksDir}, logger: j.Logger, now: j.now()}
	var errs []error
	for ctx.Err() == nil {
		batch := time.Now()
		runs, alerts, err := j.Store.DeleteExpiredRuns(ctx, p)
		if err != nil {
			errs = append(errs, err)
			break
		}
		st.Runs += int64(len(runs))
		st.Alerts += alerts
		if len(runs) > 0 {
			p.AfterID = runs[len(runs)-1].ID
		}
		for _, run := range runs {
			if err := files.remove(run, st); err != nil {
				errs = append(errs, err)
			}
		}
		if len(runs) < p.Limit {
			break
		}
		j.rest(ctx, time.Since(batch))
	}
	st.Folders += files.removeEmptyFolders()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("expire runs of %q: %w", name, err)
	}
	return nil
}

// rest waits after a batch that took took, so that deleting takes the
// Duty share of the pass's time; it returns early when ctx ends.
func (j *Janitor) rest(ctx context.Context, took time.Duration) {
	if j.Duty >= 1 {
		return
	}
	t := time.NewTimer(time.Duration(float64(took) * (1 - j.Duty) / j.Duty))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// expireChainWaits deletes the chain-wait rows of settled gates older
// than their task's keep_days (the default's for a task that sets none).
func (j *Janitor) expireChainWaits(ctx context.Context, st *Stats) error {
	now := j.now()
	return j.drain(ctx, &st.ChainWaits, func(ctx context.Context) (int64, error) {
		return j.Store.DeleteOldChainWaits(ctx, now, j.KeepDays, j.Day, j.BatchSize)
	})
}

// expireConsole deletes expired sessions and, when audit rows have a
// retention, the audit rows older than it.
func (j *Janitor) expireConsole(ctx context.Context, st *Stats) error {
	if err := j.drain(ctx, &st.Sessions, func(ctx context.Context) (int64, error) {
		return j.Store.DeleteExpiredSessionBatch(ctx, j.BatchSize)
	}); err != nil || j.KeepAuditDays == 0 {
		return err
	}
	before := j.now().Add(-time.Duration(j.KeepAuditDays) * j.Day)
	return j.drain(ctx, &st.Audit, func(ctx context.Context) (int64, error) {
		return j.Store.DeleteAuditBefore(ctx, before, j.BatchSize)
	})
}

// drain calls batch, which deletes at most BatchSize rows, until a call
// deletes fewer or ctx ends, adding what each deleted to *deleted.
func (j *Janitor) drain(ctx context.Context, deleted *int64, batch func(context.Context) (int64, error)) error {
	for ctx.Err() == nil {
		n, err := batch(ctx)
		if err != nil {
			return err
		}
		*deleted += n
		if n < int64(j.BatchSize) {
			return nil
		}
	}
	return nil
}

func (j *Janitor) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}
