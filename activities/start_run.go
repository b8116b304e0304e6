package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdir"
	"github.com/schetask/schetask/tasktype"
)

// StartRunInput identifies a run that is starting.
type StartRunInput struct {
	TaskName      string
	WorkflowID    string
	RunID         string
	ScheduledTime time.Time
	TimeZone      string
	// Attempt numbers the run among its fire's attempts (0 means 1).
	Attempt int
	// Params are the parameter values a person gave the run; nil for a
	// scheduled fire, which takes the declared defaults.
	Params map[string]string `json:",omitempty"`
	// LogicalDate is the date a chain started the run for; nil for a
	// fire, whose date is its scheduled time truncated to the task's
	// period.
	LogicalDate *time.Time `json:",omitempty"`
	// UpstreamRuns are the runs whose ends started this one.
	UpstreamRuns []int64 `json:",omitempty"`
}

// StartRunResult is what the start hook made: the run's row, its version,
// and, when the task cannot run, why.
type StartRunResult struct {
	RunID   int64
	Version string
	LogPath string
	// Attempt is the run's number among its fire's attempts.
	Attempt int
	// Problem, when not empty, says why the task cannot run (no folder, no
	// entrypoint, parameter values its declarations refuse); the workflow
	// then ends the run as failed without exec.
	Problem string
	// ProblemExitCode is the exit code the run ends with for Problem; 0
	// means tasktype.ExitNoEntrypoint.
	ProblemExitCode int `json:",omitempty"`
	// Params are the run's parameter values, the declared defaults filled
	// in; nil for a task that declares none.
	Params map[string]string `json:",omitempty"`
	// LogicalDate is the date the run is for (zero in results from before
	// chains).
	LogicalDate time.Time `json:",omitempty"`
	// UpstreamHistory holds, by upstream task, the history folder of the
	// upstream run that started this one (what it published).
	UpstreamHistory map[string]string `json:",omitempty"`
}

// StartRun is the start hook: it resolves the run's parameter values
// against the task's declarations, inserts the run's row with them
// (setting the task's last_start_time and task_version) and empties the
// task's publish folder. It is idempotent, so Temporal may retry it.
func (a *Activities) StartRun(ctx context.Context, in StartRunInput) (StartRunResult, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	nameErr := tasktype.ValidateName(in.TaskName)
	task, err := a.currentTask(ctx, in.TaskName)
	if err != nil {
		return StartRunResult{}, fmt.Errorf("start hook: %w", err)
	}
	params, paramErr := runParams(task, in)
	logical, err := a.logicalDate(ctx, task, in, loc)
	if err != nil {
		return StartRunResult{}, fmt.Errorf("start hook: %w", err)
	}
	upstream, err := a.upstreamHistory(ctx, in.UpstreamRuns)
	if err != nil {
		return StartRunResult{}, fmt.Errorf("start hook: %w", err)
	}
	run, err := a.Store.StartRun(ctx, store.StartRunParams{
		TaskName: in.TaskName, WorkflowID: in.WorkflowID, RunID: in.RunID,
		ScheduledTime: in.ScheduledTime, Location: loc, Attempt: in.Attempt, Params: params,
		LogicalDate: logical, UpstreamRuns: in.UpstreamRuns,
		LogPath: func(version string) (string, error) {
			if nameErr != nil {
				return "", nil
			}
			return a.Layout.LogPath(in.TaskName, version)
		},
	})
	if err != nil {
		return StartRunResult{}, fmt.Errorf("start hook: %w", err)
	}
	res := StartRunResult{RunID: run.ID, Version: run.Version, LogPath: run.LogPath, Attempt: run.Attempt, Params: params,
		LogicalDate: logical, UpstreamHistory: upstream}
	if nameErr != nil {
		res.Problem = nameErr.Error()
		return res, nil
	}
	if paramErr != nil {
		// The declarations changed since the values were checked.
		res.Problem, res.ProblemExitCode = paramErr.Error(), tasktype.ExitSpawnFailed
		return res, nil
	}
	dir, _ := a.Layout.TaskDir(in.TaskName)
	if _, err := taskdir.Entrypoint(dir); err != nil {
		res.Problem = err.Error()
		return res, nil
	}
	if err := taskdir.EmptyPublishDir(a.Layout, in.TaskName); err != nil {
		return res, fmt.Errorf("start hook: %w", err)
	}
	return res, nil
}

// currentTask reads the task's row; nil when it was deleted since the
// fire (or its name is not valid), which runs as it would have.
func (a *Activities) currentTask(ctx context.Context, name string) (*tasktype.Task, error) {
	if tasktype.ValidateName(name) != nil {
		return nil, nil
	}
	t, err := a.Store.GetTask(ctx, name)
	if errors.Is(err, store.ErrTaskNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// runParams resolves the run's parameter values against what the task
// declares now: nil values for a task that declares none (and was given
// none); refused is the values' refusal.
func runParams(t *tasktype.Task, in StartRunInput) (values map[string]string, refused error) {
	var declared []tasktype.Param
	if t != nil {
		declared = t.Params
	}
	values, refused = tasktype.ResolveParams(declared, in.Params, in.Params != nil)
	if refused != nil || len(declared) == 0 {
		return nil, refused
	}
	return values, nil
}

// logicalDate is the date the run is for: the chain's, or its scheduled
// time truncated to its task's period (a day for a deleted task).
func (a *Activities) logicalDate(ctx context.Context, t *tasktype.Task, in StartRunInput, loc *time.Location) (time.Time, error) {
	if in.LogicalDate != nil {
		return in.LogicalDate.UTC(), nil
	}
	period := 24 * time.Hour
	if t != nil {
		if p, ok := rule.Period(t.Rule); ok {
			period = p
		} else if len(t.After) > 0 {
			tasks, err := a.tasksByName(ctx)
			if err != nil {
				return time.Time{}, err
			}
			period = chainPeriod(tasks, t.Name)
		}
	}
	return rule.LogicalDate(in.ScheduledTime, period, loc).UTC(), nil
}

// upstreamHistory maps each upstream run's task to the run's history
// folder (its archived publish/), for SCHETASK_UPSTREAM_HISTORY_<TASK>.
func (a *Activities) upstreamHistory(ctx context.Context, runs []int64) (map[string]string, error) {
	var out map[string]string
	for _, id := range runs {
		r, err := a.Store.GetRun(ctx, id)
		if errors.Is(err, store.ErrRunNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.HistoryPath == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[r.TaskName] = a.Layout.Abs(r.HistoryPath)
	}
	return out, nil
}
