package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// The console's reads of the chains: who runs after whom, what a
// downstream waits for, and the runs of a chain for one logical date.
// The gate workflow's writes of t_chain_wait are in chain_wait.go.

// ChainLink is a task at the other end of a chain edge, as it stands now.
type ChainLink struct {
	Name string
	// Missing says no task has the name (deleted, or never created).
	Missing bool
	// Off says the task exists and does not fire (paused or killed).
	Off bool
}

// TaskChain is one task's place in the chains.
type TaskChain struct {
	// Upstreams are the tasks it runs after (its after), in order;
	// Condition says which of their runs' ends start it.
	Upstreams []ChainLink
	Condition tasktype.AfterCondition
	// Downstreams are the tasks whose after names it, by name.
	Downstreams []ChainLink
	// OnFailure are the tasks its failed runs start (its on_failure).
	OnFailure []ChainLink
	// FailureOf are the tasks whose on_failure names it, by name.
	FailureOf []ChainLink
	// Deadline is its deadline ('' for none).
	Deadline string
}

// InChain reports whether the task has a chain edge either way.
func (c TaskChain) InChain() bool {
	return len(c.Upstreams)+len(c.Downstreams)+len(c.OnFailure)+len(c.FailureOf) > 0
}

// chainEdges are the chain graph's edges: from each name in a task's after
// to the task, and from a task to each name in its on_failure (as the
// cycle trigger of migration 014 sees them).
const chainEdges = `SELECT u AS src, t.task_name AS dst, 'after' AS kind FROM t_task_list t, unnest(t.after) u
	UNION ALL
	SELECT t.task_name, f, 'on_failure' FROM t_task_list t, unnest(t.on_failure) f`

// TaskChain reads the chain edges of the task named name: its upstreams
// and on_failure targets (none when it has no row, e.g. it was deleted)
// and the tasks that name it in theirs.
func (s *Store) TaskChain(ctx context.Context, name string) (TaskChain, error) {
	var c TaskChain
	err := s.pool.QueryRow(ctx, `SELECT after_condition, deadline FROM t_task_list WHERE task_name = $1`, name).
		Scan(&c.Condition, &c.Deadline)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("chain of %q: %w", name, err)
	}
	rows, err := s.pool.Query(ctx, `
		WITH me AS (SELECT after, on_failure FROM t_task_list WHERE task_name = $1),
		links(kind, name, ord) AS (
			SELECT 'upstream', x.u, x.o FROM me, unnest(me.after) WITH ORDINALITY AS x(u, o)
			UNION ALL
			SELECT 'on_failure', x.f, x.o FROM me, unnest(me.on_failure) WITH ORDINALITY AS x(f, o)
			UNION ALL
			SELECT 'downstream', t.task_name, 0 FROM t_task_list t WHERE $1 = ANY (t.after)
			UNION ALL
			SELECT 'failure_of', t.task_name, 0 FROM t_task_list t WHERE $1 = ANY (t.on_failure)
		)
		SELECT l.kind, l.name, t.task_name IS NULL, COALESCE(t.task_status <> 1, false)
		FROM links l LEFT JOIN t_task_list t ON t.task_name = l.name
		ORDER BY l.kind, l.ord, l.name`, name)
	if err != nil {
		return c, fmt.Errorf("chain of %q: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var l ChainLink
		if err := rows.Scan(&kind, &l.Name, &l.Missing, &l.Off); err != nil {
			return c, fmt.Errorf("chain of %q: %w", name, err)
		}
		switch kind {
		case "upstream":
			c.Upstreams = append(c.Upstreams, l)
		case "on_failure":
			c.OnFailure = append(c.OnFailure, l)
		case "downstream":
			c.Downstreams = append(c.Downstreams, l)
		case "failure_of":
			c.FailureOf = append(c.FailureOf, l)
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("chain of %q: %w", name, err)
	}
	return c, nil
}

// ChainEdgeKind says why one task follows another.
type ChainEdgeKind string

// The edge kinds.
const (
	// ChainAfter: To runs after From (From is in To's after).
	ChainAfter ChainEdgeKind = "after"
	// ChainOnFailure: To runs when From fails (To is in From's on_failure).
	ChainOnFailure ChainEdgeKind = "on_failure"
)

// ChainEdge is one edge of a chain, pointing the way runs follow.
type ChainEdge struct {
	From, To string
	Kind     ChainEdgeKind
}

// ChainGraph is a connected chain: its tasks and the edges among them.
type ChainGraph struct {
	// Tasks are the chain's tasks by name, the one asked for among them;
	// a name an edge names that no task has is there, Missing.
	Tasks []ChainLink
	Edges []ChainEdge
	// Truncated says the chain has more tasks than were asked for: Tasks
	// holds the nearest.
	Truncated bool
}

// ConnectedChain reads the chain of the task named name: every task
// reachable from it by after and on_failure edges taken either way, at
// most limit of them (the nearest first), and the edges among them.
func (s *Store) ConnectedChain(ctx context.Context, name string, limit int) (ChainGraph, error) {
	var g ChainGraph
	limit = max(limit, 1)
	// UNION (not ALL) drops names already reached, so the walk ends.
	rows, err := s.pool.Query(ctx, `
		WITH RECURSIVE edges AS (`+chainEdges+`),
		reach(node) AS (
			SELECT $1::text
			UNION
			SELECT CASE WHEN e.src = r.node THEN e.dst ELSE e.src END
			FROM reach r JOIN edges e ON e.src = r.node OR e.dst = r.node
		)
		SELECT node FROM reach LIMIT $2`, name, limit+1)
	if err != nil {
		return g, fmt.Errorf("chain of %q: %w", name, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return g, fmt.Errorf("chain of %q: %w", name, err)
	}
	if len(names) > limit {
		names, g.Truncated = names[:limit], true
	}
	rows, err = s.pool.Query(ctx, `
		SELECT n, t.task_name IS NULL, COALESCE(t.task_status <> 1, false)
		FROM unnest($1::text[]) n LEFT JOIN t_task_list t ON t.task_name = n
		ORDER BY n`, names)
	if err != nil {
		return g, fmt.Errorf("chain of %q: tasks: %w", name, err)
	}
	g.Tasks, err = collect(rows, func(row pgx.Row) (ChainLink, error) {
		var l ChainLink
		return l, row.Scan(&l.Name, &l.Missing, &l.Off)
	})
	if err != nil {
		return g, fmt.Errorf("chain of %q: tasks: %w", name, err)
	}
	rows, err = s.pool.Query(ctx, `
		SELECT DISTINCT src, dst, kind FROM (`+chainEdges+`) e
		WHERE src = ANY ($1) AND dst = ANY ($1)
		ORDER BY src, dst, kind`, names)
	if err != nil {
		return g, fmt.Errorf("chain of %q: edges: %w", name, err)
	}
	g.Edges, err = collect(rows, func(row pgx.Row) (ChainEdge, error) {
		var e ChainEdge
		return e, row.Scan(&e.From, &e.To, &e.Kind)
	})
	if err != nil {
		return g, fmt.Errorf("chain of %q: edges: %w", name, err)
	}
	return g, nil
}

// ArrivedRun is an upstream run whose end a waiting downstream has heard of.
type ArrivedRun struct {
	// Task is the upstream task.
	Task       string             `json:"-"`
	RunID      int64              `json:"run_id"`
	Status     tasktype.RunStatus `json:"status"`
	WorkflowID string             `json:"workflow_id"`
}

// UpstreamWait is one row of t_chain_wait: what a downstream task waits
// for on one logical date.
type UpstreamWait struct {
	ID          int64
	TaskName    string
	LogicalDate time.Time
	Condition   tasktype.AfterCondition
	// Upstreams are the task's after when the wait began.
	Upstreams []string
	// Arrived are the upstream runs that ended, by upstream name.
	Arrived []ArrivedRun
	// State is waiting (not every upstream the condition needs has
	// reported), started (the condition held and the task was started)
	// or not_running (it will not run, or not unless an upstream is
	// re-run: Reason says why).
	State      string
	Reason     string
	WorkflowID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Pending are the upstreams that have not reported yet.
func (w UpstreamWait) Pending() []string {
	var out []string
	for _, u := range w.Upstreams {
		if !slices.ContainsFunc(w.Arrived, func(a ArrivedRun) bool { return a.Task == u }) {
			out = append(out, u)
		}
	}
	return out
}

const waitColumns = `id, task_name, logical_date, condition, upstreams, arrived, state, reason, workflow_id, created_at, updated_at`

func scanWait(row pgx.Row) (UpstreamWait, error) {
	var w UpstreamWait
	var arrived []byte
	if err := row.Scan(&w.ID, &w.TaskName, &w.LogicalDate, &w.Condition, &w.Upstreams, &arrived, &w.State,
		&w.Reason, &w.WorkflowID, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return w, err
	}
	byTask := map[string]ArrivedRun{}
	if err := json.Unmarshal(arrived, &byTask); err != nil {
		return w, fmt.Errorf("arrived runs of wait %d: %w", w.ID, err)
	}
	for task, a := range byTask {
		a.Task = task
		w.Arrived = append(w.Arrived, a)
	}
	slices.SortFunc(w.Arrived, func(a, b ArrivedRun) int {
		// In the order of the task's after, then by name.
		ia, ib := slices.Index(w.Upstreams, a.Task), slices.Index(w.Upstreams, b.Task)
		if ia != ib {
			return ia - ib
		}
		if a.Task < b.Task {
			return -1
		}
		return 1
	})
	return w, nil
}

// RecentChainWaits returns the task's newest waits for its upstreams,
// newest logical date first, at most limit.
func (s *Store) RecentChainWaits(ctx context.Context, task string, limit int) ([]UpstreamWait, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+waitColumns+` FROM t_chain_wait
		WHERE task_name = $1 ORDER BY logical_date DESC, id DESC LIMIT $2`, task, limit)
	if err != nil {
		return nil, fmt.Errorf("chain waits of %q: %w", task, err)
	}
	waits, err := collect(rows, scanWait)
	if err != nil {
		return nil, fmt.Errorf("chain waits of %q: %w", task, err)
	}
	return waits, nil
}

// ChainWaitsOn returns the waits of tasks for one logical date, by task name.
func (s *Store) ChainWaitsOn(ctx context.Context, tasks []string, logicalDate time.Time) (map[string]UpstreamWait, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+waitColumns+` FROM t_chain_wait
		WHERE task_name = ANY ($1) AND logical_date = $2`, tasks, logicalDate)
	if err != nil {
		return nil, fmt.Errorf("chain waits for %s: %w", logicalDate.UTC().Format(time.RFC3339), err)
	}
	waits, err := collect(rows, scanWait)
	if err != nil {
		return nil, fmt.Errorf("chain waits for %s: %w", logicalDate.UTC().Format(time.RFC3339), err)
	}
	out := make(map[string]UpstreamWait, len(waits))
	for _, w := range waits {
		out[w.TaskName] = w
	}
	return out, nil
}

// RunsForLogicalDate returns the runs of tasks for one logical date, by
// task name, each task's newest run first.
func (s *Store) RunsForLogicalDate(ctx context.Context, tasks []string, logicalDate time.Time) ([]tasktype.Run, error) {
	return s.queryRuns(ctx, "runs for "+logicalDate.UTC().Format(time.RFC3339), `SELECT `+runColumns+`
		FROM t_task_exec_list WHERE task_name = ANY ($1) AND logical_date = $2
		ORDER BY task_name, start_time DESC, id DESC`, tasks, logicalDate)
}

// RecentLogicalDates returns the logical dates the task has a run or a
// wait for, newest first, at most limit.
func (s *Store) RecentLogicalDates(ctx context.Context, task string, limit int) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d FROM (
			(SELECT logical_date FROM t_task_exec_list WHERE task_name = $1 AND logical_date IS NOT NULL
				ORDER BY logical_date DESC LIMIT $2)
			UNION
			(SELECT logical_date FROM t_chain_wait WHERE task_name = $1 ORDER BY logical_date DESC LIMIT $2)
		) AS x(d) ORDER BY d DESC LIMIT $2`, task, limit)
	if err != nil {
		return nil, fmt.Errorf("logical dates of %q: %w", task, err)
	}
	dates, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("logical dates of %q: %w", task, err)
	}
	return dates, nil
}
