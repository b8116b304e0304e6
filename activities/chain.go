package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
)

// ChainGateWorkflow is the workflow type of a downstream task's gate: one
// per task and logical date, collecting its upstream runs' ends and
// starting the task once its condition holds (workflows.ChainGate).
const ChainGateWorkflow = "ChainGate"

// SignalUpstreamEnded is the signal a gate gets for each upstream run's
// end; its payload is a ChainSignal.
const SignalUpstreamEnded = "upstream-ended"

// runTaskWorkflow is the workflow type of a run (workflows.RunTask), for
// runs started without a schedule's action at hand.
const runTaskWorkflow = "RunTask"

// ChainSignal is an upstream run's end: the last attempt of its fire.
type ChainSignal struct {
	Task       string
	RunID      int64
	WorkflowID string
	Status     tasktype.RunStatus
}

// ChainGateInput is what a gate waits for: the upstreams (a snapshot of
// the task's after when the gate started) whose runs for LogicalDate must
// end as Condition says, until Until.
type ChainGateInput struct {
	Task        string
	LogicalDate time.Time
	Condition   tasktype.AfterCondition
	Upstreams   []string
	// Until is when the gate gives up: the end of the logical date's
	// period plus the chain wait (SCHETASK_CHAIN_WAIT).
	Until time.Time
	// Wait is the chain wait, for the message when the gate gives up.
	Wait time.Duration
}

// compactTime is the logical date's form in workflow ids.
const compactTime = "20060102T150405Z"

// GateWorkflowID is the workflow id of task's gate for logicalDate.
func GateWorkflowID(prefix, task string, logicalDate time.Time) string {
	return prefix + task + "-after-" + logicalDate.UTC().Format(compactTime)
}

// ChainRunWorkflowID is the workflow id of the run a gate starts: one per
// task and logical date, ever.
func ChainRunWorkflowID(prefix, task string, logicalDate time.Time) string {
	return prefix + task + "-chain-" + logicalDate.UTC().Format(compactTime)
}

// chainPeriod is the period of a task's logical dates: its rule's, or
// for a task without one the largest of its upstreams' (an unknown
// upstream, or a loop, counts a day).
func chainPeriod(tasks map[string]tasktype.Task, name string) time.Duration {
	return periodOf(tasks, name, map[string]bool{})
}

func periodOf(tasks map[string]tasktype.Task, name string, seen map[string]bool) time.Duration {
	t, ok := tasks[name]
	if !ok || seen[name] {
		return 24 * time.Hour
	}
	if p, ok := rule.Period(t.Rule); ok {
		return p
	}
	seen[name] = true
	var p time.Duration
	for _, u := range t.After {
		p = max(p, periodOf(tasks, u, seen))
	}
	if p == 0 {
		return 24 * time.Hour
	}
	return p
}

// taskLocation is a task's time zone (UTC when it cannot be read).
func taskLocation(t tasktype.Task) *time.Location {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// tasksByName reads every task, by name.
func (a *Activities) tasksByName(ctx context.Context) (map[string]tasktype.Task, error) {
	list, err := a.Store.ListTasks(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]tasktype.Task, len(list))
	for _, t := range list {
		m[t.Name] = t
	}
	return m, nil
}

// errNoSchedule says a task has no schedule to take a run's input from.
var errNoSchedule = errors.New("the task has no schedule (see its sync state)")

// startTaskRun starts RunTask for a task as its schedule would (the
// schedule's action input and settings), with the chain's logical date
// and upstream runs, under workflowID: a second start of the same id is
// taken for done, also after that run ended.
func (a *Activities) startTaskRun(ctx context.Context, task, workflowID string, logicalDate time.Time, upstream []int64) error {
	if a.Temporal == nil {
		return errors.New("no Temporal client")
	}
	desc, err := a.Temporal.ScheduleClient().GetHandle(ctx, a.ScheduleIDPrefix+task).Describe(ctx)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return errNoSchedule
	}
	if err != nil {
		return fmt.Errorf("describe the schedule of %q: %w", task, err)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || len(action.Args) != 1 {
		return fmt.Errorf("%w: the schedule of %q does not start a workflow with one argument", errNoSchedule, task)
	}
	// The input is kept as JSON fields, so this package needs no
	// knowledge of RunTaskInput beyond the two chain fields.
	in := map[string]any{}
	switch arg := action.Args[0].(type) {
	case *commonpb.Payload:
		if err := converter.GetDefaultDataConverter().FromPayload(arg, &in); err != nil {
			return fmt.Errorf("read the schedule's input of %q: %w", task, err)
		}
	default:
		return fmt.Errorf("the schedule of %q has an argument of type %T", task, arg)
	}
	in["LogicalDate"] = logicalDate.UTC()
	in["UpstreamRuns"] = upstream
	delete(in, "Params")
	wf := action.Workflow
	if name, ok := wf.(string); !ok || name == "" {
		wf = runTaskWorkflow
	}
	_, err = a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                action.TaskQueue,
		WorkflowExecutionTimeout: action.WorkflowExecutionTimeout,
		WorkflowRunTimeout:       action.WorkflowRunTimeout,
		WorkflowTaskTimeout:      action.WorkflowTaskTimeout,
		RetryPolicy:              action.RetryPolicy,
		TypedSearchAttributes:    action.TypedSearchAttributes,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		Memo:                     map[string]any{"started_by": "chain"},
	}, wf, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start a run of %q: %w", task, err)
	}
	return nil
}

// upstreamEnvName is the variable holding an upstream's history folder.
func upstreamEnvName(task string) string {
	var b strings.Builder
	b.WriteString("SCHETASK_UPSTREAM_HISTORY_")
	for _, r := range strings.ToUpper(task) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
