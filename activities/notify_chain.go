package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// NotifyChainInput is a fire's end, its last attempt's: what the tasks
// that run after it or on its failure are told.
type NotifyChainInput struct {
	Task          string
	RunID         int64
	WorkflowID    string
	Status        tasktype.RunStatus
	ScheduledTime time.Time
}

// NotifyChain tells the tasks chained to a fire's end about it: the gate
// of each downstream task (a task with this one in its after) for the
// logical date the run falls on in the downstream's period gets the
// upstream-ended signal, started if need be; when the run did not
// succeed, each task of its on_failure list is started, once per fire.
// It is idempotent: a gate takes an upstream's first end, and the
// on-failure runs have workflow ids of their fire's.
func (a *Activities) NotifyChain(ctx context.Context, in NotifyChainInput) error {
	if has, err := a.Store.HasChain(ctx, in.Task, in.Status != tasktype.RunSucceeded); err != nil {
		return fmt.Errorf("notify chain of %q: %w", in.Task, err)
	} else if !has {
		return nil
	}
	tasks, err := a.tasksByName(ctx)
	if err != nil {
		return fmt.Errorf("notify chain of %q: %w", in.Task, err)
	}
	var errs []error
	for _, down := range tasks {
		if !slices.Contains(down.After, in.Task) {
			continue
		}
		if err := a.signalGate(ctx, tasks, down, in); err != nil {
			errs = append(errs, err)
		}
	}
	if in.Status != tasktype.RunSucceeded {
		if up, ok := tasks[in.Task]; ok && len(up.OnFailure) > 0 {
			if err := a.startOnFailure(ctx, tasks, up, in); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify chain of %q: %w", in.Task, err)
	}
	return nil
}

// signalGate sends the run's end to down's gate for its logical date.
func (a *Activities) signalGate(ctx context.Context, tasks map[string]tasktype.Task, down tasktype.Task, in NotifyChainInput) error {
	period := chainPeriod(tasks, down.Name)
	logical := rule.LogicalDate(in.ScheduledTime, period, taskLocation(down)).UTC()
	cond := down.AfterCondition
	if cond == "" {
		cond = tasktype.AfterAllSucceeded
	}
	if a.Temporal == nil {
		return errors.New("no Temporal client")
	}
	id := GateWorkflowID(a.ScheduleIDPrefix, down.Name, logical)
	// The wait counts from the end of the date's period, or from now for
	// a date long past (a backfill): its upstreams get the whole wait.
	from := logical.Add(period)
	if now := time.Now(); now.After(from) {
		from = now
	}
	gate := ChainGateInput{Task: down.Name, LogicalDate: logical, Condition: cond, Upstreams: down.After,
		Until: from.Add(a.chainWait()), Wait: a.chainWait()}
	_, err := a.Temporal.SignalWithStartWorkflow(ctx, id, SignalUpstreamEnded,
		ChainSignal{Task: in.Task, RunID: in.RunID, WorkflowID: in.WorkflowID, Status: in.Status},
		client.StartWorkflowOptions{ID: id, TaskQueue: a.TaskQueue}, ChainGateWorkflow, gate)
	if err != nil {
		return fmt.Errorf("signal the gate of %q: %w", down.Name, err)
	}
	a.logger().Info("upstream end sent to gate", slog.String("task", down.Name), slog.String("upstream", in.Task),
		slog.Int64("run", in.RunID), slog.Time("logical_date", logical))
	return nil
}

// startOnFailure starts each task of up's on_failure list for the failed
// run, with the run's logical date. A target that is paused or deleted
// is skipped, in the log.
func (a *Activities) startOnFailure(ctx context.Context, tasks map[string]tasktype.Task, up tasktype.Task, in NotifyChainInput) error {
	logical := in.ScheduledTime
	if run, err := a.Store.GetRun(ctx, in.RunID); err == nil && run.LogicalDate != nil {
		logical = *run.LogicalDate
	} else if err != nil && !errors.Is(err, store.ErrRunNotFound) {
		return err
	}
	var errs []error
	for _, name := range up.OnFailure {
		t, ok := tasks[name]
		if !ok || t.Status != tasktype.StatusOn {
			a.logger().Warn("on-failure task not run: paused or deleted", slog.String("task", name),
				slog.String("failed", in.Task), slog.Int64("run", in.RunID))
			continue
		}
		id := a.ScheduleIDPrefix + name + "-onfailure-" + in.WorkflowID
		err := a.startTaskRun(ctx, name, id, logical, []int64{in.RunID})
		if errors.Is(err, errNoSchedule) {
			// Retrying would not make one, and would hold the failed
			// run's workflow open: say so and go on.
			a.logger().Warn("on-failure task not run: it has no schedule (see its sync state)", slog.String("task", name),
				slog.String("failed", in.Task), slog.Int64("run", in.RunID), slog.Any("error", err))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("on failure of %q: %w", in.Task, err))
		}
	}
	return errors.Join(errs...)
}

// chainWait is how long a gate waits past its logical date's period.
func (a *Activities) chainWait() time.Duration {
	if a.ChainWait > 0 {
		return a.ChainWait
	}
	return DefaultChainWait
}

// DefaultChainWait is the chain wait when none is configured.
const DefaultChainWait = 24 * time.Hour
