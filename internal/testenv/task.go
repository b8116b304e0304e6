package testenv

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/tasktype"
)

// DefaultTaskRule is the rule Task gives a row that states none: it fires
// once a year, so a task a test did not mean to schedule never runs while
// the test does.
const DefaultTaskRule = "0 0 1 1 *"

// Querier is what the task factory writes through: a *pgxpool.Pool (such
// as Env.Store.Pool()), a *pgx.Conn or a pgx.Tx.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TaskOpts are the columns of one t_task_list row that a test cares about.
// A zero field (nil for pointers) leaves the column to its default: the
// database's own for every column but the two it has none for, task_name
// (a fresh unique name) and rule (DefaultTaskRule). Pointers mark the
// columns whose zero value is a setting of its own.
type TaskOpts struct {
	// Name is the task_name; "" picks a unique one.
	Name string
	// Rule is the cron rule; "" means DefaultTaskRule.
	Rule string
	// TimeZone is the zone the rule is read in; "" means UTC.
	TimeZone string
	// Timeout is how long a run may take, in whole seconds; 0 means none.
	Timeout time.Duration
	// TimeoutAction is what passing Timeout does; "" means kill.
	TimeoutAction tasktype.TimeoutAction
	// Status is the task_status; nil means on.
	Status *tasktype.Status
	// Overlap is the overlap_policy; "" means skip.
	Overlap tasktype.OverlapPolicy
	// Owners are told about alerts; nil means none.
	Owners []string
	// Description is the task's description.
	Description string
	// AlertChannels limits the task's alerts; nil means every channel.
	AlertChannels []string
	// SlackChannel and WebhookURL replace the configured ones.
	SlackChannel string
	WebhookURL   string
	// StatusNote says why the task is off.
	StatusNote string
	// RunAs is the user the task runs as; "" means the worker's task user.
	RunAs string
	// MemoryLimitMB, CPULimit and PidsLimit bound a run's cgroup; nil
	// means the worker's default (NULL), a pointer to 0 no limit.
	MemoryLimitMB *int
	CPULimit      *float64
	PidsLimit     *int
	// KeepRuns and KeepDays are the task's retention; nil means the
	// global default (NULL), a pointer to 0 no limit of that kind.
	KeepRuns *int
	KeepDays *int
	// LearnNormal is learn_normal; nil means the default (true).
	LearnNormal *bool
	// SlowMarginSeconds is slow_margin_seconds; nil means NULL (60 s).
	SlowMarginSeconds *int
	// Retry sets the retry_* columns: Max, and each other field that is
	// not zero (Delay and MaxDelay in whole seconds); nil leaves them all
	// to their defaults (no retries).
	Retry *tasktype.Retry
}

// Task inserts one t_task_list row, as a person editing the table would,
// and returns its name; it fails the test if the database refuses it.
func Task(ctx context.Context, tb testing.TB, db Querier, opts *TaskOpts) string {
	tb.Helper()
	name, err := InsertTask(ctx, db, opts)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return name
}

// InsertTask is Task for tests that want the database's refusal: it
// returns the error, which names the check that failed.
func InsertTask(ctx context.Context, db Querier, opts *TaskOpts) (string, error) {
	if opts == nil {
		opts = &TaskOpts{}
	}
	name := cmp.Or(opts.Name, "task-"+randomID())
	cols := []string{"task_name", "rule"}
	args := []any{name, cmp.Or(opts.Rule, DefaultTaskRule)}
	set := func(col string, v any) {
		cols = append(cols, col)
		args = append(args, v)
	}
	if opts.TimeZone != "" {
		set("time_zone", opts.TimeZone)
	}
	if opts.Timeout != 0 {
		if opts.Timeout%time.Second != 0 {
			return "", fmt.Errorf("insert task %q: timeout %s is not whole seconds", name, opts.Timeout)
		}
		set("timeout", int32(opts.Timeout/time.Second))
	}
	if opts.TimeoutAction != "" {
		set("timeout_action", opts.TimeoutAction)
	}
	if opts.Status != nil {
		set("task_status", *opts.Status)
	}
	if opts.Overlap != "" {
		set("overlap_policy", opts.Overlap)
	}
	if opts.Owners != nil {
		set("owners", opts.Owners)
	}
	if opts.Description != "" {
		set("description", opts.Description)
	}
	if opts.AlertChannels != nil {
		set("alert_channels", opts.AlertChannels)
	}
	if opts.SlackChannel != "" {
		set("slack_channel", opts.SlackChannel)
	}
	if opts.WebhookURL != "" {
		set("webhook_url", opts.WebhookURL)
	}
	if opts.StatusNote != "" {
		set("status_note", opts.StatusNote)
	}
	if opts.RunAs != "" {
		set("run_as", opts.RunAs)
	}
	if opts.MemoryLimitMB != nil {
		set("memory_limit_mb", *opts.MemoryLimitMB)
	}
	if opts.CPULimit != nil {
		set("cpu_limit", *opts.CPULimit)
	}
	if opts.PidsLimit != nil {
		set("pids_limit", *opts.PidsLimit)
	}
	if opts.KeepRuns != nil {
		set("keep_runs", *opts.KeepRuns)
	}
	if opts.KeepDays != nil {
		set("keep_days", *opts.KeepDays)
	}
	if opts.LearnNormal != nil {
		set("learn_normal", *opts.LearnNormal)
	}
	if opts.SlowMarginSeconds != nil {
		set("slow_margin_seconds", *opts.SlowMarginSeconds)
	}
	if r := opts.Retry; r != nil {
		set("retry_max", r.Max)
		for col, d := range map[string]time.Duration{"retry_delay_seconds": r.Delay, "retry_delay_max_seconds": r.MaxDelay} {
			if d%time.Second != 0 {
				return "", fmt.Errorf("insert task %q: %s %s is not whole seconds", name, col, d)
			}
			if d != 0 {
				set(col, int32(d/time.Second))
			}
		}
		if r.Backoff != 0 {
			set("retry_backoff", r.Backoff)
		}
		if r.On != "" {
			set("retry_on", r.On)
		}
		if r.TimedOut {
			set("retry_timed_out", true)
		}
		if r.Lost {
			set("retry_lost", true)
		}
	}
	params := make([]string, len(args))
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	q := `INSERT INTO t_task_list (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(params, ", ") + `) RETURNING task_name`
	var got string
	if err := db.QueryRow(ctx, q, args...).Scan(&got); err != nil {
		return "", fmt.Errorf("insert task %q: %w", name, err)
	}
	return got, nil
}
