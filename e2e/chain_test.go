package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
)

// chainTask deploys a task that runs only after others (no rule) with
// the given condition ("" for the default, all_succeeded).
func (s *system) chainTask(t *testing.T, name string, after []string, cond tasktype.AfterCondition, script string) {
	t.Helper()
	s.writeTask(t, name, map[string]string{"index.sh": script})
	s.insertTask(t, &testenv.TaskOpts{Name: name})
	if cond == "" {
		cond = tasktype.AfterAllSucceeded
	}
	s.exec(t, `UPDATE t_task_list SET rule = '', after = $2, after_condition = $3 WHERE task_name = $1`, name, after, string(cond))
}

// chainWait is the newest t_chain_wait row of a task: its state and
// reason ("" and false when its gate wrote none).
func (s *system) chainWait(t *testing.T, task string) (state, reason string, ok bool) {
	t.Helper()
	err := s.env.Store.Pool().QueryRow(context.Background(), `SELECT state, reason FROM t_chain_wait
		WHERE task_name = $1 ORDER BY logical_date DESC LIMIT 1`, task).Scan(&state, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return state, reason, true
}

// waitChainWait waits for the task's gate to record state with a reason
// holding want.
func (s *system) waitChainWait(t *testing.T, task, state, want string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() string {
		got, reason, ok := s.chainWait(t, task)
		if !ok || got != state || !strings.Contains(reason, want) {
			return fmt.Sprintf("chain wait of %s: %q %q (found %v), want %s with %q", task, got, reason, ok, state, want)
		}
		return ""
	})
}

// waitFireClosed waits for the workflow of a run's fire to close: its
// chain has been told.
func (s *system) waitFireClosed(t *testing.T, r tasktype.Run) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.env.Temporal.GetWorkflow(ctx, r.WorkflowID, "").Get(ctx, nil); err != nil {
		t.Fatalf("fire of run %d: %v", r.ID, err)
	}
}

// requireRunCount checks, past a settling wait, that the task ran
// exactly want times.
func (s *system) requireRunCount(t *testing.T, task string, want int) []tasktype.Run {
	t.Helper()
	time.Sleep(3 * time.Second) // a second start would come within this
	runs := s.runs(t, task)
	if len(runs) != want {
		t.Fatalf("%s ran %d times, want %d: %s", task, len(runs), want, describeRuns(runs))
	}
	return runs
}

// alignToPeriod waits until just after the start of the next period, so
// a run triggered now falls on a logical date of its own.
func alignToPeriod(period time.Duration) {
	next := time.Now().Truncate(period).Add(period)
	time.Sleep(time.Until(next) + 500*time.Millisecond)
}

// Acceptance 1: B (after = [A]) runs once per successful A, with A's run
// id, A's logical date and A's published files in its environment; A
// failing means B does not run and its wait row says why; A retried to
// success means B runs once.
func TestChainRunsAfterEachSuccessOfItsUpstream(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	// Fires only on 1 January; its period (10 s) makes a logical date of
	// each 10 s, so two runs now are two dates.
	const tenSeconds = "0,10,20,30,40,50 0 0 1 1 *"
	s.writeTask(t, "extract", map[string]string{"index.sh": `echo "rows of $SCHETASK_SCHEDULED_TIME" > "$SCHETASK_PUBLISH_DIR/out.txt"` + "\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "extract", Rule: tenSeconds})
	s.chainTask(t, "load", []string{"extract"}, "",
		`echo "runs=$SCHETASK_UPSTREAM_RUNS date=$SCHETASK_LOGICAL_DATE"; cat "$SCHETASK_UPSTREAM_HISTORY_EXTRACT/out.txt"`+"\n")

	s.writeTask(t, "broken", map[string]string{"index.sh": "exit 3\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "broken"})
	s.chainTask(t, "after-broken", []string{"broken"}, "", "echo ran\n")

	s.writeTask(t, "flaky", map[string]string{"index.sh": `[ "$SCHETASK_ATTEMPT" -ge 2 ] || exit 7` + "\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "flaky", Retry: &tasktype.Retry{Max: 2, Delay: time.Second, Backoff: 1}})
	s.chainTask(t, "after-flaky", []string{"flaky"}, "", "echo ran\n")

	s.runNow(t, "broken")
	s.runNow(t, "flaky")
	var extracts []tasktype.Run
	for i := range 2 {
		alignToPeriod(10 * time.Second)
		s.runNow(t, "extract")
		a := s.waitRun(t, "extract", 30*time.Second, fmt.Sprintf("is run %d and succeeded", i+1), func(r tasktype.Run) bool {
			return r.Status == tasktype.RunSucceeded && !slices.ContainsFunc(extracts, func(o tasktype.Run) bool { return o.ID == r.ID })
		})
		extracts = append(extracts, a)
		b := s.waitRun(t, "load", 30*time.Second, fmt.Sprintf("ran after extract run %d", a.ID), func(r tasktype.Run) bool {
			return r.EndTime != nil && slices.Equal(r.UpstreamRuns, []int64{a.ID})
		})
		want := rule.LogicalDate(a.ScheduledTime, 10*time.Second, time.UTC)
		if a.LogicalDate == nil || !a.LogicalDate.Equal(want) || b.LogicalDate == nil || !b.LogicalDate.Equal(want) {
			t.Errorf("logical dates: extract %v, load %v; want both %s", a.LogicalDate, b.LogicalDate, want.UTC())
		}
		if !b.ScheduledTime.Equal(want) {
			t.Errorf("load's scheduled time %s, want its logical date %s", b.ScheduledTime, want)
		}
		log, err := os.ReadFile(s.layout.Abs(b.LogPath))
		if err != nil {
			t.Fatal(err)
		}
		wantLog := fmt.Sprintf("runs=%d date=%s\nrows of %s\n", a.ID, want.UTC().Format(time.RFC3339), a.ScheduledTime.UTC().Format(time.RFC3339))
		if string(log) != wantLog {
			t.Errorf("load's log:\n%s\nwant:\n%s", log, wantLog)
		}
		if b.Status != tasktype.RunSucceeded {
			t.Errorf("load run %d %s: %s", b.ID, b.Status, b.Error)
		}
		s.waitChainWait(t, "load", "started", "")
	}
	for _, a := range extracts {
		s.waitFireClosed(t, a)
	}
	s.requireRunCount(t, "load", 2)

	failed := s.waitRun(t, "broken", 30*time.Second, "failed", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed })
	s.waitChainWait(t, "after-broken", "not_running", fmt.Sprintf("upstream broken failed (run #%d)", failed.ID))
	s.waitFireClosed(t, failed)
	s.requireRunCount(t, "after-broken", 0)

	second := s.waitRun(t, "flaky", 30*time.Second, "succeeded on attempt 2", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.Attempt == 2
	})
	s.waitFireClosed(t, second)
	runs := s.requireRunCount(t, "after-flaky", 1)
	if !slices.Equal(runs[0].UpstreamRuns, []int64{second.ID}) {
		t.Errorf("after-flaky's upstream runs %v, want the last attempt's [%d]", runs[0].UpstreamRuns, second.ID)
	}
}

// Acceptance 2: A and C → B for the same logical date, C 5 s after A:
// with all_succeeded B starts once, after C, and says while it waits that
// it waits for C; with C failing B does not run; with any_succeeded B
// runs after A, once.
func TestChainWaitsForItsCondition(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	for _, name := range []string{"a", "c", "a2", "a3", "c3"} {
		s.writeTask(t, name, map[string]string{"index.sh": "echo ok\n"})
		s.insertTask(t, &testenv.TaskOpts{Name: name})
	}
	s.writeTask(t, "c2", map[string]string{"index.sh": "exit 4\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "c2"})
	s.chainTask(t, "b", []string{"a", "c"}, tasktype.AfterAllSucceeded, "echo ran\n")
	s.chainTask(t, "b2", []string{"a2", "c2"}, tasktype.AfterAllSucceeded, "echo ran\n")
	s.chainTask(t, "b3", []string{"a3", "c3"}, tasktype.AfterAnySucceeded, "echo ran\n")

	for _, name := range []string{"a", "a2", "a3"} {
		s.runNow(t, name)
	}
	a := s.waitRun(t, "a", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	s.waitChainWait(t, "b", "waiting", "waiting for c (c has not ended a run for this date)")
	a3 := s.waitRun(t, "a3", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	b3 := s.waitRun(t, "b3", 30*time.Second, "ran after a3", func(r tasktype.Run) bool { return r.EndTime != nil })
	if !slices.Equal(b3.UpstreamRuns, []int64{a3.ID}) {
		t.Errorf("b3's upstream runs %v, want [%d]", b3.UpstreamRuns, a3.ID)
	}

	time.Sleep(time.Until(a.EndTime.Add(5 * time.Second)))
	for _, name := range []string{"c", "c2", "c3"} {
		s.runNow(t, name)
	}
	c := s.waitRun(t, "c", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	b := s.waitRun(t, "b", 30*time.Second, "ran", func(r tasktype.Run) bool { return r.EndTime != nil })
	if !b.StartTime.After(*c.EndTime) || !slices.Equal(b.UpstreamRuns, []int64{a.ID, c.ID}) {
		t.Errorf("b started %s with upstream runs %v; want after c ended (%s), with [%d %d]",
			b.StartTime, b.UpstreamRuns, c.EndTime, a.ID, c.ID)
	}
	c2 := s.waitRun(t, "c2", 30*time.Second, "failed", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed })
	s.waitChainWait(t, "b2", "not_running", fmt.Sprintf("upstream c2 failed (run #%d)", c2.ID))
	c3 := s.waitRun(t, "c3", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	for _, r := range []tasktype.Run{c, c2, c3} {
		s.waitFireClosed(t, r)
	}
	s.requireRunCount(t, "b", 1)
	s.requireRunCount(t, "b2", 0)
	s.requireRunCount(t, "b3", 1)
}

// Acceptance 6: a backfill of A over 3 periods runs B for each of the 3
// logical dates, each after its own A run.
func TestChainBackfillCascades(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	ctx := context.Background()
	s.writeTask(t, "hourly", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "hourly", Rule: "0 * * * *"})
	s.chainTask(t, "report", []string{"hourly"}, "", "echo \"$SCHETASK_LOGICAL_DATE\"\n")
	testenv.Eventually(t, 10*time.Second, func() string { // sync makes the schedule
		_, err := s.env.Temporal.ScheduleClient().GetHandle(ctx, s.env.Config.ScheduleIDPrefix+"hourly").Describe(ctx)
		if err != nil {
			return err.Error()
		}
		return ""
	})
	to := time.Now().Truncate(time.Hour).Add(-time.Second)
	from := to.Add(-3 * time.Hour)
	res, err := s.control.Backfill(ctx, "hourly", from, to, 0, false, "alice", false)
	if err != nil || res.Fires != 3 {
		t.Fatalf("backfill: %+v, %v; want 3 fires", res, err)
	}
	var reports []tasktype.Run
	testenv.Eventually(t, 90*time.Second, func() string {
		reports = reports[:0]
		for _, r := range s.runs(t, "report") {
			if r.EndTime != nil {
				reports = append(reports, r)
			}
		}
		if len(reports) < 3 {
			return "fewer than 3 ended runs of report: " + describeRuns(s.runs(t, "report")) +
				"; hourly: " + describeRuns(s.runs(t, "hourly"))
		}
		return ""
	})
	byDate := map[int64]tasktype.Run{}
	for _, a := range s.runs(t, "hourly") {
		if a.BackfillID != nil {
			byDate[a.ScheduledTime.Unix()] = a
		}
	}
	seen := map[int64]bool{}
	for _, b := range reports {
		if b.LogicalDate == nil {
			t.Fatalf("report run %d has no logical date", b.ID)
		}
		a, ok := byDate[b.LogicalDate.Unix()]
		if !ok || !slices.Equal(b.UpstreamRuns, []int64{a.ID}) || seen[b.LogicalDate.Unix()] {
			t.Errorf("report run %d for %s after runs %v: want one per backfilled hour, after that hour's run", b.ID, b.LogicalDate.UTC(), b.UpstreamRuns)
		}
		seen[b.LogicalDate.Unix()] = true
	}
	if len(reports) != 3 || len(byDate) != 3 {
		t.Errorf("%d report runs for %d backfilled hourly runs, want 3 and 3", len(reports), len(byDate))
	}
}

// Acceptance 4: a worker killed with SIGKILL while B waits for C, and a
// new one started: B still runs exactly once when C ends.
func TestChainWaitSurvivesAKilledWorker(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	prefix := "SCHETASK_SCHEDULE_ID_PREFIX=" + s.env.Config.ScheduleIDPrefix
	w := startWorkerProcess(t, s, prefix)
	for _, name := range []string{"a", "c"} {
		s.writeTask(t, name, map[string]string{"index.sh": "echo ok\n"})
		s.insertTask(t, &testenv.TaskOpts{Name: name})
	}
	s.chainTask(t, "b", []string{"a", "c"}, "", "echo ran\n")
	s.runNow(t, "a")
	s.waitChainWait(t, "b", "waiting", "waiting for c")
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Process.Wait()
	startWorkerProcess(t, s, prefix)
	s.runNow(t, "c")
	c := s.waitRun(t, "c", 60*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	s.waitRun(t, "b", 60*time.Second, "ran", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	s.waitFireClosed(t, c)
	s.requireRunCount(t, "b", 1)
}

// Acceptance 4: Temporal restarted while B waits for C: B still runs
// exactly once when C ends.
func TestChainWaitSurvivesATemporalRestart(t *testing.T) {
	t.Parallel()
	temporal := newOwnTemporal(t)
	s := startSystem(t, true, temporal.use)
	for _, name := range []string{"a", "c"} {
		s.writeTask(t, name, map[string]string{"index.sh": "echo ok\n"})
		s.insertTask(t, &testenv.TaskOpts{Name: name})
	}
	s.chainTask(t, "b", []string{"a", "c"}, "", "echo ran\n")
	s.runNow(t, "a")
	a := s.waitRun(t, "a", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	s.waitChainWait(t, "b", "waiting", "waiting for c")
	s.waitFireClosed(t, a)

	temporal.stop()
	temporal.start()
	testenv.Eventually(t, 30*time.Second, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := s.env.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return err.Error()
		}
		return ""
	})
	s.runNow(t, "c")
	c := s.waitRun(t, "c", 60*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	b := s.waitRun(t, "b", 60*time.Second, "ran", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	if want := []int64{a.ID, c.ID}; !slices.Equal(b.UpstreamRuns, want) {
		t.Errorf("b's upstream runs %v, want %v", b.UpstreamRuns, want)
	}
	s.waitFireClosed(t, c)
	s.requireRunCount(t, "b", 1)
}

// on_failure: a task whose fire fails, after its last attempt, starts
// each task of its on_failure list once, with the failed run's id and
// logical date; a success starts none.
func TestOnFailureRunsAfterTheLastAttempt(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "doomed", map[string]string{"index.sh": `[ -f "$SCHETASK_TASK_DIR/ok" ] || exit 5` + "\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "doomed", Retry: &tasktype.Retry{Max: 1, Delay: time.Second, Backoff: 1}})
	s.writeTask(t, "cleanup", map[string]string{"index.sh": `echo "runs=$SCHETASK_UPSTREAM_RUNS date=$SCHETASK_LOGICAL_DATE"` + "\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "cleanup"})
	s.exec(t, `UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'doomed'`)

	s.runNow(t, "doomed")
	last := s.waitRun(t, "doomed", 30*time.Second, "failed on attempt 2", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunFailed && r.Attempt == 2
	})
	c := s.waitRun(t, "cleanup", 30*time.Second, "ran", func(r tasktype.Run) bool { return r.EndTime != nil })
	if !slices.Equal(c.UpstreamRuns, []int64{last.ID}) || c.LogicalDate == nil || last.LogicalDate == nil ||
		!c.LogicalDate.Equal(*last.LogicalDate) {
		t.Errorf("cleanup after runs %v for %v; want [%d] for %v", c.UpstreamRuns, c.LogicalDate, last.ID, last.LogicalDate)
	}
	log, err := os.ReadFile(s.layout.Abs(c.LogPath))
	if want := fmt.Sprintf("runs=%d date=%s\n", last.ID, last.LogicalDate.UTC().Format(time.RFC3339)); err != nil || string(log) != want {
		t.Errorf("cleanup's log %q (%v), want %q", log, err, want)
	}
	s.waitFireClosed(t, last)
	s.requireRunCount(t, "cleanup", 1)

	s.writeTask(t, "doomed", map[string]string{"ok": ""})
	s.runNow(t, "doomed")
	ok := s.waitRun(t, "doomed", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	s.waitFireClosed(t, ok)
	s.requireRunCount(t, "cleanup", 1)
}

// A paused upstream makes its downstream say why it waits and, at the
// end of the chain wait (SCHETASK_CHAIN_WAIT), that it will not run; a
// paused downstream says it is paused rather than run.
func TestChainSaysWhyItDoesNotRun(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true, func(env *testenv.Env) { env.Config.ChainWait = 2 * time.Second })
	const tenSeconds = "0,10,20,30,40,50 0 0 1 1 *"
	off := tasktype.StatusOff
	for _, name := range []string{"a", "c"} {
		s.writeTask(t, name, map[string]string{"index.sh": "echo ok\n"})
	}
	s.insertTask(t, &testenv.TaskOpts{Name: "a", Rule: tenSeconds})
	s.insertTask(t, &testenv.TaskOpts{Name: "c", Rule: tenSeconds, Status: &off})
	s.chainTask(t, "b", []string{"a", "c"}, "", "echo ran\n")
	s.chainTask(t, "held", []string{"a"}, "", "echo ran\n")
	s.exec(t, `UPDATE t_task_list SET task_status = 0, status_note = 'month end' WHERE task_name = 'held'`)

	s.runNow(t, "a")
	s.waitChainWait(t, "b", "waiting", "waiting for c (c is paused)")
	s.waitChainWait(t, "held", "not_running", "held is paused: month end")
	// The date's 10 s and the 2 s wait pass.
	testenv.Eventually(t, 30*time.Second, func() string {
		state, reason, _ := s.chainWait(t, "b")
		if state != "not_running" || reason != "waited 2s; c never reported (c is paused)" {
			return fmt.Sprintf("b: %s %q", state, reason)
		}
		return ""
	})
	s.requireRunCount(t, "b", 0)
	s.requireRunCount(t, "held", 0)
}
