package tasksync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// specHashMemo is the schedule action's memo key holding the spec hash.
const specHashMemo = "schetask_spec_hash"

// desired is the schedule a task should have.
type desired struct {
	spec    client.ScheduleSpec
	input   workflows.RunTaskInput
	overlap enumspb.ScheduleOverlapPolicy
	timeout time.Duration // the workflow's execution timeout, a backstop
	// catchup is the schedule's catch-up window: the configured one, or
	// less for a rule whose fires come closer together (catchupWindow).
	catchup  time.Duration
	paused   bool
	hash     string
	taskName string
}

var overlapPolicies = map[tasktype.OverlapPolicy]enumspb.ScheduleOverlapPolicy{
	tasktype.OverlapSkip:           enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	tasktype.OverlapBufferOne:      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	tasktype.OverlapBufferAll:      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	tasktype.OverlapCancelOther:    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	tasktype.OverlapTerminateOther: enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	tasktype.OverlapAllowAll:       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// desiredSchedule translates a task row into its schedule, or says why it
// cannot be.
func (s *Syncer) desiredSchedule(t tasktype.Task) (desired, error) {
	if err := tasktype.ValidateName(t.Name); err != nil {
		return desired{}, err
	}
	r, spec, err := s.desiredSpec(t)
	if err != nil {
		return desired{}, err
	}
	overlap, ok := overlapPolicies[t.Overlap]
	if !ok {
		return desired{}, fmt.Errorf("unknown overlap policy %q", t.Overlap)
	}
	in := workflows.RunTaskInput{
		TaskName: t.Name, TimeZone: t.TimeZone, Timeout: t.Timeout, TimeoutAction: t.TimeoutAction,
		HeartbeatTimeout: s.cfg.HeartbeatTimeout, KillGrace: s.cfg.KillGrace, MaxRunDuration: s.cfg.MaxRunDuration,
	}
	limit := t.Timeout
	if limit <= 0 {
		limit = s.cfg.MaxRunDuration
	}
	attempts := time.Duration(1)
	if t.Retry.Max > 0 {
		retry := t.Retry
		in.Retry = &retry
		attempts += time.Duration(retry.Max)
	}
	d := desired{
		catchup: catchupWindow(s.cfg.CatchupWindow, r),
		spec:    spec, input: in, overlap: overlap, paused: t.Status != tasktype.StatusOn, taskName: t.Name,
		// Past the exec backstop and the grace period of every attempt,
		// the waits between them, time for the hooks, and an hour for
		// telling the chain of the end through a database or Temporal
		// outage (NotifyChain retries until it can).
		timeout: attempts*(limit+s.cfg.KillGrace) + t.Retry.Waits() + hooksAllowance,
	}
	b, err := json.Marshal(struct {
		Spec          client.ScheduleSpec
		Input         workflows.RunTaskInput
		Overlap       enumspb.ScheduleOverlapPolicy
		Timeout       time.Duration
		CatchupWindow time.Duration
		TaskQueue     string
	}{d.spec, d.input, d.overlap, d.timeout, d.catchup, s.cfg.TaskQueue})
	if err != nil {
		return desired{}, fmt.Errorf("hash spec: %w", err)
	}
	sum := sha256.Sum256(b)
	d.hash = hex.EncodeToString(sum[:12])
	return d, nil
}

// hooksAllowance is what a run's workflow may take past its attempts:
// its hooks, and telling its chain of its end.
const hooksAllowance = 5*time.Minute + time.Hour

// desiredSpec is the schedule spec of a task's rule. A task that runs
// only after others (an empty rule, after set) gets a schedule with no
// spec: it never fires by itself, but run now, backfill and kill work as
// for any task, and its input is what its chained runs start with.
func (s *Syncer) desiredSpec(t tasktype.Task) (rule.Rule, client.ScheduleSpec, error) {
	if strings.TrimSpace(t.Rule) == "" && len(t.After) > 0 {
		if _, err := tasktype.ValidateTimeZone(t.TimeZone); err != nil {
			return rule.Rule{}, client.ScheduleSpec{}, err
		}
		return rule.Rule{}, client.ScheduleSpec{TimeZoneName: t.TimeZone}, nil
	}
	// Parse refuses a rule that never fires, and Spec a zone that is not
	// an IANA name or UTC ("Local" would be the Temporal host's zone).
	r, err := rule.Parse(t.Rule)
	if err != nil {
		return r, client.ScheduleSpec{}, err
	}
	// The spec of a fixed-time rule carries the next DST transitions, so
	// it changes (and the schedule is updated) a day after each passes.
	spec, err := r.Spec(t.TimeZone, s.now())
	return r, spec, err
}

// MinCatchupWindow is the shortest catch-up window Temporal takes.
const MinCatchupWindow = 10 * time.Second

// catchupWindow is the catch-up window of a rule's schedule: the
// configured one, but no longer than the shortest gap between two of the
// rule's fires (and not under Temporal's 10 s). After an outage Temporal
// starts the oldest missed fire inside the window and the overlap policy
// drops the rest; a window no longer than the gap holds at most one fire,
// so what runs is the latest missed fire, never an older one.
func catchupWindow(configured time.Duration, r rule.Rule) time.Duration {
	return min(configured, max(MinCatchupWindow, r.MinGap()))
}

// now reads the Syncer's clock.
func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// action is the schedule's workflow action for d.
func (s *Syncer) action(d desired) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                       s.scheduleID(d.taskName),
		Workflow:                 workflows.RunTask,
		Args:                     []any{d.input},
		TaskQueue:                s.cfg.TaskQueue,
		WorkflowExecutionTimeout: d.timeout,
		Memo:                     map[string]any{specHashMemo: d.hash},
	}
}
