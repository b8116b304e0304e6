package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdir"
	"github.com/schetask/schetask/tasktype"
)

// FinishRunInput is how a run ended, as the workflow saw it.
type FinishRunInput struct {
	TaskName string
	RunID    int64
	Version  string
	Status   tasktype.RunStatus
	ExitCode int
	Error    string
	// Archive says whether to archive publish/ (not when the task never ran).
	Archive bool
	// RetryIn, when not zero, says another attempt of the fire follows
	// after this wait: the run's end raises no outcome alert, the last
	// attempt's does.
	RetryIn time.Duration
}

// FinishRun is the end hook: it moves what the run left in publish/ to
// history/<version>/, then records the outcome, the archived files and the
// task's last_end_time, and raises the alert the outcome deserves. It is
// idempotent, so Temporal may retry it.
func (a *Activities) FinishRun(ctx context.Context, in FinishRunInput) (tasktype.Run, error) {
	p := store.FinishRunParams{RunID: in.RunID, Status: in.Status, ExitCode: in.ExitCode, Error: in.Error}
	if in.Archive {
		rel, files, err := taskdir.ArchivePublishDir(a.Layout, in.TaskName, in.Version)
		if err != nil {
			// The outcome is still recorded; the files stay in publish/.
			p.Error = joinMessages(p.Error, err.Error())
		}
		if rel != "" && a.Sandbox != nil && a.Sandbox.SwitchesUser() {
			if err := reclaim(a.Layout.Abs(rel)); err != nil {
				p.Error = joinMessages(p.Error, fmt.Sprintf("take the archived version back from the task's user: %v", err))
			}
		}
		p.HistoryPath, p.PublishedFiles = rel, files
	}
	if in.RetryIn > 0 {
		p.Error = joinMessages(p.Error, fmt.Sprintf("retrying in %s", in.RetryIn))
		p.RetryIn = in.RetryIn
	}
	run, err := a.Store.FinishRun(ctx, p)
	if err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	if run.EndTime != nil {
		metrics.RunEnded(run.TaskName, string(run.Status), run.EndTime.Sub(run.StartTime))
	}
	if in.RetryIn > 0 {
		return run, nil
	}
	if err := a.raiseOutcome(ctx, run); err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	return run, nil
}

// RetriesStoppedInput names the last attempt of a fire whose retries were
// stopped by a kill request or the workflow's cancellation.
type RetriesStoppedInput struct {
	TaskName string
	RunID    int64
}

// RetriesStopped is the end hook of a fire whose next attempt will not
// come: the last attempt's row says so, and its outcome alert, held back
// for the retry, is raised now. It is idempotent.
func (a *Activities) RetriesStopped(ctx context.Context, in RetriesStoppedInput) (tasktype.Run, error) {
	run, err := a.Store.StopRetries(ctx, in.RunID)
	if err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	if err := a.raiseOutcome(ctx, run); err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	return run, nil
}

func joinMessages(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
