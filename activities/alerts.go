package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// AlertRaiser raises alerts; *alert.Raiser is the one schetask uses.
type AlertRaiser interface {
	Raise(ctx context.Context, ev alert.Event) (alert.Raised, error)
	RunEnded(ctx context.Context, run tasktype.Run) error
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

// raiseOutcome raises what a finished run deserves.
func (a *Activities) raiseOutcome(ctx context.Context, run tasktype.Run) error {
	if a.Alerts == nil {
		return nil
	}
	if err := a.Alerts.RunEnded(ctx, run); err != nil {
		return fmt.Errorf("raise alert of run %d: %w", run.ID, err)
	}
	return a.raiseUnusual(ctx, run)
}

// raiseUnusual raises what a succeeded run deserves for being unlike the
// task's usual runs (alert.EndedEvents): far faster, or doing nothing.
func (a *Activities) raiseUnusual(ctx context.Context, run tasktype.Run) error {
	if run.Status != tasktype.RunSucceeded || a.Store == nil {
		return nil
	}
	t, err := a.Store.GetTask(ctx, run.TaskName)
	if errors.Is(err, store.ErrTaskNotFound) {
		return nil // deleted while it ran: nothing to compare with
	}
	if err != nil {
		return fmt.Errorf("compare run %d with the usual: %w", run.ID, err)
	}
	if !t.LearnNormal {
		return nil
	}
	n, err := a.Store.RunNormal(ctx, run.TaskName, run.ID)
	if err != nil {
		return fmt.Errorf("compare run %d with the usual: %w", run.ID, err)
	}
	for _, ev := range alert.EndedEvents(t, run, n) {
		if err := a.raise(ctx, ev); err != nil {
			return err
		}
	}
	return nil
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
