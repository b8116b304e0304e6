// Package control sends people's commands to tasks: run now (with
// parameters), kill, backfill. The console, the API and the sync service
// call it; the same commands are available from the temporal CLI
// (`temporal schedule trigger`, `temporal workflow signal --name kill`,
// `temporal schedule backfill`).
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/schetask/schetask/rule"
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

// ErrRunGoing refuses a run started on request while a run of the task is
// going and its overlap policy is skip.
var ErrRunGoing = errors.New("a run of the task is going, and its overlap policy (skip) starts no other")

// RunWithParams starts a run of the task at once with the given parameter
// values, and returns its workflow id. The values are checked against the
// task's declarations first (an error wrapping tasktype.ErrInvalidParams
// names what is wrong). Unlike RunNow it starts RunTask directly, with the
// input and settings of the schedule's action plus the values (a
// schedule's trigger takes no arguments): it runs also when the schedule
// is paused; with overlap policy skip it is refused (ErrRunGoing) while a
// run of the task is going, with any other policy it starts at once. by
// is who asked, kept in the workflow's memo.
func (c *Control) RunWithParams(ctx context.Context, taskName string, params map[string]string, by string) (string, error) {
	if err := tasktype.ValidateName(taskName); err != nil {
		return "", err
	}
	t, err := c.Store.GetTask(ctx, taskName)
	if err != nil {
		return "", fmt.Errorf("run %q: %w", taskName, err)
	}
	values, err := tasktype.ResolveParams(t.Params, params, true)
	if err != nil {
		return "", fmt.Errorf("run %q: %w", taskName, err)
	}
	if len(t.Params) == 0 {
		values = nil
	}
	desc, err := c.describe(ctx, taskName)
	if err != nil {
		return "", fmt.Errorf("run %q: %w", taskName, err)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || len(action.Args) != 1 {
		return "", fmt.Errorf("run %q: the schedule's action is not a RunTask workflow with one argument", taskName)
	}
	var in workflows.RunTaskInput
	if err := decodeArg(action.Args[0], &in); err != nil {
		return "", fmt.Errorf("run %q: read the schedule's workflow input: %w", taskName, err)
	}
	in.Params = values
	if pol := desc.Schedule.Policy; pol == nil || pol.Overlap == enumspb.SCHEDULE_OVERLAP_POLICY_SKIP ||
		pol.Overlap == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		going, err := c.runGoing(ctx, taskName, desc)
		if err != nil {
			return "", fmt.Errorf("run %q: %w", taskName, err)
		}
		if going {
			return "", fmt.Errorf("run %q: %w", taskName, ErrRunGoing)
		}
	}
	id, err := runWorkflowID(c.ScheduleID(taskName), time.Now())
	if err != nil {
		return "", fmt.Errorf("run %q: %w", taskName, err)
	}
	opts := client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                action.TaskQueue,
		WorkflowExecutionTimeout: action.WorkflowExecutionTimeout,
		WorkflowRunTimeout:       action.WorkflowRunTimeout,
		WorkflowTaskTimeout:      action.WorkflowTaskTimeout,
		RetryPolicy:              action.RetryPolicy,
		TypedSearchAttributes:    action.TypedSearchAttributes,
		Memo:                     map[string]any{"started_by": by},
	}
	run, err := c.Client.ExecuteWorkflow(ctx, opts, action.Workflow, in)
	if err != nil {
		return "", fmt.Errorf("run %q: start workflow: %w", taskName, err)
	}
	return run.GetID(), nil
}

// describe describes the task's schedule; ErrNoSchedule when it has none.
func (c *Control) describe(ctx context.Context, taskName string) (*client.ScheduleDescription, error) {
	desc, err := c.Client.ScheduleClient().GetHandle(ctx, c.ScheduleID(taskName)).Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, ErrNoSchedule
	}
	if err != nil {
		return nil, fmt.Errorf("describe schedule: %w", err)
	}
	return desc, nil
}

// runGoing says whether a run of the task is going: one the schedule
// started, or one whose row says running or waiting for a retry (which
// covers runs started directly).
func (c *Control) runGoing(ctx context.Context, taskName string, desc *client.ScheduleDescription) (bool, error) {
	if len(desc.Info.RunningWorkflows) > 0 {
		return true, nil
	}
	running, err := c.Store.RunningRuns(ctx, taskName)
	if err != nil {
		return false, err
	}
	waiting, err := c.Store.RetryingRuns(ctx, taskName)
	if err != nil {
		return false, err
	}
	return len(running)+len(waiting) > 0, nil
}

// decodeArg reads one argument of a described schedule's action (a
// payload) into v.
func decodeArg(arg any, v any) error {
	switch a := arg.(type) {
	case *commonpb.Payload:
		return converter.GetDefaultDataConverter().FromPayload(a, v)
	case workflows.RunTaskInput:
		*(v.(*workflows.RunTaskInput)) = a
		return nil
	default:
		return fmt.Errorf("argument of type %T", arg)
	}
}

// runWorkflowID is the workflow id of a run started on request:
// "<scheduleID>-run-<UTC yyyymmddThhmmss.fffZ>-<4 random hex>".
func runWorkflowID(scheduleID string, now time.Time) (string, error) {
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("workflow id: %w", err)
	}
	return fmt.Sprintf("%s-run-%s-%s", scheduleID, now.UTC().Format("20060102T150405.000Z"), hex.EncodeToString(b)), nil
}

// DefaultBackfillMax is the most fires one backfill may start unless
// configured otherwise (SCHETASK_BACKFILL_MAX).
const DefaultBackfillMax = 1000

// countLimit bounds the counting of a refused range's fires.
const countLimit = 1_000_000

// ErrTooManyFires is matched (errors.Is) by a TooManyFiresError.
var ErrTooManyFires = errors.New("too many fires")

// ErrNoFires refuses a backfill whose range holds no fire of the rule.
var ErrNoFires = errors.New("the task's rule has no fire in that range")

// ErrInvalidRange refuses a backfill range that is empty, reversed or
// wholly in the future.
var ErrInvalidRange = errors.New("invalid backfill range")

// ErrBadRule refuses a backfill of a task whose rule or time zone cannot
// be read (sync leaves such a task without a schedule, too).
var ErrBadRule = errors.New("the task's rule cannot be read")

// TooManyFiresError refuses a backfill of more fires than the cap.
type TooManyFiresError struct {
	// Fires is how many fires the range holds; with AtLeast, counting
	// stopped there.
	Fires   int
	AtLeast bool
	// Max is the cap.
	Max int
}

func (e *TooManyFiresError) Error() string {
	n := fmt.Sprint(e.Fires)
	if e.AtLeast {
		n = "at least " + n
	}
	return fmt.Sprintf("the range holds %s fires, more than the %d one backfill may start (SCHETASK_BACKFILL_MAX)", n, e.Max)
}

// Is makes errors.Is(err, ErrTooManyFires) true.
func (e *TooManyFiresError) Is(target error) bool { return target == ErrTooManyFires }

// BackfillResult is what a backfill starts (or, dry, would start).
type BackfillResult struct {
	// Fires is how many fires of the rule the range holds.
	Fires int
	// First and Last are the first and last of them.
	First, Last time.Time
	// ID is the backfill's row in t_task_backfill (0 for a dry run).
	ID int64
}

// Backfill runs every fire of the task's rule from from to to (both
// included, read in the task's time zone; a range reaching into the
// future stops at now, whose fires the schedule runs itself) through the
// schedule's backfill: each run gets its fire's time as its scheduled
// time. It runs them one at a time, in order (overlap policy buffer all),
// or, with overlapFromTask, with the task's own overlap policy. More
// fires than max (DefaultBackfillMax when not above 0) are refused with a
// TooManyFiresError that says how many. A dry run only counts. The
// backfill is recorded (t_task_backfill, by whom) before Temporal gets it,
// so each run it starts is marked with it.
func (c *Control) Backfill(ctx context.Context, taskName string, from, to time.Time, max int, overlapFromTask bool, by string, dryRun bool) (BackfillResult, error) {
	if err := tasktype.ValidateName(taskName); err != nil {
		return BackfillResult{}, err
	}
	if max <= 0 {
		max = DefaultBackfillMax
	}
	t, err := c.Store.GetTask(ctx, taskName)
	if err != nil {
		return BackfillResult{}, fmt.Errorf("backfill %q: %w", taskName, err)
	}
	res, err := CountFires(t, from, to, time.Now(), max)
	if err != nil {
		return res, fmt.Errorf("backfill %q: %w", taskName, err)
	}
	if dryRun {
		return res, nil
	}
	desc, err := c.describe(ctx, taskName)
	if err != nil {
		return res, fmt.Errorf("backfill %q: %w", taskName, err)
	}
	overlap := enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL
	if overlapFromTask && desc.Schedule.Policy != nil {
		overlap = desc.Schedule.Policy.Overlap
	}
	if now := time.Now(); to.After(now) {
		to = now
	}
	b, err := c.Store.AddBackfill(ctx, store.Backfill{TaskName: taskName, Start: from, End: to,
		Fires: res.Fires, RequestedBy: by})
	if err != nil {
		return res, fmt.Errorf("backfill %q: %w", taskName, err)
	}
	res.ID = b.ID
	// Temporal's backfill range includes both its ends (checked on the
	// dev server: e2e TestBackfillRunsEachFireOfTheRangeInOrder). Fires
	// fall on whole seconds, so half a second around the first and the
	// last fire holds exactly the counted fires either way.
	err = c.Client.ScheduleClient().GetHandle(ctx, c.ScheduleID(taskName)).Backfill(ctx, client.ScheduleBackfillOptions{
		Backfill: []client.ScheduleBackfill{{
			Start:   res.First.Add(-500 * time.Millisecond),
			End:     res.Last.Add(500 * time.Millisecond),
			Overlap: overlap,
		}},
	})
	if err != nil {
		if derr := c.Store.DeleteBackfill(context.WithoutCancel(ctx), b.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return res, fmt.Errorf("backfill %q: %w", taskName, err)
	}
	return res, nil
}

// CountFires counts the fires of the task's rule, read in its time zone,
// from from to to (both included; to no later than now), refusing more
// than max with a TooManyFiresError, and none with ErrNoFires.
func CountFires(t tasktype.Task, from, to, now time.Time, max int) (BackfillResult, error) {
	var res BackfillResult
	switch {
	case from.IsZero() || to.IsZero():
		return res, fmt.Errorf("%w: give both ends of the range", ErrInvalidRange)
	case to.Before(from):
		return res, fmt.Errorf("%w: it ends (%s) before it starts (%s)", ErrInvalidRange,
			to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	case from.After(now):
		return res, fmt.Errorf("%w: it starts in the future (%s); the schedule runs those fires itself", ErrInvalidRange,
			from.UTC().Format(time.RFC3339))
	}
	if to.After(now) {
		to = now
	}
	r, err := rule.Parse(t.Rule)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrBadRule, err)
	}
	loc, err := tasktype.ValidateTimeZone(t.TimeZone)
	if err != nil {
		return res, fmt.Errorf("%w: time zone: %w", ErrBadRule, err)
	}
	// Next is strictly after its argument: start just before from, so a
	// fire at from counts.
	for at := r.Next(from.Add(-time.Nanosecond), loc); !at.IsZero() && !at.After(to); at = r.Next(at, loc) {
		if res.Fires == 0 {
			res.First = at
		}
		res.Last = at
		res.Fires++
		if res.Fires >= countLimit {
			return res, &TooManyFiresError{Fires: res.Fires, AtLeast: true, Max: max}
		}
	}
	if res.Fires > max {
		return res, &TooManyFiresError{Fires: res.Fires, Max: max}
	}
	if res.Fires == 0 {
		return res, fmt.Errorf("%w (%s to %s)", ErrNoFires, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	return res, nil
}
