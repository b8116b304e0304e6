package tasksync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// Syncer keeps Temporal's schedules equal to t_task_list.
type Syncer struct {
	cfg     Config
	store   *store.Store
	client  client.Client
	control *control.Control
	logger  *slog.Logger

	// OnTaskDeleted, when set, is called once after the schedule of a task
	// whose row was deleted has been removed (the deletion alert). When it
	// fails, the next reconcile calls it again.
	OnTaskDeleted func(ctx context.Context, taskName string) error
	// OnRunClosed, when set, is called for each run ReconcileRuns closes
	// (the alert of a run lost or timed out without its end hook).
	OnRunClosed func(ctx context.Context, run tasktype.Run) error
	// AbandonedAfter is how long a run must have been open before sync
	// asks Temporal whether its workflow still runs (ReconcileRuns).
	AbandonedAfter time.Duration
	// Now is the clock the specs are built at (time.Now when nil): the
	// spec of a fixed-time rule changes a day after each DST transition
	// passes (see rule.Rule.Spec).
	Now func() time.Time
}

// Stats counts what one reconcile did to Temporal.
type Stats struct {
	Created, Updated, Paused, Unpaused, Deleted, Unchanged, Invalid, Killed int
}

// Writes is how many schedule writes the reconcile made.
func (s Stats) Writes() int { return s.Created + s.Updated + s.Paused + s.Unpaused + s.Deleted }

func (s *Stats) add(o Stats) {
	s.Created += o.Created
	s.Updated += o.Updated
	s.Paused += o.Paused
	s.Unpaused += o.Unpaused
	s.Deleted += o.Deleted
	s.Unchanged += o.Unchanged
	s.Invalid += o.Invalid
	s.Killed += o.Killed
}

// New makes a Syncer of cfg, its zero fields set to their defaults; it
// fails when cfg is wrong, naming the field.
func New(cfg Config, st *store.Store, c client.Client, logger *slog.Logger) (*Syncer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Syncer{cfg: cfg, store: st, client: c, logger: logger.With(slog.String("component", "sync")),
		AbandonedAfter: time.Minute,
		control:        &control.Control{Store: st, Client: c, ScheduleIDPrefix: cfg.ScheduleIDPrefix}}, nil
}

func (s *Syncer) scheduleID(name string) string { return s.cfg.ScheduleIDPrefix + name }

// retryMax bounds the wait between full reconciles that fail: the
// schedules are reconciled at most this long after an outage ends.
const retryMax = 5 * time.Second

// Run reconciles at once, then on every notified change and every
// ResyncInterval, until ctx ends. A full reconcile that fails (Temporal
// or Postgres unreachable) is tried again after 1 s, doubling up to
// retryMax, so the schedules are reconciled within seconds of the
// outage's end: that Describe of each schedule also makes Temporal's
// scheduler notice runs that ended while it could not see them, which
// it would otherwise wait for and skip fires behind.
func (s *Syncer) Run(ctx context.Context) error {
	changed := make(chan string, 1024)
	go s.listen(ctx, changed)
	ticker := time.NewTicker(s.cfg.ResyncInterval)
	defer ticker.Stop()
	full := true
	var retry <-chan time.Time
	backoff := time.Duration(0)
	for {
		if full {
			retry = nil
			stats, err := s.ReconcileAll(ctx)
			if err != nil {
				backoff = min(max(2*backoff, time.Second), retryMax, s.cfg.ResyncInterval)
				retry = time.After(backoff)
				s.logger.Error("reconcile all", slog.Any("error", err), slog.Duration("retry_in", backoff))
			} else {
				backoff = 0
				if stats.Writes() > 0 || stats.Invalid > 0 {
					s.logger.Info("reconciled", slog.Any("stats", stats))
				}
			}
			if _, err := s.ReconcileRuns(ctx); err != nil {
				s.logger.Error("reconcile runs", slog.Any("error", err))
			}
			full = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			full = true
		case <-retry:
			full = true
		case name := <-changed:
			// Take every change already notified, once each, and
			// reconcile them together.
			names := map[string]bool{name: true}
		drain:
			for {
				select {
				case n := <-changed:
					names[n] = true
				default:
					break drain
				}
			}
			if names[""] {
				full = true
				continue
			}
			if _, err := s.ReconcileTasks(ctx, slices.Collect(maps.Keys(names))); err != nil {
				s.logger.Error("reconcile tasks", slog.Any("error", err))
			}
		}
	}
}

// listen forwards notified task names; "" asks for a full reconcile,
// sent whenever listening (re)starts, since notifications in between are lost.
func (s *Syncer) listen(ctx context.Context, changed chan<- string) {
	for ctx.Err() == nil {
		err := s.store.WaitForTaskChanges(ctx, func() {
			changed <- ""
		}, func(name string) {
			select {
			case changed <- name:
			default: // a full reconcile will catch it
				select {
				case changed <- "":
				default:
				}
			}
		})
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("listening for task changes failed; retrying", slog.Any("error", err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// ReconcileAll reconciles every task, and deletes the schedules of tasks
// that are gone.
func (s *Syncer) ReconcileAll(ctx context.Context) (Stats, error) {
	var total Stats
	// Schedules are listed before the rows are read, so a schedule made
	// for a row inserted in between is never taken for an orphan.
	ids, err := s.listScheduleIDs(ctx)
	if err != nil {
		return total, err
	}
	tasks, err := s.store.ListTasks(ctx)
	if err != nil {
		return total, err
	}
	known := make(map[string]bool, len(tasks))
	jobs := make([]func(context.Context) (Stats, error), 0, len(tasks))
	for _, t := range tasks {
		known[s.scheduleID(t.Name)] = true
		jobs = append(jobs, func(ctx context.Context) (Stats, error) { return s.reconcile(ctx, t.Name, &t) })
	}
	for _, id := range ids {
		if !known[id] {
			name := strings.TrimPrefix(id, s.cfg.ScheduleIDPrefix)
			jobs = append(jobs, func(ctx context.Context) (Stats, error) { return s.ReconcileTask(ctx, name) })
		}
	}
	total, errs := s.runAll(ctx, jobs)
	metrics.SchedulesOutOfSync.Set(float64(total.Invalid + len(errs)))
	return total, errors.Join(errs...)
}

// ReconcileTasks reconciles the named tasks, several at a time.
func (s *Syncer) ReconcileTasks(ctx context.Context, names []string) (Stats, error) {
	jobs := make([]func(context.Context) (Stats, error), len(names))
	for i, name := range names {
		jobs[i] = func(ctx context.Context) (Stats, error) { return s.ReconcileTask(ctx, name) }
	}
	total, errs := s.runAll(ctx, jobs)
	return total, errors.Join(errs...)
}

// runAll runs reconcile jobs, at most Config.Concurrency at once, each on a
// different task, and sums what they did. Each gets its own deadline, so
// one slow schedule does not hold up the others.
func (s *Syncer) runAll(ctx context.Context, jobs []func(context.Context) (Stats, error)) (Stats, []error) {
	var (
		mu    sync.Mutex
		total Stats
		errs  []error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, s.cfg.Concurrency)
	for _, job := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			jobCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			st, err := job(jobCtx)
			mu.Lock()
			defer mu.Unlock()
			total.add(st)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return total, errs
}

// listScheduleIDs lists our schedules. Listing is eventually consistent;
// every decision is made on a Describe, never on the listing alone.
func (s *Syncer) listScheduleIDs(ctx context.Context) ([]string, error) {
	iter, err := s.client.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var ids []string
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if strings.HasPrefix(e.ID, s.cfg.ScheduleIDPrefix) {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}

// ReconcileTask makes one task's schedule match its row (or removes it
// when the row is gone).
func (s *Syncer) ReconcileTask(ctx context.Context, name string) (Stats, error) {
	t, err := s.store.GetTask(ctx, name)
	if errors.Is(err, store.ErrTaskNotFound) {
		return s.reconcile(ctx, name, nil)
	}
	if err != nil {
		return Stats{}, err
	}
	return s.reconcile(ctx, name, &t)
}

func (s *Syncer) reconcile(ctx context.Context, name string, t *tasktype.Task) (stats Stats, err error) {
	defer func() { countWrites(stats, t) }()
	log := s.logger.With(slog.String("task", name))
	h := s.client.ScheduleClient().GetHandle(ctx, s.scheduleID(name))
	desc, err := h.Describe(ctx)
	var notFound *serviceerror.NotFound
	exists := err == nil
	if err != nil && !errors.As(err, &notFound) {
		return stats, fmt.Errorf("describe schedule of %q: %w", name, err)
	}

	if t == nil && exists {
		if err := h.Delete(ctx); err != nil && !errors.As(err, &notFound) {
			return stats, fmt.Errorf("delete schedule of %q: %w", name, err)
		}
		stats.Deleted++
		log.Info("task deleted: schedule removed")
		// Describe may still show a schedule for a moment after its delete;
		// the sync state row makes sure the deletion is reported once.
		return stats, s.taskDeleted(ctx, name)
	}
	if t == nil {
		// No schedule; a deletion not yet reported (its hook failed) is.
		return stats, s.taskDeleted(ctx, name)
	}

	d, err := s.desiredSchedule(*t)
	if err != nil {
		stats.Invalid++
		msg := fmt.Sprintf("not synced: %v", err)
		if exists {
			msg += "; the schedule keeps its last good settings"
		}
		log.Warn("task cannot be scheduled", slog.String("rule", t.Rule), slog.Any("error", err))
		return stats, s.recordState(ctx, name, "", msg)
	}

	switch {
	case !exists:
		_, err := s.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.scheduleID(name), Spec: d.spec, Action: s.action(d), Overlap: d.overlap,
			CatchupWindow: d.catchup, Paused: d.paused, Note: pauseNote(*t),
		})
		if err != nil {
			return stats, fmt.Errorf("create schedule of %q: %w", name, err)
		}
		stats.Created++
		log.Info("schedule created", slog.String("rule", t.Rule), slog.Bool("paused", d.paused))
	case specHash(desc) != d.hash:
		err := h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			sched.Spec = &d.spec
			sched.Action = s.action(d)
			sched.Policy = &client.SchedulePolicies{Overlap: d.overlap, CatchupWindow: d.catchup}
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		}})
		if err != nil {
			return stats, fmt.Errorf("update schedule of %q: %w", name, err)
		}
		stats.Updated++
		log.Info("schedule updated", slog.String("rule", t.Rule))
	default:
		stats.Unchanged++
	}
	if exists && desc.Schedule.State != nil && desc.Schedule.State.Paused != d.paused {
		if d.paused {
			err = h.Pause(ctx, client.SchedulePauseOptions{Note: pauseNote(*t)})
			stats.Paused++
		} else {
			err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "task_status 1"})
			stats.Unpaused++
		}
		if err != nil {
			return stats, fmt.Errorf("pause or unpause schedule of %q: %w", name, err)
		}
		log.Info("schedule paused state changed", slog.Bool("paused", d.paused))
	}
	if t.Status == tasktype.StatusKill {
		n, err := s.control.Kill(ctx, name, workflows.KillRequest{By: "sync", Reason: "task_status 2"})
		stats.Killed += n
		if err != nil {
			log.Warn("kill on task_status 2", slog.Any("error", err))
		}
	}
	return stats, s.recordState(ctx, name, d.hash, "")
}

// countWrites counts a reconcile's schedule writes and, for a task row,
// the time from its change to its schedule written.
func countWrites(st Stats, t *tasktype.Task) {
	for kind, n := range map[string]int{"created": st.Created, "updated": st.Updated, "paused": st.Paused,
		"unpaused": st.Unpaused, "deleted": st.Deleted} {
		if n > 0 {
			metrics.SyncWrites.WithLabelValues(kind).Add(float64(n))
		}
	}
	if t != nil && st.Writes() > 0 {
		metrics.SyncLag.Observe(time.Since(t.UpdatedAt).Seconds())
	}
}

// taskDeleted reports a deleted task once: while its sync state row
// exists, the hook has not succeeded yet.
func (s *Syncer) taskDeleted(ctx context.Context, name string) error {
	st, had, err := s.store.GetSyncState(ctx, name)
	if err != nil || !had {
		return err
	}
	// A task whose rule never made it into a schedule was never scheduled.
	if s.OnTaskDeleted != nil && st.SpecHash != "" {
		if err := s.OnTaskDeleted(ctx, name); err != nil {
			return fmt.Errorf("report deletion of %q: %w", name, err)
		}
	}
	_, err = s.store.DeleteSyncState(ctx, name)
	return err
}

// recordState writes t_task_sync when what it says changed.
func (s *Syncer) recordState(ctx context.Context, name, hash, msg string) error {
	old, ok, err := s.store.GetSyncState(ctx, name)
	if err != nil {
		return err
	}
	if ok && old.Error == msg && (hash == "" || old.SpecHash == hash) {
		return nil
	}
	if hash == "" && ok {
		hash = old.SpecHash
	}
	return s.store.SetSyncState(ctx, store.SyncState{TaskName: name, ScheduleID: s.scheduleID(name), SpecHash: hash, Error: msg})
}

// specHash reads the spec hash a schedule was written with ("" if none).
func specHash(desc *client.ScheduleDescription) string {
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		return ""
	}
	var hash string
	switch v := action.Memo[specHashMemo].(type) {
	case string:
		hash = v
	case *commonpb.Payload:
		_ = converter.GetDefaultDataConverter().FromPayload(v, &hash)
	}
	return hash
}

// pauseNote is the schedule's note for a paused task: its status and, when
// someone gave one, their note.
func pauseNote(t tasktype.Task) string {
	note := ""
	switch t.Status {
	case tasktype.StatusOff:
		note = "task_status 0 (off)"
	case tasktype.StatusKill:
		note = "task_status 2 (killed, off)"
	default:
		return ""
	}
	if t.StatusNote != "" {
		note += ": " + t.StatusNote
	}
	return note
}
