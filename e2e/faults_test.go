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
		WHERE task_name = $1 GROUP BY scheduled_time HAVING count(*) > 1`, task)
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
// Fires older than the catch-up window at the restart are not run late;
// the monitor records them as missed; runs resume; nothing runs twice.
func TestFaultTemporalDownForAMinute(t *testing.T) {
	outage := faultDuration("SCHETASK_FAULT_OUTAGE", time.Minute)
	temporal := newOwnTemporal(t)
	s := startSystem(t, true, temporal.use)
	const ruleText = "*/2 * * * * *"
	s.writeTask(t, "steady", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: ruleText})
	first := s.waitRun(t, "steady", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	from := first.ScheduledTime

	temporal.stop()
	down := time.Now()
	time.Sleep(outage)
	temporal.start()
	up := time.Now()
	s.waitRun(t, "steady", 60*time.Second, "succeeded after the restart", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.StartTime.After(up)
	})
	time.Sleep(time.Until(up.Add(30 * time.Second)))
	to := time.Now().Add(-3 * time.Second)
	s.exec(t, `UPDATE t_task_list SET task_status = 0 WHERE task_name = 'steady'`)

	requireNoDoubles(t, s, "steady")
	window := s.env.Config.CatchupWindow
	// Fires from the outage, and the first seconds after it while the
	// scheduler and the workers' pollers (backing off) reconnect, may be
	// missing; the monitor reports them.
	requireFires(t, s, "steady", ruleText, from, to, func(at time.Time) bool {
		return at.After(down.Add(-2*time.Second)) && at.Before(up.Add(20*time.Second))
	})
	// How soon after Temporal answered again the schedule was back on
	// time: the first fire due after it, and the first fire from which
	// none is missing.
	var firstOnTime *tasktype.Run
	for _, r := range s.runs(t, "steady") {
		if r.StartTime.After(down) && r.StartTime.Before(up.Add(10*time.Second)) {
			t.Logf("run %d: due %s after Temporal answered, started %s after", r.ID,
				r.ScheduledTime.Sub(up).Round(time.Millisecond), r.StartTime.Sub(up).Round(time.Millisecond))
		}
		if !r.ScheduledTime.Before(up) && (firstOnTime == nil || r.ScheduledTime.Before(firstOnTime.ScheduledTime)) {
			firstOnTime = &r
		}
	}
	if firstOnTime != nil {
		t.Logf("first fire after Temporal answered: due %s after, started %s after its fire",
			firstOnTime.ScheduledTime.Sub(up).Round(time.Millisecond), firstOnTime.StartTime.Sub(firstOnTime.ScheduledTime).Round(time.Millisecond))
	}
	late := 0
	for _, r := range s.runs(t, "steady") {
		if r.StartTime.After(up) && r.ScheduledTime.Before(down.Add(-2*time.Second)) {
			t.Errorf("run %d: a fire from before the outage (%s) ran after it", r.ID, r.ScheduledTime)
		}
		if r.StartTime.After(up) && r.ScheduledTime.Before(up) {
			late++
			if lag := r.StartTime.Sub(r.ScheduledTime); lag > window+20*time.Second {
				t.Errorf("run %d of the fire at %s started %s late, past the %s catch-up window", r.ID, r.ScheduledTime, lag, window)
			}
		}
	}
	alerts := s.alertRows(t, "steady")
	missed := 0
	for _, a := range alerts {
		if a.Kind == "missed" {
			missed++
		}
	}
	if missed == 0 {
		t.Error("no missed-run alert for the outage")
	}
	requireNoOrphans(t, s, "steady")
	t.Logf("outage %s: %d fires caught up within the %s window, %d missed alerts", outage, late, window, missed)
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
