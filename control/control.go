// Package control sends people's commands to tasks: run now, kill. The
// console and the sync service call it; the same commands are available
// from the temporal CLI (`temporal schedule trigger`, `temporal workflow
// signal --name kill`).
package control

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// ErrNoSchedule is returned for a task whose schedule does not exist
// (yet: sync makes it within a second or two of the row's change, unless
// the row is invalid; see t_task_sync).
var ErrNoSchedule = errors.New("task has no schedule yet")

// Control sends commands through Temporal.
type Control struct {
	Store  *store.Store
	Client client.Client
	// ScheduleIDPrefix is prepended to a task name to get its schedule id.
	ScheduleIDPrefix string
}

// ScheduleID returns the id of the task's Temporal schedule.
func (c *Control) ScheduleID(taskName string) string {
	return c.ScheduleIDPrefix + taskName
}

// RunNow starts a run of the task at once, through its schedule (also
// when the schedule is paused), with the schedule's overlap policy.
func (c *Control) RunNow(ctx context.Context, taskName string) error {
	if err := tasktype.ValidateName(taskName); err != nil {
		return err
	}
	if _, err := c.Store.GetTask(ctx, taskName); err != nil {
		return fmt.Errorf("run %q now: %w", taskName, err)
	}
	h := c.Client.ScheduleClient().GetHandle(ctx, c.ScheduleID(taskName))
	err := h.Trigger(ctx, client.ScheduleTriggerOptions{})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("run %q now: %w", taskName, ErrNoSchedule)
	}
	if err != nil {
		return fmt.Errorf("run %q now: trigger schedule: %w", taskName, err)
	}
	return nil
}

// KillRun kills one run by signalling its workflow.
func (c *Control) KillRun(ctx context.Context, run tasktype.Run, req workflows.KillRequest) error {
	err := c.Client.SignalWorkflow(ctx, run.WorkflowID, run.RunID, workflows.SignalKill, req)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("kill run %d: workflow %s is no longer running: %w", run.ID, run.WorkflowID, err)
	}
	if err != nil {
		return fmt.Errorf("kill run %d: %w", run.ID, err)
	}
	return nil
}

// Kill kills every run of the task whose row says running, and stops the
// retries of every fire waiting for its next attempt; it returns how many
// it signalled.
func (c *Control) Kill(ctx context.Context, taskName string, req workflows.KillRequest) (int, error) {
	runs, err := c.Store.RunningRuns(ctx, taskName)
	if err != nil {
		return 0, fmt.Errorf("kill %q: %w", taskName, err)
	}
	waiting, err := c.Store.RetryingRuns(ctx, taskName)
	if err != nil {
		return 0, fmt.Errorf("kill %q: %w", taskName, err)
	}
	runs = append(runs, waiting...)
	var errs []error
	n := 0
	for _, r := range runs {
		if err := c.KillRun(ctx, r, req); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
