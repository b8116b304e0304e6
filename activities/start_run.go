package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	params, paramErr, err := a.runParams(ctx, in)
	if err != nil {
		return StartRunResult{}, fmt.Errorf("start hook: %w", err)
	}
	run, err := a.Store.StartRun(ctx, store.StartRunParams{
		TaskName: in.TaskName, WorkflowID: in.WorkflowID, RunID: in.RunID,
		ScheduledTime: in.ScheduledTime, Location: loc, Attempt: in.Attempt, Params: params,
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
	res := StartRunResult{RunID: run.ID, Version: run.Version, LogPath: run.LogPath, Attempt: run.Attempt, Params: params}
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

// runParams resolves the run's parameter values against what the task
// declares now: nil values for a task that declares none (and was given
// none); refused is the values' refusal, err a failure to read the task.
func (a *Activities) runParams(ctx context.Context, in StartRunInput) (values map[string]string, refused, err error) {
	var declared []tasktype.Param
	if tasktype.ValidateName(in.TaskName) == nil {
		t, err := a.Store.GetTask(ctx, in.TaskName)
		switch {
		case errors.Is(err, store.ErrTaskNotFound):
			// Deleted since the fire: it runs as it would have, without
			// parameters.
		case err != nil:
			return nil, nil, err
		default:
			declared = t.Params
		}
	}
	values, refused = tasktype.ResolveParams(declared, in.Params, in.Params != nil)
	if refused != nil || len(declared) == 0 {
		return nil, refused, nil
	}
	return values, nil, nil
}
