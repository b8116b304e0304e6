package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// TestRunTaskNotifiesTheChainOnceAfterItsLastAttempt: a fire whose first
// attempt fails and second succeeds tells its chain once, that it
// succeeded, with its scheduled time: never per attempt.
func TestRunTaskNotifiesTheChainOnceAfterItsLastAttempt(t *testing.T) {
	t.Parallel()
	exits := []int{7, 0}
	fr := &fakeRun{}
	fr.exec = func(context.Context) (activities.ExecTaskResult, error) {
		code := exits[0]
		exits = exits[1:]
		return activities.ExecTaskResult{ExitCode: code}, nil
	}
	env := setup(t, fr)
	logical := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	env.ExecuteWorkflow(RunTask, RunTaskInput{TaskName: "a", HeartbeatTimeout: 10 * time.Second, MaxRunDuration: time.Hour,
		Retry: &tasktype.Retry{Max: 2, Delay: time.Second, Backoff: 2, MaxDelay: time.Hour}, LogicalDate: &logical})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(fr.notified) != 1 {
		t.Fatalf("NotifyChain called %d times, want once: %+v", len(fr.notified), fr.notified)
	}
	n := fr.notified[0]
	if n.Task != "a" || n.Status != tasktype.RunSucceeded || n.RunID != 7 || !n.ScheduledTime.Equal(logical) {
		t.Errorf("NotifyChain(%+v), want task a, run 7, succeeded, scheduled at the logical date %s", n, logical)
	}
}

// TestRunTaskNotifiesTheChainOfAFailure: the failed fire's end reaches
// the chain too (its on_failure tasks and the gates, which say why their
// task does not run).
func TestRunTaskNotifiesTheChainOfAFailure(t *testing.T) {
	t.Parallel()
	fr := &fakeRun{exec: func(context.Context) (activities.ExecTaskResult, error) {
		return activities.ExecTaskResult{ExitCode: 3}, nil
	}}
	env := setup(t, fr)
	env.ExecuteWorkflow(RunTask, RunTaskInput{TaskName: "a", HeartbeatTimeout: 10 * time.Second, MaxRunDuration: time.Hour})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(fr.notified) != 1 || fr.notified[0].Status != tasktype.RunFailed {
		t.Fatalf("NotifyChain calls %+v, want one, failed", fr.notified)
	}
}

// gateCalls records what a gate did.
type gateCalls struct {
	started  []activities.StartChainRunInput
	recorded []activities.RecordChainWaitInput
	// notRunning, when set, is StartChainRun's answer (a paused task).
	notRunning string
	// earlier are the arrivals an earlier gate of the date recorded.
	earlier map[string]store.GateArrival
}

func gateEnv(t *testing.T, calls *gateCalls) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(ChainGate)
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.StartChainRunInput) (activities.StartChainRunResult, error) {
		calls.started = append(calls.started, in)
		if calls.notRunning != "" {
			return activities.StartChainRunResult{NotRunning: calls.notRunning}, nil
		}
		return activities.StartChainRunResult{WorkflowID: "task-b-chain-x"}, nil
	}, activityName("StartChainRun"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.RecordChainWaitInput) error {
		arrived := map[string]store.GateArrival{}
		for k, v := range in.Arrived {
			arrived[k] = v
		}
		in.Arrived = arrived
		calls.recorded = append(calls.recorded, in)
		return nil
	}, activityName("RecordChainWait"))
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.ChainArrivalsInput) (map[string]store.GateArrival, error) {
		return calls.earlier, nil
	}, activityName("ChainArrivals"))
	return env
}

func TestChainGate(t *testing.T) {
	t.Parallel()
	type signal struct {
		after time.Duration
		s     ChainSignal
	}
	ok := func(task string, run int64) ChainSignal {
		return ChainSignal{Task: task, RunID: run, Status: tasktype.RunSucceeded}
	}
	failed := func(task string, run int64) ChainSignal {
		return ChainSignal{Task: task, RunID: run, Status: tasktype.RunFailed}
	}
	tests := []struct {
		desc       string
		cond       tasktype.AfterCondition
		upstreams  []string
		signals    []signal
		notRunning string
		earlier    map[string]store.GateArrival
		// wantStarted are the upstream runs of each start, in order.
		wantStarted [][]int64
		// wantLast is the last state recorded, and a piece of its reason.
		wantLast, wantReason string
	}{
		{desc: "one upstream succeeds: starts once with its run", upstreams: []string{"a"},
			signals: []signal{{0, ok("a", 12)}}, wantStarted: [][]int64{{12}}, wantLast: store.ChainStarted},
		{desc: "all_succeeded waits for the later upstream", upstreams: []string{"a", "c"},
			signals:     []signal{{0, ok("a", 12)}, {5 * time.Second, ok("c", 15)}},
			wantStarted: [][]int64{{12, 15}}, wantLast: store.ChainStarted},
		{desc: "all_succeeded with a failed upstream does not run, says why", upstreams: []string{"a", "c"},
			signals:  []signal{{0, ok("a", 12)}, {5 * time.Second, failed("c", 15)}},
			wantLast: store.ChainNotRunning, wantReason: "upstream c failed (run #15)"},
		{desc: "a failed upstream re-run to success starts it once", upstreams: []string{"a"},
			signals:     []signal{{0, failed("a", 12)}, {time.Minute, ok("a", 13)}, {2 * time.Minute, ok("a", 14)}},
			wantStarted: [][]int64{{13}}, wantLast: store.ChainStarted},
		{desc: "a later failure does not replace a success", upstreams: []string{"a", "c"},
			signals:     []signal{{0, ok("a", 12)}, {time.Second, failed("a", 13)}, {2 * time.Second, ok("c", 15)}},
			wantStarted: [][]int64{{12, 15}}, wantLast: store.ChainStarted},
		{desc: "any_succeeded starts after the first success", cond: tasktype.AfterAnySucceeded, upstreams: []string{"a", "c"},
			signals:     []signal{{0, ok("a", 12)}},
			wantStarted: [][]int64{{12}}, wantLast: store.ChainStarted},
		{desc: "any_succeeded with every upstream failed does not run", cond: tasktype.AfterAnySucceeded, upstreams: []string{"a", "c"},
			signals:  []signal{{0, failed("a", 12)}, {time.Second, failed("c", 15)}},
			wantLast: store.ChainNotRunning, wantReason: "upstream a failed (run #12)"},
		{desc: "all_done runs after a failure too", cond: tasktype.AfterAllDone, upstreams: []string{"a", "c"},
			signals:     []signal{{0, failed("a", 12)}, {time.Second, ok("c", 15)}},
			wantStarted: [][]int64{{12, 15}}, wantLast: store.ChainStarted},
		{desc: "an upstream that never reports: gives up at the end of the wait", upstreams: []string{"a", "c"},
			signals:  []signal{{0, ok("a", 12)}},
			wantLast: store.ChainNotRunning},
		{desc: "a paused task is reported not running", upstreams: []string{"a"}, notRunning: "b is paused",
			signals: []signal{{0, ok("a", 12)}}, wantStarted: [][]int64{{12}}, wantLast: store.ChainNotRunning, wantReason: "b is paused"},
		{desc: "a gate opened again goes on from the ends the last one counted", upstreams: []string{"a", "c"},
			earlier:     map[string]store.GateArrival{"a": {RunID: 12, Status: tasktype.RunSucceeded}},
			signals:     []signal{{0, ok("c", 15)}},
			wantStarted: [][]int64{{12, 15}}, wantLast: store.ChainStarted},
		{desc: "an earlier success stands against a later failed re-run", upstreams: []string{"a"},
			earlier:     map[string]store.GateArrival{"a": {RunID: 12, Status: tasktype.RunSucceeded}},
			signals:     []signal{{0, failed("a", 13)}},
			wantStarted: [][]int64{{12}}, wantLast: store.ChainStarted},
		{desc: "a task that is no upstream is ignored", upstreams: []string{"a"},
			signals:     []signal{{0, ok("x", 9)}, {time.Second, ok("a", 12)}},
			wantStarted: [][]int64{{12}}, wantLast: store.ChainStarted},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			calls := &gateCalls{notRunning: tt.notRunning, earlier: tt.earlier}
			env := gateEnv(t, calls)
			// The first signal comes with the start (SignalWithStart).
			for _, s := range tt.signals {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalUpstreamEnded, s.s) }, s.after)
			}
			cond := tt.cond
			if cond == "" {
				cond = tasktype.AfterAllSucceeded
			}
			start := env.Now()
			env.ExecuteWorkflow(ChainGate, ChainGateInput{Task: "b", LogicalDate: start.Truncate(24 * time.Hour),
				Condition: cond, Upstreams: tt.upstreams, Until: start.Add(time.Hour), Wait: time.Hour})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var got [][]int64
			for _, s := range calls.started {
				got = append(got, s.UpstreamRuns)
			}
			if len(got) != len(tt.wantStarted) {
				t.Fatalf("started %v, want %v", got, tt.wantStarted)
			}
			for i := range got {
				if len(got[i]) != len(tt.wantStarted[i]) {
					t.Fatalf("started %v, want %v", got, tt.wantStarted)
				}
				for j := range got[i] {
					if got[i][j] != tt.wantStarted[i][j] {
						t.Fatalf("started %v, want %v", got, tt.wantStarted)
					}
				}
			}
			if len(calls.recorded) == 0 {
				t.Fatal("the gate recorded no state")
			}
			last := calls.recorded[len(calls.recorded)-1]
			if last.State != tt.wantLast || !strings.Contains(last.Reason, tt.wantReason) {
				t.Errorf("last state %s %q, want %s with %q", last.State, last.Reason, tt.wantLast, tt.wantReason)
			}
			if tt.wantLast == store.ChainNotRunning && tt.wantReason == "" && !last.Expired {
				t.Errorf("last state %+v, want the gate to have given up waiting", last)
			}
		})
	}
}
