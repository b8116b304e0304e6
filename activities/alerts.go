package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/tasktype"
)

// AlertRaiser raises alerts; *alert.Raiser is the one schetask uses.
type AlertRaiser interface {
	Raise(ctx context.Context, ev alert.Event) (alert.Raised, error)
}

// TimeoutAlertInput says which run passed its timeout.
type TimeoutAlertInput struct {
	TaskName string
	RunID    int64
	Timeout  time.Duration
	// Killed says the run is being killed for it (timeout_action kill).
	Killed bool
}

// AlertTimeout raises the timeout alert of a run the moment it passes its
// timeout, whether it is then killed or goes on.
func (a *Activities) AlertTimeout(ctx context.Context, in TimeoutAlertInput) error {
	what := "it goes on (timeout_action warn)"
	if in.Killed {
		what = "it is being killed (timeout_action kill)"
	}
	return a.raise(ctx, alert.Event{Kind: alert.KindTimeout, TaskName: in.TaskName, RunID: in.RunID,
		Key:   fmt.Sprintf("timeout:%d", in.RunID),
		Title: fmt.Sprintf("run #%d passed its timeout of %s", in.RunID, in.Timeout),
		Text:  fmt.Sprintf("The run has been going for longer than the task's timeout of %s; %s.", in.Timeout, what)})
}

// raiseOutcome raises what a finished run deserves: a failure, a lost run
// or a timeout alert, or a recovery when it succeeded.
func (a *Activities) raiseOutcome(ctx context.Context, run tasktype.Run) error {
	ev := alert.Event{TaskName: run.TaskName, RunID: run.ID, ExitCode: run.ExitCode, Stderr: run.StderrHead, Text: run.Error}
	code := 0
	if run.ExitCode != nil {
		code = *run.ExitCode
	}
	switch run.Status {
	case tasktype.RunSucceeded:
		ev.Kind, ev.Title, ev.ExitCode = alert.KindRecovered, fmt.Sprintf("recovered: run #%d succeeded", run.ID), nil
	case tasktype.RunFailed:
		ev.Kind, ev.Title = alert.KindFailed, fmt.Sprintf("run #%d failed with exit code %d", run.ID, code)
	case tasktype.RunLost:
		ev.Kind, ev.Title = alert.KindLost, fmt.Sprintf("run #%d was lost with its worker", run.ID)
	case tasktype.RunTimedOut:
		// Usually raised already when the timeout passed; the key makes it once.
		ev.Kind, ev.Title = alert.KindTimeout, fmt.Sprintf("run #%d timed out", run.ID)
	default:
		return nil // killed on request: whoever asked knows
	}
	ev.Key = fmt.Sprintf("%s:%d", ev.Kind, run.ID)
	return a.raise(ctx, ev)
}

func (a *Activities) raise(ctx context.Context, ev alert.Event) error {
	if a.Alerts == nil {
		a.logger().Warn("alert not raised: no raiser configured", "task", ev.TaskName, "kind", ev.Kind, "title", ev.Title)
		return nil
	}
	if _, err := a.Alerts.Raise(ctx, ev); err != nil {
		return fmt.Errorf("raise %s alert: %w", ev.Kind, err)
	}
	return nil
}
