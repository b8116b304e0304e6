//go:build faults

// The fault suite (`make test-faults`): schetask under the failures a
// production deployment meets. Each case checks the runs against the
// rule's fire times: no fire run twice, none lost without a record, no
// task process left behind.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// faultDuration reads a duration knob, for longer runs by hand.
func faultDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// requireNoDoubles fails when any fire of the task has two runs.
func requireNoDoubles(t *testing.T, s *system, task string) {
	t.Helper()
	rows, err := s.env.Store.Pool().Query(context.Background(), `SELECT scheduled_time, count(*) FROM t_task_exec_list
		WHERE task_name = $1 AND attempt = 1 GROUP BY scheduled_time HAVING count(*) > 1`, task)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var n int
		if err := rows.Scan(&at, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s: the fire at %s ran %d times", task, at.Format(time.RFC3339), n)
	}
}

// requireFires checks that every fire of the rule in [from, to] has a run
// of the task, except those allowed to be missing.
func requireFires(t *testing.T, s *system, task, ruleText string, from, to time.Time, allowMissing func(time.Time) bool) int {
	t.Helper()
	r, err := rule.Parse(ruleText)
	if err != nil {
		t.Fatal(err)
	}
	times, err := s.env.Store.ScheduledTimes(context.Background(), task, from, to)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[int64]bool{}
	for _, at := range times {
		ran[at.Unix()] = true
	}
	n := 0
	for at := r.Next(from.Add(-time.Nanosecond), time.UTC); !at.After(to); at = r.Next(at, time.UTC) {
		n++
		if !ran[at.Unix()] && (allowMissing == nil || !allowMissing(at)) {
			t.Errorf("%s: the fire at %s has no run", task, at.Format(time.RFC3339))
		}
	}
	return n
}

// requireNoOrphans checks that no process of the task's runs is alive.
func requireNoOrphans(t *testing.T, s *system, task string) {
	t.Helper()
	var pids []int
	for _, r := range s.runs(t, task) {
		if r.PID != nil {
			pids = append(pids, *r.PID)
		}
	}
	requireGone(t, pids...)
}

// steadyWithGrandchild runs 2 s, leaving a grandchild that left its
// process group (setsid) and would sleep 600 s; its pid goes to the log.
const steadyWithGrandchild = `#!/bin/sh
echo start
setsid sleep 600 &
echo "grandchild $!"
sleep 2
echo done
`

// grandchildOf reads the grandchild pid a run of steadyWithGrandchild
// wrote to its log, waiting for it.
func grandchildOf(t *testing.T, s *system, r tasktype.Run) int {
	t.Helper()
	var pid int
	testenv.Eventually(t, 10*time.Second, func() string {
		b, err := os.ReadFile(s.layout.Abs(r.LogPath))
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "grandchild "); ok {
				if pid, err = strconv.Atoi(v); err == nil {
					return ""
				}
			}
		}
		return fmt.Sprintf("run %d's log names no grandchild: %q", r.ID, b)
	})
	return pid
}

// TestFaultWorkerKilledWhileAnotherIsAlive: kill -9 one of two workers
// mid-run. Its run ends lost, the survivor kills the orphaned process
// tree (a grandchild that would sleep 600 s) and runs every later fire;
// nothing runs twice and no task process is left.
func TestFaultWorkerKilledWhileAnotherIsAlive(t *testing.T) {
	s := startSystem(t, false)
	const ruleText = "*/3 * * * * *"
	s.writeTask(t, "steady", map[string]string{"index.sh": steadyWithGrandchild})
	a := startWorkerProcess(t, s, "SCHETASK_MAX_CONCURRENT_RUNS=1")
	startWorkerProcess(t, s, "SCHETASK_MAX_CONCURRENT_RUNS=1")
	from := time.Now().Add(2 * time.Second)
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: ruleText})

	// Wait for a run on worker a, then kill a.
	var victim tasktype.Run
	testenv.Eventually(t, 60*time.Second, func() string {
		for _, r := range s.runs(t, "steady") {
			if r.Status != tasktype.RunRunning || r.PID == nil {
				continue
			}
			var wpid int
			if err := s.env.Store.Pool().QueryRow(context.Background(), `SELECT coalesce(worker_pid, 0) FROM t_task_exec_list WHERE id = $1`, r.ID).Scan(&wpid); err == nil && wpid == a.Process.Pid {
				victim = r
				return ""
			}
		}
		return "no run on worker a yet"
	})
	grandchild := grandchildOf(t, s, victim)
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = a.Wait()
	if !pidAlive(grandchild) {
		t.Fatalf("grandchild %d died with its worker; this test needs it orphaned", grandchild)
	}
	lost := s.waitRun(t, "steady", 30*time.Second, "was declared lost", func(r tasktype.Run) bool {
		return r.ID == victim.ID && r.Status == tasktype.RunLost
	})
	// Only the surviving worker's reaper can end it: it would sleep 600 s.
	requireGone(t, *lost.PID, grandchild)
	t.Logf("orphaned grandchild %d gone %s after its worker was killed", grandchild, time.Since(killed).Round(time.Millisecond))
	time.Sleep(faultDuration("SCHETASK_FAULT_AFTER", 12*time.Second))
	to := time.Now().Add(-3 * time.Second)
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'steady'`)
	testenv.Eventually(t, 20*time.Second, func() string {
		for _, r := range s.runs(t, "steady") {
			if r.Status == tasktype.RunRunning {
				return fmt.Sprintf("run %d still running", r.ID)
			}
		}
		return ""
	})
	requireNoDoubles(t, s, "steady")
	// Fires while worker a's slot was taken by the lost run may have been
	// skipped (overlap skip); every other fire ran.
	n := requireFires(t, s, "steady", ruleText, from, to, func(at time.Time) bool {
		return at.After(victim.ScheduledTime) && at.Before(killed.Add(s.env.Config.HeartbeatTimeout+3*time.Second))
	})
	for _, r := range s.runs(t, "steady") {
		if r.ID != victim.ID && r.Status != tasktype.RunSucceeded {
			t.Errorf("run %d: %s %q", r.ID, r.Status, r.Error)
		}
	}
	requireNoOrphans(t, s, "steady")
	requireNoTaskProcesses(t, s, 10*time.Second)
	t.Logf("%d fires checked; run %d lost with its worker, the rest succeeded on the other", n, victim.ID)
}

// TestFaultTemporalDownForAMinute stops the Temporal server (with its
// state on disk) for SCHETASK_FAULT_OUTAGE (60 s), then starts it again.
func TestFaultTemporalDownForAMinute(t *testing.T) {
	temporalOutage(t, faultDuration("SCHETASK_FAULT_OUTAGE", time.Minute), func(o *ownTemporal) func() {
		o.stop()
		return o.start
	})
}

// TestFaultTemporalPausedForHalfAMinute freezes the Temporal server
// (SIGSTOP, as a hung host or a long GC pause: connections stay open and
// nothing answers) for SCHETASK_FAULT_PAUSE (30 s), then resumes it.
func TestFaultTemporalPausedForHalfAMinute(t *testing.T) {
	temporalOutage(t, faultDuration("SCHETASK_FAULT_PAUSE", 30*time.Second), func(o *ownTemporal) func() {
		if err := o.server.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := o.server.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// onTimeAfterOutage is how soon after Temporal answers again every fire
// runs on time (issue #15: within 5 s).
const onTimeAfterOutage = 5 * time.Second

// temporalOutage takes Temporal away for outage across the fires of a
// */2 task (down takes it away and returns what brings it back) and checks
// the recovery: exactly one catch-up run (the overlap policy, skip, drops
// the other missed fires while it runs), every fire due from 5 s after
// Temporal answered again run, nothing run twice, fires older than the
// catch-up window not run late, and the monitor's missed alerts naming
// only fires that have no run.
func temporalOutage(t *testing.T, outage time.Duration, down func(*ownTemporal) func()) {
	temporal := newOwnTemporal(t)
	s := startSystem(t, true, temporal.use, func(env *testenv.Env) {
		// The monitor reports a fire missed once Temporal's catch-up
		// window (10 s here) and 5 s more have passed.
		env.Config.MissedGrace = 5 * time.Second
	})
	const ruleText = "*/2 * * * * *"
	s.writeTask(t, "steady", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: ruleText})
	first := s.waitRun(t, "steady", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	from := first.ScheduledTime

	back := down(temporal)
	gone := time.Now()
	time.Sleep(outage)
	back()
	// When Temporal answers again: a call that succeeds.
	testenv.Eventually(t, 30*time.Second, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := s.env.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return err.Error()
		}
		return ""
	})
	up := time.Now()
	s.waitRun(t, "steady", 60*time.Second, "succeeded after the outage", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.StartTime.After(up)
	})
	// Past the monitor's wait for the outage's fires (catch-up window +
	// 5 s) and one more check.
	window := s.env.Config.CatchupWindow
	time.Sleep(time.Until(up.Add(max(30*time.Second, window+5*time.Second+2*s.env.Config.MonitorInterval))))
	to := time.Now().Add(-3 * time.Second)
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'steady'`)

	requireNoDoubles(t, s, "steady")
	// Fires from the outage may be missing (the monitor reports them);
	// from 5 s after Temporal answered, none.
	requireFires(t, s, "steady", ruleText, from, to, func(at time.Time) bool {
		return at.After(gone.Add(-2*time.Second)) && at.Before(up.Add(onTimeAfterOutage))
	})
	runs := s.runs(t, "steady")
	ran := map[int64]bool{}
	var caughtUp []tasktype.Run
	var firstOnTime *tasktype.Run
	for _, r := range runs {
		ran[r.ScheduledTime.Unix()] = true
		if r.StartTime.After(gone) && r.StartTime.Before(up.Add(10*time.Second)) {
			t.Logf("run %d: due %s after Temporal answered, started %s after", r.ID,
				r.ScheduledTime.Sub(up).Round(time.Millisecond), r.StartTime.Sub(up).Round(time.Millisecond))
		}
		if r.StartTime.After(up) && r.ScheduledTime.Before(up) {
			caughtUp = append(caughtUp, r)
			if lag := r.StartTime.Sub(r.ScheduledTime); lag > window+20*time.Second {
				t.Errorf("run %d of the fire at %s started %s late, past the %s catch-up window", r.ID, r.ScheduledTime, lag, window)
			}
		}
		if !r.ScheduledTime.Before(up) && (firstOnTime == nil || r.ScheduledTime.Before(firstOnTime.ScheduledTime)) {
			firstOnTime = &r
		}
	}
	if len(caughtUp) != 1 {
		t.Errorf("%d runs of fires from the outage started after it (%s); want exactly one catch-up", len(caughtUp), describeRuns(caughtUp))
	}
	if firstOnTime == nil {
		t.Fatal("no run of a fire due after Temporal answered")
	}
	t.Logf("first fire after Temporal answered: due %s after, started %s after its fire",
		firstOnTime.ScheduledTime.Sub(up).Round(time.Millisecond), firstOnTime.StartTime.Sub(firstOnTime.ScheduledTime).Round(time.Millisecond))

	r, err := rule.Parse(ruleText)
	if err != nil {
		t.Fatal(err)
	}
	missedFires := 0
	for _, a := range s.alertRows(t, "steady") {
		if a.Kind != "missed" {
			continue
		}
		first, last, n, err := missedRange(a.Title)
		if err != nil {
			t.Fatal(err)
		}
		// The alert names first and last and counts the fires between:
		// exactly the rule's fires in that range that have no run.
		want := 0
		for at := first; !at.After(last); at = r.Next(at, time.UTC) {
			if ran[at.Unix()] {
				if at.Equal(first) || at.Equal(last) {
					t.Errorf("missed alert %q names the fire at %s, which ran", a.Title, at)
				}
				continue
			}
			want++
		}
		if n != want {
			t.Errorf("missed alert %q counts %d fires; %d of the rule's fires in its range have no run", a.Title, n, want)
		}
		missedFires += n
	}
	if missedFires == 0 {
		t.Error("no missed-run alert for the outage")
	}
	requireNoOrphans(t, s, "steady")
	t.Logf("outage %s: %d catch-up run, %d missed fires alerted", outage, len(caughtUp), missedFires)
}

// missedRange reads the fires a missed alert's title names: "missed the
// run due at T" or "missed N runs due from T1 to T2" (times in UTC).
func missedRange(title string) (first, last time.Time, n int, err error) {
	const layout = "2006-01-02 15:04:05 MST"
	title = strings.TrimPrefix(title, "still missing runs: ")
	if rest, ok := strings.CutPrefix(title, "missed the run due at "); ok {
		first, err = time.Parse(layout, rest)
		return first, first, 1, err
	}
	var a, b string
	var d1, d2 string
	if _, err := fmt.Sscanf(title, "missed %d runs due from %s %s UTC to %s %s UTC", &n, &a, &d1, &b, &d2); err != nil {
		return first, last, 0, fmt.Errorf("missed alert title %q: %w", title, err)
	}
	if first, err = time.Parse(layout, a+" "+d1+" UTC"); err != nil {
		return first, last, 0, err
	}
	last, err = time.Parse(layout, b+" "+d2+" UTC")
	return first, last, n, err
}

// TestFaultPostgresRestartedMidRun restarts Postgres while a run goes on:
// the run finishes, and its row is complete afterwards; later fires run.
func TestFaultPostgresRestartedMidRun(t *testing.T) {
	ctx := context.Background()
	// The postgres user must reach the data folder: not under t.TempDir's 0700 parent.
	dir, err := os.MkdirTemp("", "schetask-fault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	pgOpts := devstack.PostgresOptions{Dir: filepath.Join(dir, "pg"), Port: testenv.FreePort(), Logger: slog.New(slog.DiscardHandler)}
	pg, err := devstack.StartPostgres(ctx, pgOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	s := startSystem(t, true, func(env *testenv.Env) {
		st, err := store.Open(ctx, pg.URL())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		env.Store, env.Config.DatabaseURL = st, pg.URL()
	})
	s.writeTask(t, "slow", map[string]string{
		"index.sh": "echo start; echo to stderr >&2; mkdir -p publish; echo v > publish/out.txt; sleep 8; echo done\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "slow", Rule: "*/20 * * * * *"})
	run := s.waitRun(t, "slow", 40*time.Second, "is running", func(r tasktype.Run) bool { return r.Status == tasktype.RunRunning && r.PID != nil })

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(faultDuration("SCHETASK_FAULT_PG_DOWN", 4*time.Second))
	if pg, err = devstack.StartPostgres(ctx, pgOpts); err != nil {
		t.Fatal(err)
	}
	done := s.waitRun(t, "slow", 60*time.Second, "ended", func(r tasktype.Run) bool { return r.ID == run.ID && r.Status != tasktype.RunRunning })
	if done.Status != tasktype.RunSucceeded || done.EndTime == nil || done.ExitCode == nil || *done.ExitCode != 0 ||
		done.StderrLines != 1 || done.LogBytes == 0 || done.HistoryPath == "" || len(done.PublishedFiles) != 1 {
		t.Errorf("run row after the restart is incomplete: %+v", done)
	}
	// stdout and stderr are separate pipes: their lines may interleave either way.
	if b, err := os.ReadFile(s.layout.Abs(done.LogPath)); err != nil || len(b) != len("start\nto stderr\ndone\n") ||
		!strings.Contains(string(b), "start\n") || !strings.Contains(string(b), "to stderr\n") || !strings.HasSuffix(string(b), "done\n") {
		t.Errorf("log %q, %v", b, err)
	}
	s.waitRun(t, "slow", 60*time.Second, "ran after the restart", func(r tasktype.Run) bool {
		return r.ID > run.ID && r.Status == tasktype.RunSucceeded
	})
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'slow'`)
	requireNoDoubles(t, s, "slow")
	requireNoOrphans(t, s, "slow")
}

// TestFaultChurnOfAThousandTasks creates, edits, pauses and deletes among
// 1,000 task names for SCHETASK_FAULT_CHURN (60 s) while tasks run; then
// the schedules must match the table exactly.
func TestFaultChurnOfAThousandTasks(t *testing.T) {
	s := startSystem(t, true)
	ctx := context.Background()
	churn := faultDuration("SCHETASK_FAULT_CHURN", time.Minute)
	s.writeTask(t, "steady", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: "*/2 * * * * *"})
	rules := []string{"0 0 1 1 *", "0 0 2 1 *", "0 30 9 * * 1-5", "0 0 1 * 1", "15 */6 * * *"}
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("churn-%04d", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ops := 0
	for start := time.Now(); time.Since(start) < churn; ops++ {
		name := names[rng.IntN(len(names))]
		var err error
		switch rng.IntN(4) {
		case 0: // raw SQL, as the other edits: the factory has no ON CONFLICT
			_, err = s.env.Store.Pool().Exec(ctx, `INSERT INTO t_task_list (task_name, rule, task_status) VALUES ($1, $2, 0)
				ON CONFLICT (task_name) DO NOTHING`, name, rules[rng.IntN(len(rules))])
		case 1:
			_, err = s.env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET rule = $2 WHERE task_name = $1`, name, rules[rng.IntN(len(rules))])
		case 2:
			_, err = s.env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET task_status = 1 - task_status WHERE task_name = $1 AND task_status < 2`, name)
		case 3:
			_, err = s.env.Store.Pool().Exec(ctx, `DELETE FROM t_task_list WHERE task_name = $1`, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if ops%50 == 0 {
			time.Sleep(20 * time.Millisecond) // about 1,500 changes a minute, and bursts
		}
	}
	t.Logf("%d changes in %s", ops, churn)

	// Converged: a fresh reconcile finds nothing to write.
	check := newSyncer(t, s)
	testenv.Eventually(t, 3*time.Minute, func() string {
		st, err := check.ReconcileAll(ctx)
		if err != nil {
			return err.Error()
		}
		if st.Writes() > 0 {
			return fmt.Sprintf("a fresh reconcile still writes: %+v", st)
		}
		return ""
	})
	// And exactly: every row has its schedule in the row's state, every other name none.
	tasks, err := s.env.Store.ListTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exists := map[string]tasktype.Task{}
	for _, task := range tasks {
		exists[task.Name] = task
	}
	sc := s.env.Temporal.ScheduleClient()
	for _, name := range names {
		desc, err := sc.GetHandle(ctx, s.env.Config.ScheduleIDPrefix+name).Describe(ctx)
		task, ok := exists[name]
		var nf *serviceerror.NotFound
		switch {
		case !ok && errors.As(err, &nf):
		case !ok:
			t.Errorf("%s: deleted row, schedule still there (%v)", name, err)
		case err != nil:
			t.Errorf("%s: row without schedule: %v", name, err)
		case desc.Schedule.State.Paused != (task.Status != tasktype.StatusOn):
			t.Errorf("%s: status %d, schedule paused %v", name, task.Status, desc.Schedule.State.Paused)
		}
	}
	requireNoDoubles(t, s, "steady")
	t.Logf("%d rows and their schedules agree after %d changes", len(tasks), ops)
}

// TestFaultTaskOutlivesItsPeriod runs a task that takes longer than its
// period under each overlap policy and checks what each promises.
func TestFaultTaskOutlivesItsPeriod(t *testing.T) {
	s := startSystem(t, true)
	const ruleText = "* * * * * *"
	policies := []string{"skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"}
	for _, p := range policies {
		s.writeTask(t, "ov-"+p, map[string]string{"index.sh": "echo start; sleep 2.5; echo done\n"})
		s.insertTask(t, &testenv.TaskOpts{Name: "ov-" + p, Rule: ruleText, Overlap: tasktype.OverlapPolicy(p)})
	}
	from := time.Now()
	time.Sleep(faultDuration("SCHETASK_FAULT_OVERLAP", 10*time.Second))
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name LIKE 'ov-%'`)
	stopped := time.Now()
	for _, p := range policies {
		name := "ov-" + p
		var runs []tasktype.Run
		testenv.Eventually(t, 90*time.Second, func() string {
			runs = s.runs(t, name)
			for _, r := range runs {
				if r.Status == tasktype.RunRunning {
					return fmt.Sprintf("%s: run %d still running", name, r.ID)
				}
			}
			return ""
		})
		sort.Slice(runs, func(i, j int) bool { return runs[i].ScheduledTime.Before(runs[j].ScheduledTime) })
		requireNoDoubles(t, s, name)
		requireNoOrphans(t, s, name)
		overlaps, byStatus := 0, map[tasktype.RunStatus]int{}
		for i, r := range runs {
			byStatus[r.Status]++
			if i > 0 && r.ProcessStartTime != nil && runs[i-1].EndTime != nil && r.ProcessStartTime.Before(runs[i-1].EndTime.Add(-100*time.Millisecond)) {
				overlaps++
			}
		}
		fires := int(stopped.Sub(from).Seconds())
		summary := fmt.Sprintf("%s: %d runs for ~%d fires, %d overlapping, %v", p, len(runs), fires, overlaps, byStatus)
		t.Log(summary)
		switch p {
		case "skip", "buffer_one", "buffer_all":
			if overlaps > 0 || byStatus[tasktype.RunSucceeded] != len(runs) || len(runs) < 2 {
				t.Errorf("%s: want runs one after another, all succeeded", summary)
			}
			if p == "skip" && len(runs) > fires/2+1 {
				t.Errorf("%s: skip ran more than one fire per run length", summary)
			}
		case "cancel_other", "terminate_other":
			if byStatus[tasktype.RunKilled] == 0 {
				t.Errorf("%s: want earlier runs killed by later fires", summary)
			}
		case "allow_all":
			if overlaps == 0 || byStatus[tasktype.RunSucceeded] != len(runs) || len(runs) < fires-2 {
				t.Errorf("%s: want every fire run, overlapping, all succeeded", summary)
			}
		}
	}
	requireNoTaskProcesses(t, s, 10*time.Second)
}
