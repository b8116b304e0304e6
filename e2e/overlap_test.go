package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// gated runs until a file named "open" appears in its folder.
const gated = `#!/bin/sh
echo "start $SCHETASK_RUN_ID"
while [ ! -f open ]; do sleep 0.05; done
echo done
`

// overlapOutcome is what three fires of one task, two of them while the
// first still ran, left behind.
type overlapOutcome struct {
	runs    []tasktype.Run // by process start
	actions int            // runs the schedule started
	skipped int            // fires it skipped for the overlap
}

func (o overlapOutcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d started, %d skipped:", o.actions, o.skipped)
	for _, r := range o.runs {
		fmt.Fprintf(&b, " [%d %s %q]", r.ID, r.Status, r.Error)
	}
	return b.String()
}

// count counts the runs with status st whose error contains text.
func (o overlapOutcome) count(st tasktype.RunStatus, text string) int {
	n := 0
	for _, r := range o.runs {
		if r.Status == st && strings.Contains(r.Error, text) {
			n++
		}
	}
	return n
}

// overlapping counts runs whose process started before the previous
// run's ended.
func (o overlapOutcome) overlapping() int {
	n := 0
	for i := 1; i < len(o.runs); i++ {
		prev, r := o.runs[i-1], o.runs[i]
		if r.ProcessStartTime != nil && prev.EndTime != nil && r.ProcessStartTime.Before(*prev.EndTime) {
			n++
		}
	}
	return n
}

// lastSucceeded reports whether the newest run succeeded.
func (o overlapOutcome) lastSucceeded() bool {
	return len(o.runs) > 0 && o.runs[len(o.runs)-1].Status == tasktype.RunSucceeded
}

// overlapPromises is, for each policy, what only it does with three
// fires, the second and third while the first runs: each check fails on
// the outcome of every other policy (the test checks that too).
var overlapPromises = map[tasktype.OverlapPolicy]func(o overlapOutcome) string{
	tasktype.OverlapSkip: func(o overlapOutcome) string {
		if len(o.runs) != 1 || o.count(tasktype.RunSucceeded, "") != 1 || o.skipped != 2 {
			return "want the first fire run and the two during it skipped"
		}
		return ""
	},
	tasktype.OverlapBufferOne: func(o overlapOutcome) string {
		if len(o.runs) != 2 || o.count(tasktype.RunSucceeded, "") != 2 || o.overlapping() != 0 || o.skipped != 1 {
			return "want two runs one after the other, the third fire skipped"
		}
		return ""
	},
	tasktype.OverlapBufferAll: func(o overlapOutcome) string {
		if len(o.runs) != 3 || o.count(tasktype.RunSucceeded, "") != 3 || o.overlapping() != 0 {
			return "want three runs one after the other, all succeeded"
		}
		return ""
	},
	tasktype.OverlapCancelOther: func(o overlapOutcome) string {
		if o.runs[0].Status != tasktype.RunKilled || o.count(tasktype.RunKilled, "workflow cancelled") == 0 ||
			o.count(tasktype.RunKilled, "terminated") != 0 || o.overlapping() != 0 || !o.lastSucceeded() {
			return "want the first run cancelled (its end hook recording it), no two at once, the last succeeded"
		}
		return ""
	},
	tasktype.OverlapTerminateOther: func(o overlapOutcome) string {
		if len(o.runs) != 3 || o.runs[0].Status != tasktype.RunKilled || o.count(tasktype.RunKilled, "workflow terminated") != 2 ||
			!o.lastSucceeded() {
			return "want each fire to start at once, terminating the run before it"
		}
		return ""
	},
	tasktype.OverlapAllowAll: func(o overlapOutcome) string {
		if len(o.runs) != 3 || o.count(tasktype.RunSucceeded, "") != 3 || o.overlapping() != 2 {
			return "want three runs side by side, all succeeded"
		}
		return ""
	},
}

// TestEachOverlapPolicyDoesWhatOnlyItDoes fires a task three times, the
// second and third while the first still runs, under each overlap
// policy, and checks the outcome against every policy's promise: its own
// must hold and every other must fail, so no two policies can be swapped
// unnoticed.
func TestEachOverlapPolicyDoesWhatOnlyItDoes(t *testing.T) {
	t.Parallel()
	policies := []tasktype.OverlapPolicy{tasktype.OverlapSkip, tasktype.OverlapBufferOne, tasktype.OverlapBufferAll,
		tasktype.OverlapCancelOther, tasktype.OverlapTerminateOther, tasktype.OverlapAllowAll}
	if len(policies) != len(overlapPromises) {
		t.Fatalf("%d policies, %d promises", len(policies), len(overlapPromises))
	}
	outcomes := make(chan struct {
		p tasktype.OverlapPolicy
		o overlapOutcome
	}, len(policies))
	t.Run("policies", func(t *testing.T) {
		for _, p := range policies {
			t.Run(string(p), func(t *testing.T) {
				t.Parallel()
				o := fireThreeTimesDuringOneRun(t, p)
				t.Logf("%s: %s", p, o)
				if why := overlapPromises[p](o); why != "" {
					t.Errorf("%s: %s; got %s", p, why, o)
				}
				outcomes <- struct {
					p tasktype.OverlapPolicy
					o overlapOutcome
				}{p, o}
			})
		}
	})
	close(outcomes)
	got := map[tasktype.OverlapPolicy]overlapOutcome{}
	for x := range outcomes {
		got[x.p] = x.o
	}
	if len(got) != len(policies) {
		t.Fatalf("outcomes of %d policies of %d", len(got), len(policies))
	}
	for _, p := range policies {
		for _, q := range policies {
			if p != q && overlapPromises[p](got[q]) == "" {
				t.Errorf("the promise of %s also holds for %s (%s): swapping them would pass", p, q, got[q])
			}
		}
	}
}

// fireThreeTimesDuringOneRun runs a gated task under the policy, fires it
// three times while the gate is shut, opens the gate and returns what
// happened once every run has ended.
func fireThreeTimesDuringOneRun(t *testing.T, p tasktype.OverlapPolicy) overlapOutcome {
	t.Helper()
	ctx := context.Background()
	s := startSystem(t, true)
	name := "ov-" + strings.ReplaceAll(string(p), "_", "-")
	dir := s.writeTask(t, name, map[string]string{"index.sh": gated})
	s.insertTask(t, &testenv.TaskOpts{Name: name, Rule: never, Overlap: p})
	h := s.env.Temporal.ScheduleClient().GetHandle(ctx, s.control.ScheduleID(name))
	info := func() (actions, skipped, running int) {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d.Info.NumActions, d.Info.NumActionsSkippedOverlap, len(d.Info.RunningWorkflows)
	}

	s.runNow(t, name)
	first := s.waitRun(t, name, 20*time.Second, "is running with a pid", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunRunning && r.PID != nil
	})
	for range 2 {
		// Temporal names a triggered run after the second it fires in:
		// one trigger a second, or two fires would share a workflow id.
		time.Sleep(1200 * time.Millisecond)
		s.runNow(t, name)
	}
	// What the policy did with the two fires shows before the gate opens
	// where it can be seen; buffer_all's buffered fires run the same
	// whenever it gets them.
	testenv.Eventually(t, 20*time.Second, func() string {
		actions, skipped, running := info()
		runs := s.runs(t, name)
		alive := 0
		for _, r := range runs {
			if r.Status == tasktype.RunRunning && r.PID != nil && pidAlive(*r.PID) {
				alive++
			}
		}
		state := fmt.Sprintf("%s: %d started, %d skipped, %d running workflows, %d live processes; runs %s",
			p, actions, skipped, running, alive, describeRuns(runs))
		var ready bool
		switch p {
		case tasktype.OverlapSkip:
			ready = skipped == 2
		case tasktype.OverlapBufferOne:
			ready = skipped == 1
		case tasktype.OverlapBufferAll:
			ready = true
		case tasktype.OverlapCancelOther:
			ready = s.runsWith(t, name, tasktype.RunKilled) > 0 && alive == 1
		case tasktype.OverlapTerminateOther:
			ready = actions == 3 && alive > 0
		case tasktype.OverlapAllowAll:
			ready = alive == 3
		}
		if !ready {
			return state
		}
		t.Log("before the gate opens: " + state)
		return ""
	})
	if err := os.WriteFile(filepath.Join(dir, "open"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var o overlapOutcome
	testenv.Eventually(t, 30*time.Second, func() string {
		actions, skipped, running := info()
		runs := s.runs(t, name)
		o = overlapOutcome{runs: runs, actions: actions, skipped: skipped}
		for _, r := range runs {
			if r.Status == tasktype.RunRunning {
				return fmt.Sprintf("run %d still running: %s", r.ID, o)
			}
		}
		if running > 0 || actions+skipped < 3 || actions != len(runs) {
			return fmt.Sprintf("schedule not settled (%d running): %s", running, o)
		}
		return ""
	})
	sort.Slice(o.runs, func(i, j int) bool {
		return o.runs[i].ProcessStartTime != nil && o.runs[j].ProcessStartTime != nil &&
			o.runs[i].ProcessStartTime.Before(*o.runs[j].ProcessStartTime)
	})
	if o.runs[0].ID != first.ID {
		t.Errorf("the first run by process start is %d, not the first fire's %d", o.runs[0].ID, first.ID)
	}
	requireNoTaskProcesses(t, s, 10*time.Second)
	return o
}

// runsWith counts the task's runs in status st.
func (s *system) runsWith(t *testing.T, name string, st tasktype.RunStatus) int {
	t.Helper()
	n := 0
	for _, r := range s.runs(t, name) {
		if r.Status == st {
			n++
		}
	}
	return n
}
