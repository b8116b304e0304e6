package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

const runColumns = `id, task_name, task_version, workflow_id, run_id, scheduled_time,
	start_time, process_start_time, end_time, exit_code, status, error, stderr_head,
	stderr_lines, log_path, log_bytes, history_path, published_files, publishes, host, pid,
	isolation, cpu_user_seconds, cpu_system_seconds, peak_memory_bytes, io_read_bytes, io_write_bytes,
	attempt, retry_at, params, backfill_id, logical_date, upstream_runs`

func scanRun(row pgx.Row) (tasktype.Run, error) {
	var r tasktype.Run
	err := row.Scan(&r.ID, &r.TaskName, &r.Version, &r.WorkflowID, &r.RunID, &r.ScheduledTime,
		&r.StartTime, &r.ProcessStartTime, &r.EndTime, &r.ExitCode, &r.Status, &r.Error,
		&r.StderrHead, &r.StderrLines, &r.LogPath, &r.LogBytes, &r.HistoryPath,
		&r.PublishedFiles, &r.Publishes, &r.Host, &r.PID,
		&r.Isolation, &r.Usage.CPUUserSeconds, &r.Usage.CPUSystemSeconds, &r.Usage.PeakMemoryBytes,
		&r.Usage.IOReadBytes, &r.Usage.IOWriteBytes, &r.Attempt, &r.RetryAt, &r.Params, &r.BackfillID,
		&r.LogicalDate, &r.UpstreamRuns)
	return r, err
}

// queryRuns runs a query selecting runColumns; what names it in errors.
func (s *Store) queryRuns(ctx context.Context, what, sql string, args ...any) ([]tasktype.Run, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	runs, err := collect(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return runs, nil
}

// StartRunParams identifies a run about to start.
type StartRunParams struct {
	TaskName      string
	WorkflowID    string
	RunID         string
	ScheduledTime time.Time
	// Location is the task's time zone, which its version is written in.
	Location *time.Location
	// LogPath builds the run's log path from its version.
	LogPath func(version string) (string, error)
	// Attempt numbers the run among the attempts of its fire (1 for the
	// first; 0 means 1).
	Attempt int
	// Params are the parameter values the run gets, recorded on its row;
	// nil (NULL) for a task that declares none.
	Params map[string]string
	// LogicalDate is the date the run is for (rule.LogicalDate); zero
	// leaves it NULL.
	LogicalDate time.Time
	// UpstreamRuns are the runs whose ends started this one (a chain).
	UpstreamRuns []int64
}

// StartRun is the database half of a run's start hook: it inserts the
// run's row with a version unique for the task and its parameter values,
// and sets the task's last_start_time and task_version. The row is marked
// with the backfill that started it: the newest backfill of the task,
// requested before now, whose range holds the scheduled time and which
// was requested after that time (a fire of the past started on request,
// not by the schedule when it came); a retry attempt keeps its fire's
// mark. Called again for the same workflow run and attempt it returns the
// row it made the first time.
func (s *Store) StartRun(ctx context.Context, p StartRunParams) (tasktype.Run, error) {
	var run tasktype.Run
	p.Attempt = max(p.Attempt, 1)
	var logical *time.Time
	if !p.LogicalDate.IsZero() {
		logical = &p.LogicalDate
	}
	upstream := p.UpstreamRuns
	if upstream == nil {
		upstream = []int64{}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM t_task_exec_list
			WHERE workflow_id = $1 AND run_id = $2 AND attempt = $3`, p.WorkflowID, p.RunID, p.Attempt))
		if err == nil {
			run = r
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		for attempt := 1; ; attempt++ {
			if attempt > 1000 {
				return fmt.Errorf("no free version for %s", p.ScheduledTime)
			}
			version := tasktype.Version(p.ScheduledTime, p.Location, attempt)
			logPath := ""
			if p.LogPath != nil {
				if logPath, err = p.LogPath(version); err != nil {
					return err
				}
			}
			r, err = scanRun(tx.QueryRow(ctx, `
				INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, log_path, attempt,
					params, backfill_id, logical_date, upstream_runs)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7 > 1 THEN
					(SELECT backfill_id FROM t_task_exec_list WHERE workflow_id = $3 AND run_id = $4 AND attempt = 1)
				ELSE
					(SELECT id FROM t_task_backfill b WHERE b.task_name = $1
						AND $5 BETWEEN b.start_time AND b.end_time
						AND b.requested_at > $5 AND b.requested_at <= now()
						ORDER BY b.requested_at DESC, b.id DESC LIMIT 1)
				END, $9, $10)
				ON CONFLICT (task_name, task_version) DO NOTHING
				RETURNING `+runColumns,
				p.TaskName, version, p.WorkflowID, p.RunID, p.ScheduledTime, logPath, p.Attempt, p.Params,
				logical, upstream))
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			run = r
			break
		}
		if p.Attempt > 1 {
			// The fire waits no more: its next attempt has started.
			if _, err := tx.Exec(ctx, `UPDATE t_task_exec_list SET retry_at = NULL
				WHERE workflow_id = $1 AND run_id = $2 AND attempt < $3 AND retry_at IS NOT NULL`,
				p.WorkflowID, p.RunID, p.Attempt); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE t_task_list SET last_start_time = $2, task_version = $3
			WHERE task_name = $1`, p.TaskName, run.StartTime, run.Version)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("start run of %q: %w", p.TaskName, err)
	}
	return run, nil
}

// RunProcess is what a worker records about the process it spawned, so
// that another worker on the same host can find it if this one dies.
type RunProcess struct {
	Host             string
	PID              int
	PIDStartTicks    uint64
	WorkerPID        int
	WorkerStartTicks uint64
	StartedAt        time.Time
	// Isolation says how the process is contained (tasktype.Run.Isolation).
	Isolation string
	// Cgroups are the run's cgroup folders, for the orphan reaper.
	Cgroups []string
}

// SetRunProcess records the spawned process of a run.
func (s *Store) SetRunProcess(ctx context.Context, runID int64, p RunProcess) error {
	if p.Cgroups == nil {
		p.Cgroups = []string{}
	}
	_, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET host = $2, pid = $3, pid_start_ticks = $4,
		worker_pid = $5, worker_start_ticks = $6, process_start_time = $7, isolation = $8, cgroups = $9 WHERE id = $1`,
		runID, p.Host, p.PID, int64(p.PIDStartTicks), p.WorkerPID, int64(p.WorkerStartTicks), p.StartedAt,
		p.Isolation, p.Cgroups)
	if err != nil {
		return fmt.Errorf("set process of run %d: %w", runID, err)
	}
	return nil
}

// SetRunIsolation records how a run is contained before (or without) a
// process: a run that could not start still says so.
func (s *Store) SetRunIsolation(ctx context.Context, runID int64, isolation string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET isolation = $2 WHERE id = $1`, runID, isolation); err != nil {
		return fmt.Errorf("set isolation of run %d: %w", runID, err)
	}
	return nil
}

// SetRunUsage records what a run consumed.
func (s *Store) SetRunUsage(ctx context.Context, runID int64, u tasktype.Usage) error {
	_, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET cpu_user_seconds = $2, cpu_system_seconds = $3,
		peak_memory_bytes = $4, io_read_bytes = $5, io_write_bytes = $6 WHERE id = $1`,
		runID, u.CPUUserSeconds, u.CPUSystemSeconds, u.PeakMemoryBytes, u.IOReadBytes, u.IOWriteBytes)
	if err != nil {
		return fmt.Errorf("set usage of run %d: %w", runID, err)
	}
	return nil
}

// SetRunOutput records the first stderr lines of a run, how many lines it
// wrote to stderr in all, and the size of its log.
func (s *Store) SetRunOutput(ctx context.Context, runID int64, head []string, lines, logBytes int64) error {
	if head == nil {
		head = []string{}
	}
	_, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET stderr_head = $2, stderr_lines = $3,
		log_bytes = $4 WHERE id = $1`, runID, head, lines, logBytes)
	if err != nil {
		return fmt.Errorf("set output of run %d: %w", runID, err)
	}
	return nil
}

// FinishRunParams is how a run ended.
type FinishRunParams struct {
	RunID          int64
	Status         tasktype.RunStatus
	ExitCode       int
	Error          string
	HistoryPath    string
	PublishedFiles []string
	// RetryIn, when not zero, is the wait before the fire's next attempt
	// (recorded as retry_at).
	RetryIn time.Duration
}

// FinishRun is the database half of a run's end hook: it records the
// outcome on the run's row and the task's last_end_time. Calling it again
// changes nothing.
func (s *Store) FinishRun(ctx context.Context, p FinishRunParams) (tasktype.Run, error) {
	if p.PublishedFiles == nil {
		p.PublishedFiles = []string{}
	}
	var run tasktype.Run
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		run, err = scanRun(tx.QueryRow(ctx, `UPDATE t_task_exec_list SET status = $2, exit_code = $3,
			error = $4, history_path = $5, published_files = $6, end_time = coalesce(end_time, now()),
			retry_at = CASE WHEN $7::bigint > 0 THEN coalesce(end_time, now()) + $7::bigint * interval '1 microsecond' END
			WHERE id = $1 RETURNING `+runColumns,
			p.RunID, p.Status, p.ExitCode, p.Error, p.HistoryPath, p.PublishedFiles, p.RetryIn.Microseconds()))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRunNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE t_task_list SET last_end_time = $2 WHERE task_name = $1`,
			run.TaskName, run.EndTime)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("finish run %d: %w", p.RunID, err)
	}
	return run, nil
}

// StopRetries records on an ended run that the retry its error announced
// will not come, and returns the run.
func (s *Store) StopRetries(ctx context.Context, runID int64) (tasktype.Run, error) {
	run, err := scanRun(s.pool.QueryRow(ctx, `UPDATE t_task_exec_list
		SET error = regexp_replace(error, 'retrying in [^;]*$', 'retries stopped (killed or cancelled)'), retry_at = NULL
		WHERE id = $1 RETURNING `+runColumns, runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return run, fmt.Errorf("stop retries of run %d: %w", runID, ErrRunNotFound)
	}
	if err != nil {
		return run, fmt.Errorf("stop retries of run %d: %w", runID, err)
	}
	return run, nil
}

// FireAttempts returns every attempt of the fire run belongs to (the runs
// of its workflow run), first attempt first.
func (s *Store) FireAttempts(ctx context.Context, run tasktype.Run) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "attempts of run", `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE workflow_id = $1 AND run_id = $2 ORDER BY attempt, id`, run.WorkflowID, run.RunID)
}

// RunsByID returns the runs of ids that still exist, in the order of ids.
func (s *Store) RunsByID(ctx context.Context, ids []int64) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "runs by id", `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE id = ANY($1) ORDER BY array_position($1, id)`, ids)
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, id int64) (tasktype.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM t_task_exec_list WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("get run %d: %w", id, ErrRunNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get run %d: %w", id, err)
	}
	return r, nil
}

// ListRuns returns a task's runs, newest first ("" for every task).
func (s *Store) ListRuns(ctx context.Context, taskName string, limit int) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "list runs", `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE $1 = '' OR task_name = $1 ORDER BY start_time DESC, id DESC LIMIT $2`, taskName, limit)
}

// HistoryPage selects one page of a task's history versions, newest
// first: the newest, or those just older or just newer than a cursor.
type HistoryPage struct {
	// Older asks for the versions older than it (the next page), Newer
	// for those newer than it (the previous page); at most one is set.
	Older, Newer *RunCursor
	// Limit is the page size.
	Limit int
}

// archivedWhere selects a task's runs that archived a publish folder.
const archivedWhere = `task_name = $1 AND history_path <> ''`

// ArchivedRuns returns one page of a task's runs that archived a publish
// folder (its history versions), newest first, with the cursors of the
// pages of older and of newer versions (nil when there are none). Pages
// are kept by key (start time, id), like SearchRuns, so every version is
// on exactly one page however many there are.
func (s *Store) ArchivedRuns(ctx context.Context, taskName string, p HistoryPage) (runs []tasktype.Run, older, newer *RunCursor, err error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	what := fmt.Sprintf("archived runs of %q", taskName)
	if p.Newer != nil {
		runs, err = s.queryRuns(ctx, what, `SELECT `+runColumns+` FROM t_task_exec_list WHERE `+archivedWhere+`
			AND (start_time, id) > ($2, $3) ORDER BY start_time, id LIMIT $4`,
			taskName, p.Newer.StartTime, p.Newer.ID, p.Limit+1)
		slices.Reverse(runs)
	} else {
		var after []any
		cond := ""
		if p.Older != nil {
			cond, after = ` AND (start_time, id) < ($3, $4)`, []any{p.Older.StartTime, p.Older.ID}
		}
		runs, err = s.queryRuns(ctx, what, `SELECT `+runColumns+` FROM t_task_exec_list WHERE `+archivedWhere+cond+`
			ORDER BY start_time DESC, id DESC LIMIT $2`, append([]any{taskName, p.Limit + 1}, after...)...)
	}
	if err != nil || len(runs) == 0 {
		return nil, nil, nil, err
	}
	more := len(runs) > p.Limit
	if more && p.Newer != nil {
		runs = runs[1:] // the extra one is the newest
	} else if more {
		runs = runs[:p.Limit]
	}
	first, last := runs[0], runs[len(runs)-1]
	cursor := func(r tasktype.Run) *RunCursor { return &RunCursor{StartTime: r.StartTime, ID: r.ID} }
	// One side is known from the extra row; the other is asked.
	exists := func(cmp string, r tasktype.Run) (bool, error) {
		var ok bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM t_task_exec_list WHERE `+archivedWhere+`
			AND (start_time, id) `+cmp+` ($2, $3))`, taskName, r.StartTime, r.ID).Scan(&ok)
		if err != nil {
			return false, fmt.Errorf("%s: %w", what, err)
		}
		return ok, nil
	}
	hasOlder, hasNewer := more, more
	switch {
	case p.Newer != nil:
		hasOlder, err = exists("<", last)
	case p.Older != nil:
		hasNewer, err = exists(">", first)
	default:
		hasNewer = false
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if hasOlder {
		older = cursor(last)
	}
	if hasNewer {
		newer = cursor(first)
	}
	return runs, older, newer, nil
}

// RunningRuns returns the task's runs whose row says running.
func (s *Store) RunningRuns(ctx context.Context, taskName string) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, fmt.Sprintf("running runs of %q", taskName), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE task_name = $1 AND status = 'running' ORDER BY id`, taskName)
}

// RetryingRuns returns the task's ended runs whose fire waits for its next
// attempt (retry_at set), one per fire.
func (s *Store) RetryingRuns(ctx context.Context, taskName string) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, fmt.Sprintf("runs of %q waiting to retry", taskName), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE task_name = $1 AND retry_at IS NOT NULL ORDER BY id`, taskName)
}

// OrphanCandidate is a run on this host whose process may have outlived
// the worker that started it.
type OrphanCandidate struct {
	RunID            int64
	TaskName         string
	PID              int
	PIDStartTicks    uint64
	WorkerPID        int
	WorkerStartTicks uint64
	// Cgroups are the run's cgroup folders (none when it had none).
	Cgroups []string
}

// OrphanCandidates returns the runs on host that are running, or were
// declared lost in the last hour, and have a recorded process.
func (s *Store) OrphanCandidates(ctx context.Context, host string) ([]OrphanCandidate, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, task_name, pid, pid_start_ticks, worker_pid, worker_start_ticks, cgroups
		FROM t_task_exec_list
		WHERE host = $1 AND pid IS NOT NULL AND worker_pid IS NOT NULL
		  AND (status = 'running' OR (status = 'lost' AND end_time > now() - interval '1 hour'))`, host)
	if err != nil {
		return nil, fmt.Errorf("orphan candidates: %w", err)
	}
	return collect(rows, func(row pgx.Row) (OrphanCandidate, error) {
		var c OrphanCandidate
		var pidTicks, workerTicks int64
		err := row.Scan(&c.RunID, &c.TaskName, &c.PID, &pidTicks, &c.WorkerPID, &workerTicks, &c.Cgroups)
		c.PIDStartTicks, c.WorkerStartTicks = uint64(pidTicks), uint64(workerTicks)
		return c, err
	})
}

// OpenRunsStartedBefore returns the runs whose row says running and that
// started before t, oldest first.
func (s *Store) OpenRunsStartedBefore(ctx context.Context, t time.Time, limit int) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "open runs", `SELECT `+runColumns+` FROM t_task_exec_list
		WHERE status = 'running' AND start_time < $1 ORDER BY start_time LIMIT $2`, t, limit)
}

// CloseAbandonedRun ends a run whose workflow closed without its end hook.
// It changes nothing if the run's row no longer says running.
func (s *Store) CloseAbandonedRun(ctx context.Context, runID int64, status tasktype.RunStatus, exitCode int, msg string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE t_task_exec_list SET status = $2, exit_code = $3, error = $4,
		end_time = now() WHERE id = $1 AND status = 'running'`, runID, status, exitCode, msg)
	if err != nil {
		return false, fmt.Errorf("close abandoned run %d: %w", runID, err)
	}
	return tag.RowsAffected() == 1, nil
}
