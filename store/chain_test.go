package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The database refuses a chain that would loop (migration 014's
// t_task_list_chain_cycle), naming the cycle, whoever edits the table.
func TestChainCyclesAreRefusedNamingThem(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	for _, name := range []string{"a", "b", "c", "cleanup"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 * * * *"})
	}
	exec := func(q string) error {
		_, err := pool.Exec(ctx, q)
		return err
	}
	for _, q := range []string{
		`UPDATE t_task_list SET after = '{a}' WHERE task_name = 'b'`,
		`UPDATE t_task_list SET after = '{b}' WHERE task_name = 'c'`,
		`UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'c'`,
		`UPDATE t_task_list SET after = '{a,b}', rule = '' WHERE task_name = 'c'`, // a diamond is no cycle
	} {
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tt := range []struct{ q, want string }{
		{`UPDATE t_task_list SET after = '{c}' WHERE task_name = 'a'`, "chain cycle: a → c → a"},
		{`UPDATE t_task_list SET after = '{b}' WHERE task_name = 'a'`, "chain cycle: a → b → a"},
		{`UPDATE t_task_list SET on_failure = '{a}' WHERE task_name = 'cleanup'`, "chain cycle: cleanup → a → "},
		{`UPDATE t_task_list SET after = '{a}' WHERE task_name = 'a'`, "task a cannot run after or on failure of itself"},
		{`INSERT INTO t_task_list (task_name, rule, after) VALUES ('d', '', '{d}')`, "itself"},
		{`INSERT INTO t_task_list (task_name, rule) VALUES ('e', '')`, "rule_or_after"},
	} {
		err := exec(tt.q)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a refusal saying %q", tt.q, err, tt.want)
		}
	}
}

// chainFixture makes a diamond a → b, a → c, (b, c) → d, d failing runs
// cleanup, e after a and a task gone that does not exist, c paused, and
// x in no chain.
func chainFixture(ctx context.Context, t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	off := tasktype.StatusOff
	for _, name := range []string{"a", "b", "d", "e", "cleanup", "x"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 * * * *"})
	}
	testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: "c", Rule: "0 * * * *", Status: &off})
	for _, q := range []string{
		`UPDATE t_task_list SET after = '{a}' WHERE task_name IN ('b', 'c')`,
		`UPDATE t_task_list SET after = '{c,b}', after_condition = 'all_done', rule = '', on_failure = '{cleanup}', deadline = '07:00' WHERE task_name = 'd'`,
		`UPDATE t_task_list SET after = '{a,gone}' WHERE task_name = 'e'`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// linkNames prints links as the tests compare them: name, and ! for
// missing, ~ for off.
func linkNames(links []store.ChainLink) string {
	var out []string
	for _, l := range links {
		s := l.Name
		if l.Missing {
			s += "!"
		}
		if l.Off {
			s += "~"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestTaskChainListsEdgesBothWays(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	chainFixture(ctx, t, env.Store.Pool())
	for _, tt := range []struct {
		task                                           string
		up, down, onFailure, failureOf, cond, deadline string
	}{
		{task: "a", down: "b c~ e", cond: "all_succeeded"},
		{task: "d", up: "c~ b", onFailure: "cleanup", cond: "all_done", deadline: "07:00"},
		{task: "e", up: "a gone!", cond: "all_succeeded"},
		{task: "cleanup", failureOf: "d", cond: "all_succeeded"},
		{task: "b", up: "a", down: "d", cond: "all_succeeded"},
		{task: "gone", down: "e"}, // no row: only what others say of it
	} {
		c, err := env.Store.TaskChain(ctx, tt.task)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{linkNames(c.Upstreams), linkNames(c.Downstreams), linkNames(c.OnFailure), linkNames(c.FailureOf),
			string(c.Condition), c.Deadline}
		want := []string{tt.up, tt.down, tt.onFailure, tt.failureOf, tt.cond, tt.deadline}
		if !slices.Equal(got, want) {
			t.Errorf("TaskChain(%s) = up, down, on failure, failure of, condition, deadline %q, want %q", tt.task, got, want)
		}
		if !c.InChain() {
			t.Errorf("TaskChain(%s).InChain() = false", tt.task)
		}
	}
	if c, err := env.Store.TaskChain(ctx, "x"); err != nil || c.InChain() {
		t.Errorf("TaskChain(x) = %+v, %v; want no edges", c, err)
	}
}

func TestConnectedChainWalksEdgesEitherWayBounded(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	chainFixture(ctx, t, env.Store.Pool())
	edgeList := func(g store.ChainGraph) string {
		var out []string
		for _, e := range g.Edges {
			out = append(out, e.From+">"+e.To+":"+string(e.Kind))
		}
		return strings.Join(out, " ")
	}
	// From the far end of an on_failure edge, against every arrow.
	g, err := env.Store.ConnectedChain(ctx, "cleanup", 200)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := linkNames(g.Tasks), "a b c~ cleanup d e gone!"; got != want || g.Truncated {
		t.Errorf("chain of cleanup: tasks %q truncated %v, want %q, not truncated", got, g.Truncated, want)
	}
	if got, want := edgeList(g), "a>b:after a>c:after a>e:after b>d:after c>d:after d>cleanup:on_failure gone>e:after"; got != want {
		t.Errorf("chain of cleanup: edges %q, want %q", got, want)
	}
	if g, err := env.Store.ConnectedChain(ctx, "x", 200); err != nil || linkNames(g.Tasks) != "x" || len(g.Edges) != 0 {
		t.Errorf("chain of x = %+v, %v; want x alone", g, err)
	}
	// Bounded: the nearest tasks, and only the edges among them.
	g, err = env.Store.ConnectedChain(ctx, "d", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tasks) != 3 || !g.Truncated || !slices.ContainsFunc(g.Tasks, func(l store.ChainLink) bool { return l.Name == "d" }) {
		t.Errorf("chain of d bounded to 3: %+v truncated %v, want 3 tasks with d, truncated", g.Tasks, g.Truncated)
	}
	for _, e := range g.Edges {
		if !slices.ContainsFunc(g.Tasks, func(l store.ChainLink) bool { return l.Name == e.From }) ||
			!slices.ContainsFunc(g.Tasks, func(l store.ChainLink) bool { return l.Name == e.To }) {
			t.Errorf("chain of d bounded to 3: edge %+v leaves the tasks %s", e, linkNames(g.Tasks))
		}
	}
}

func TestChainWaitsRunsAndLogicalDates(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	chainFixture(ctx, t, pool)
	day1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	run := func(task string, day time.Time, status string, start time.Time) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `
			INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
				end_time, status, logical_date)
			VALUES ($1, $5, 'wf-' || $1 || $5, 'r', $2, $3, $3, $4, $2) RETURNING id`, task, day, start, status, start.Format(time.RFC3339)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	b1 := run("b", day1, "succeeded", day1.Add(time.Hour))
	c1 := run("c", day1, "failed", day1.Add(time.Hour))
	c1again := run("c", day1, "succeeded", day1.Add(2*time.Hour))
	run("b", day2, "succeeded", day2.Add(time.Hour))
	run("x", day1, "succeeded", day1.Add(time.Hour))
	for _, q := range []struct {
		day                    time.Time
		arrived, state, reason string
	}{
		{day1, fmt.Sprintf(`{"c": {"run_id": %d, "status": "succeeded", "workflow_id": "wc"}, "b": {"run_id": %d, "status": "succeeded", "workflow_id": "wb"}}`, c1again, b1), "started", ""},
		{day2, `{}`, "not_running", "upstream c is paused"},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO t_chain_wait (task_name, logical_date, condition, upstreams, arrived, state, reason)
			VALUES ('d', $1, 'all_done', '{c,b}', $2, $3, $4)`, q.day, q.arrived, q.state, q.reason); err != nil {
			t.Fatal(err)
		}
	}
	waits, err := env.Store.RecentChainWaits(ctx, "d", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 2 || !waits[0].LogicalDate.Equal(day2) || waits[0].State != "not_running" ||
		waits[0].Reason != "upstream c is paused" || !slices.Equal(waits[0].Pending(), []string{"c", "b"}) {
		t.Fatalf("newest wait of d = %+v, want day 2 not_running for c being paused, c and b pending", waits)
	}
	w := waits[1]
	if len(w.Arrived) != 2 || w.Arrived[0] != (store.ArrivedRun{Task: "c", RunID: c1again, Status: "succeeded", WorkflowID: "wc"}) ||
		w.Arrived[1].Task != "b" || w.Arrived[1].RunID != b1 || len(w.Pending()) != 0 {
		t.Errorf("older wait of d arrived %+v pending %v, want c then b (the order of after), none pending", w.Arrived, w.Pending())
	}
	if waits, err := env.Store.RecentChainWaits(ctx, "d", 1); err != nil || len(waits) != 1 {
		t.Errorf("RecentChainWaits(d, 1) = %d waits, %v; want the limit", len(waits), err)
	}
	on, err := env.Store.ChainWaitsOn(ctx, []string{"b", "d"}, day2)
	if err != nil || len(on) != 1 || on["d"].State != "not_running" {
		t.Errorf("ChainWaitsOn(b d, day 2) = %+v, %v; want d's", on, err)
	}
	runs, err := env.Store.RunsForLogicalDate(ctx, []string{"b", "c", "d"}, day1)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if want := []int64{b1, c1again, c1}; !slices.Equal(ids, want) {
		t.Errorf("runs of b c d for day 1 = %v, want %v (by task, newest first; not day 2's, not x's)", ids, want)
	}
	dates, err := env.Store.RecentLogicalDates(ctx, "d", 10)
	if err != nil || len(dates) != 2 || !dates[0].Equal(day2) || !dates[1].Equal(day1) {
		t.Errorf("logical dates of d = %v, %v; want day 2, day 1 (from its waits)", dates, err)
	}
	dates, err = env.Store.RecentLogicalDates(ctx, "c", 10)
	if err != nil || len(dates) != 1 || !dates[0].Equal(day1) {
		t.Errorf("logical dates of c = %v, %v; want day 1 once (from its runs)", dates, err)
	}
}

// A deep chain without a cycle is checked in a walk over its tasks, not
// over its paths: 30 layers of two tasks, each after both of the layer
// before, have 2^30 paths, which the check must not list.
func TestChainCycleCheckIsLinearInTheChain(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	for layer := range 30 {
		for _, side := range []string{"l", "r"} {
			name := fmt.Sprintf("%s%02d", side, layer)
			after := "{}"
			if layer > 0 {
				after = fmt.Sprintf("{l%02d,r%02d}", layer-1, layer-1)
			}
			if _, err := pool.Exec(ctx, `INSERT INTO t_task_list (task_name, rule, after) VALUES ($1, '0 * * * *', $2)`, name, after); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Saving the first task again walks everything below it; a listing of
	// paths would run for hours, and the statement timeout stops it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = '20s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'l00'`); err != nil {
		t.Fatalf("a deep chain without a cycle: %v", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE t_task_list SET after = '{l29}' WHERE task_name = 'l00'`); err == nil ||
		!strings.Contains(err.Error(), "chain cycle: l00 → ") {
		t.Fatalf("the cycle through 30 layers: %v", err)
	}
}
