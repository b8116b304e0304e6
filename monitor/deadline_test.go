package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// deadlineWorld writes rows for one deadline scenario: runs (numbered #1,
// #2… in the order they are written) and chain waits.
type deadlineWorld struct {
	t  *testing.T
	st *store.Store
}

// run writes a run of task scheduled at sched (and for logical date ld
// unless zero) that started at sched and ended at end (nil: running)
// with status and exit code.
func (w deadlineWorld) run(task string, sched, ld time.Time, end *time.Time, status tasktype.RunStatus, exit *int) {
	w.t.Helper()
	var logical *time.Time
	if !ld.IsZero() {
		logical = &ld
	}
	id := fmt.Sprintf("%s-%d", task, sched.UnixNano())
	exec(w.t, w.st, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time,
			start_time, end_time, status, exit_code, logical_date)
		VALUES ($1, $2, $2, $2, $3, $3, $4, $5, $6, $7)`, task, id, sched, end, status, exit, logical)
}

// TestCheckDeadlinesSaysWhatTheDatesRunWasDoing plays deadline checks on
// a fake clock against task, run and chain-wait rows in a real database,
// and checks the deadline alerts recorded: one per logical date whose
// run had not succeeded by its deadline, saying which state it was in.
func TestCheckDeadlinesSaysWhatTheDatesRunWasDoing(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	code := func(n int) *int { return &n }
	const hourly = "0 * * * *"
	tests := []struct {
		name     string
		rule     string
		zone     string
		deadline string
		after    []string
		paused   bool
		// changed is when the task was last changed, after t0; zero
		// means half an hour before.
		changed time.Duration
		// upstreams are other tasks, hourly, by name, with their status
		// (paused ones with the note "maintenance").
		upstreams map[string]tasktype.Status
		setup     func(w deadlineWorld)
		checksAt  []time.Duration // after t0
		want      []string        // titles after "not done by its deadline <time>: "
		wantRun   []int64         // the alerts' runs, when not none
	}{
		{name: "on time: none", rule: hourly, deadline: "+10m",
			setup:    func(w deadlineWorld) { w.run("t", t0, t0, at(5*time.Minute), tasktype.RunSucceeded, code(0)) },
			checksAt: []time.Duration{10*time.Minute + 5*time.Second, 30 * time.Minute}},
		{name: "a run of another date does not count", rule: hourly, deadline: "+10m",
			setup: func(w deadlineWorld) {
				w.run("t", t0.Add(-time.Hour), t0.Add(-time.Hour), at(5*time.Minute), tasktype.RunSucceeded, code(0))
			},
			checksAt: []time.Duration{10*time.Minute + 5*time.Second},
			want:     []string{"never started (no run for the fire due at 2026-11-25 10:00:00)"}},
		{name: "runs from before logical dates count by their scheduled time", rule: hourly, deadline: "+10m",
			setup:    func(w deadlineWorld) { w.run("t", t0, time.Time{}, at(5*time.Minute), tasktype.RunSucceeded, code(0)) },
			checksAt: []time.Duration{10*time.Minute + 5*time.Second}},
		{name: "still running, once over several checks", rule: hourly, deadline: "+10m",
			setup:    func(w deadlineWorld) { w.run("t", t0, t0, nil, tasktype.RunRunning, nil) },
			checksAt: []time.Duration{10*time.Minute + 1*time.Second, 10*time.Minute + 5*time.Second, 10*time.Minute + 10*time.Second, 20 * time.Minute},
			want:     []string{"still running (run #1 since 2026-11-25 10:00:00)"}, wantRun: []int64{1}},
		{name: "failed", rule: hourly, deadline: "+10m",
			setup:    func(w deadlineWorld) { w.run("t", t0, t0, at(time.Minute), tasktype.RunFailed, code(3)) },
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"failed (run #1 failed with exit code 3)"}, wantRun: []int64{1}},
		{name: "timed out", rule: hourly, deadline: "+10m",
			setup: func(w deadlineWorld) {
				w.run("t", t0, t0, at(time.Minute), tasktype.RunTimedOut, code(tasktype.ExitTimedOut))
			},
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"failed (run #1 timed out)"}, wantRun: []int64{1}},
		{name: "retrying", rule: hourly, deadline: "+10m",
			setup: func(w deadlineWorld) {
				w.run("t", t0, t0, at(time.Minute), tasktype.RunFailed, code(1))
				exec(w.t, w.st, `UPDATE t_task_exec_list SET retry_at = $1`, t0.Add(12*time.Minute))
			},
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"retrying (run #1 failed with exit code 1; next attempt at 2026-11-25 10:12:00)"}, wantRun: []int64{1}},
		{name: "succeeded after the deadline", rule: hourly, deadline: "+10m",
			setup: func(w deadlineWorld) {
				w.run("t", t0, t0, at(10*time.Minute+3*time.Second), tasktype.RunSucceeded, code(0))
			},
			checksAt: []time.Duration{10*time.Minute + 5*time.Second},
			want:     []string{"succeeded late (run #1 ended 3.0 s after it)"}, wantRun: []int64{1}},
		{name: "late: the fire has not started within the grace", rule: hourly, deadline: "+30s",
			checksAt: []time.Duration{35 * time.Second},
			want:     []string{"late (the run due at 2026-11-25 10:00:00 has not started)"}},
		{name: "a time of day in the task's zone", rule: "0 2 * * *", zone: "Europe/Paris", deadline: "07:00", changed: -24 * time.Hour,
			// 2026-11-25 07:00 CET is 06:00 UTC, four hours before t0.
			checksAt: []time.Duration{-4*time.Hour - time.Second, -4*time.Hour + 5*time.Second},
			want:     []string{"never started (no run for the fire due at 2026-11-25 02:00:00)"}},
		{name: "a time of day before the fire: late", rule: "0 9 * * *", zone: "Europe/Paris", deadline: "07:00", changed: -24 * time.Hour,
			checksAt: []time.Duration{-4*time.Hour + 5*time.Second},
			want:     []string{"late (the run due at 2026-11-25 09:00:00 has not started)"}},
		{name: "a deadline that passed before the task's last change is not checked", rule: "0 9 * * *", zone: "Europe/Paris",
			deadline: "07:00", changed: -3*time.Hour - 30*time.Minute, // 07:30 CET
			checksAt: []time.Duration{-3 * time.Hour}},
		{name: "deadlines past the lookback are not checked", rule: "0 10 * * *", deadline: "+10m", changed: -24 * time.Hour,
			checksAt: []time.Duration{3 * time.Hour}},
		{name: "paused tasks have no deadline", rule: hourly, deadline: "+10m", paused: true,
			checksAt: []time.Duration{11 * time.Minute}},
		{name: "each date its own alert", rule: "0 * * * * *", deadline: "+10s", changed: -10 * time.Second,
			checksAt: []time.Duration{2*time.Minute + 15*time.Second},
			want: []string{"never started (no run for the fire due at 2026-11-25 10:00:00)",
				"never started (no run for the fire due at 2026-11-25 10:01:00)",
				"late (the run due at 2026-11-25 10:02:00 has not started)"}},
		// Chains: t runs only after its upstreams.
		{name: "chain: waiting for an upstream still running", deadline: "+10s", after: []string{"up"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn},
			setup:     func(w deadlineWorld) { w.run("up", t0, t0, nil, tasktype.RunRunning, nil) },
			checksAt:  []time.Duration{15 * time.Second},
			want:      []string{"waiting for upstream up (running: run #1 since 2026-11-25 10:00:00)"}},
		{name: "chain: on time: none", deadline: "+10m", after: []string{"up"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn},
			setup: func(w deadlineWorld) {
				w.run("up", t0, t0, at(time.Minute), tasktype.RunSucceeded, code(0))
				w.run("t", t0, t0, at(2*time.Minute), tasktype.RunSucceeded, code(0))
			},
			checksAt: []time.Duration{11 * time.Minute}},
		{name: "chain: the gate says why it will not run", deadline: "+10m", after: []string{"up"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn},
			setup: func(w deadlineWorld) {
				w.run("up", t0, t0, at(time.Minute), tasktype.RunFailed, code(2))
				w.wait(t0, "not_running", "upstream up failed (run #1)", map[string]store.GateArrival{"up": {RunID: 1, Status: tasktype.RunFailed}})
			},
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"not running: upstream up failed (run #1)"}},
		{name: "chain: one upstream arrived, the other paused", deadline: "+10m", after: []string{"up", "held"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn, "held": tasktype.StatusOff},
			setup: func(w deadlineWorld) {
				w.run("up", t0, t0, at(time.Minute), tasktype.RunSucceeded, code(0))
				w.wait(t0, "waiting", "", map[string]store.GateArrival{"up": {RunID: 1, Status: tasktype.RunSucceeded}})
			},
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"waiting for upstream held (paused: maintenance)"}},
		// A task that does not exist counts a day: the date is midnight.
		{name: "chain: two upstreams hold it up, one of them gone", deadline: "10:10", after: []string{"up", "gone"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn},
			setup: func(w deadlineWorld) {
				w.run("up", t0, t0, at(time.Minute), tasktype.RunFailed, code(4))
			},
			checksAt: []time.Duration{11 * time.Minute},
			want:     []string{"waiting for upstreams up (failed: run #1 failed with exit code 4), gone (deleted)"}},
		{name: "chain: an upstream that has not run", deadline: "+10m", after: []string{"up"},
			upstreams: map[string]tasktype.Status{"up": tasktype.StatusOn},
			checksAt:  []time.Duration{11 * time.Minute},
			want:      []string{"waiting for upstream up (has not run for this date)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testenv.New(t)
			ctx := context.Background()
			for name, status := range tt.upstreams {
				opts := &testenv.TaskOpts{Name: name, Rule: hourly, Status: new(status)}
				if status != tasktype.StatusOn {
					opts.StatusNote = "maintenance"
				}
				testenv.Task(ctx, t, env.Store.Pool(), opts)
			}
			opts := &testenv.TaskOpts{Name: "t", Rule: tt.rule, TimeZone: tt.zone}
			if tt.paused {
				opts.Status = new(tasktype.StatusOff)
			}
			testenv.Task(ctx, t, env.Store.Pool(), opts)
			exec(t, env.Store, `UPDATE t_task_list SET deadline = $1, after = $2 WHERE task_name = 't'`, tt.deadline, append([]string{}, tt.after...))
			if len(tt.after) > 0 {
				exec(t, env.Store, `UPDATE t_task_list SET rule = '' WHERE task_name = 't'`)
			}
			changed := tt.changed
			if changed == 0 {
				changed = -30 * time.Minute
			}
			exec(t, env.Store, `UPDATE t_task_list SET updated_at = $1`, t0.Add(changed))
			if tt.setup != nil {
				tt.setup(deadlineWorld{t: t, st: env.Store})
			}
			var now time.Time
			m := clockedMonitor(t, env, Config{Grace: time.Minute}, []string{"webhook"}, true, &now)
			checkAt(t, &now, t0, tt.checksAt, m.CheckDeadlines)
			var got []string
			var runs []int64
			for _, row := range alertsOfKind(t, env, alert.KindDeadline) {
				_, title, ok := strings.Cut(row.Title, ": ")
				if !ok || !strings.HasPrefix(row.Title, "not done by its deadline ") {
					t.Errorf("title %q", row.Title)
				}
				got = append(got, title)
				if row.ExecID != nil {
					runs = append(runs, *row.ExecID)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("deadline alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if fmt.Sprint(runs) != fmt.Sprint(tt.wantRun) && !(len(runs) == 0 && len(tt.wantRun) == 0) {
				t.Errorf("alerts about runs %v, want %v", runs, tt.wantRun)
			}
		})
	}
}

// wait writes the chain gate's record of task t's logical date ld.
func (w deadlineWorld) wait(ld time.Time, state, reason string, arrived map[string]store.GateArrival) {
	w.t.Helper()
	var upstreams []string
	if err := w.st.Pool().QueryRow(context.Background(), `SELECT after FROM t_task_list WHERE task_name = 't'`).Scan(&upstreams); err != nil {
		w.t.Fatal(err)
	}
	if err := w.st.SetChainWait(context.Background(), store.SetChainWaitParams{TaskName: "t", LogicalDate: ld,
		Condition: tasktype.AfterAllSucceeded, Upstreams: upstreams, Arrived: arrived, State: state, Reason: reason}); err != nil {
		w.t.Fatal(err)
	}
}

// TestDeadlineAlertTextNamesTheDateAndTheDeadline: the alert's text says
// the logical date, the nominal time and the deadline as set and as a
// time, in the task's zone, and the sentence of its state; a second
// date's alert within the repeat window is recorded held back.
func TestDeadlineAlertTextNamesTheDateAndTheDeadline(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "t", Rule: "30 9 * * *", TimeZone: "Europe/Paris"})
	exec(t, env.Store, `UPDATE t_task_list SET deadline = '+2h' WHERE task_name = 't'`)
	exec(t, env.Store, `UPDATE t_task_list SET updated_at = $1`, t0.Add(-72*time.Hour))
	var now time.Time
	m := clockedMonitor(t, env, Config{}, []string{"webhook"}, true, &now)
	// 09:30 CET is 08:30 UTC; +2h is 11:30 CET.
	checkAt(t, &now, t0, []time.Duration{10*time.Hour + 31*time.Minute, 34*time.Hour + 31*time.Minute}, m.CheckDeadlines)
	rows := alertsOfKind(t, env, alert.KindDeadline)
	if len(rows) != 2 {
		t.Fatalf("%d deadline alerts, want 2", len(rows))
	}
	wantTitle := "not done by its deadline 2026-11-25 11:30:00 CET: never started (no run for the fire due at 2026-11-25 09:30:00)"
	wantText := `The run for logical date 2026-11-25 00:00:00 CET (nominal time 2026-11-25 09:30:00 CET) had not succeeded ` +
		`by the task's deadline "+2h", at 2026-11-25 11:30:00 CET. No run started for the fire due at 2026-11-25 09:30:00; ` +
		`the missed-run alert says more when the schedule let it slip.`
	if rows[0].Title != wantTitle || rows[0].Body != wantText || !rows[0].Sent {
		t.Errorf("alert:\n%q\n%q\nsent %v; want:\n%q\n%q", rows[0].Title, rows[0].Body, rows[0].Sent, wantTitle, wantText)
	}
	// A day later, past the 30 minutes' repeat limit: sent again.
	if !rows[1].Sent || !strings.Contains(rows[1].Title, "2026-11-26 11:30:00 CET") {
		t.Errorf("second alert %q sent %v", rows[1].Title, rows[1].Sent)
	}
}

// TestDeadlineRepeatLimit: the deadline alerts of one task obey the repeat
// limit (their own topic): within the window the second is recorded, not
// sent.
func TestDeadlineRepeatLimit(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "t", Rule: "0 * * * * *"})
	exec(t, env.Store, `UPDATE t_task_list SET deadline = '+10s' WHERE task_name = 't'`)
	exec(t, env.Store, `UPDATE t_task_list SET updated_at = $1`, t0.Add(-10*time.Second))
	var now time.Time
	m := clockedMonitor(t, env, Config{}, []string{"webhook"}, true, &now)
	checkAt(t, &now, t0, []time.Duration{15 * time.Second, 75 * time.Second}, m.CheckDeadlines)
	var sent []bool
	for _, r := range alertsOfKind(t, env, alert.KindDeadline) {
		sent = append(sent, r.Sent)
	}
	if fmt.Sprint(sent) != "[true false]" {
		t.Errorf("deadline alerts sent %v, want [true false]", sent)
	}
}

// TestDeadlineFormatIsTheDatabases: tasktype.ParseDeadline accepts
// exactly what t_task_list's deadline_format check does.
func TestDeadlineFormatIsTheDatabases(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "t"})
	for _, in := range []string{"", "00:00", "07:00", "23:59", "24:00", "7:00", "07:60", "19:5", " 07:00", "07:00 ",
		"+1s", "+10s", "+90m", "+2h", "+999999h", "+1000000h", "+0s", "+01m", "+2d", "+h", "+", "+-1h", "2h", "+1.5h", "+2H"} {
		_, parseErr := tasktype.ParseDeadline(in)
		_, dbErr := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET deadline = $1 WHERE task_name = 't'`, in)
		if (parseErr == nil) != (dbErr == nil) {
			t.Errorf("deadline %q: ParseDeadline says %v, the database %v", in, parseErr, dbErr)
		}
		if parseErr != nil && !errors.Is(parseErr, tasktype.ErrInvalidDeadline) {
			t.Errorf("deadline %q: error %v does not wrap ErrInvalidDeadline", in, parseErr)
		}
	}
}
