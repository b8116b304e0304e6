package activities

import (
	"context"
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
	// entrypoint); the workflow then ends the run as failed without exec.
	Problem string
}

// StartRun is the start hook: it inserts the run's row (setting the task's
// last_start_time and task_version) and empties the task's publish folder.
// It is idempotent, so Temporal may retry it.
func (a *Activities) StartRun(ctx context.Context, in StartRunInput) (StartRunResult, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	nameErr := tasktype.ValidateName(in.TaskName)
	run, err := a.Store.StartRun(ctx, store.StartRunParams{
		TaskName: in.TaskName, WorkflowID: in.WorkflowID, RunID: in.RunID,
		ScheduledTime: in.ScheduledTime, Location: loc, Attempt: in.Attempt,
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
	res := StartRunResult{RunID: run.ID, Version: run.Version, LogPath: run.LogPath, Attempt: run.Attempt}
	if nameErr != nil {
		res.Problem = nameErr.Error()
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
