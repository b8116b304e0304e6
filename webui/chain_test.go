package webui_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// hostileUpstream is an upstream name no task can have, which only SQL
// can put in an after list: the console must print it as text.
const hostileUpstream = `<img src=x onerror="alert(1)">&`

// chainDay is the logical date the chain tests' runs are for.
var chainDay = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// chainWorld makes tasks a → b, a → c, (b, c) → d (all_succeeded, rule
// empty, deadline 07:00, on failure cleanup), f after a and the hostile
// name, and x in no chain; it returns a viewer's browser.
func chainWorld(t *testing.T) (*testenv.Env, *browser) {
	t.Helper()
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	for _, name := range []string{"a", "b", "c", "d", "f", "cleanup", "x"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 2 * * *", TimeZone: "Europe/Paris"})
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE t_task_list SET after = '{a}' WHERE task_name IN ('b', 'c')`, nil},
		{`UPDATE t_task_list SET after = '{b,c}', rule = '', on_failure = '{cleanup}', deadline = '07:00' WHERE task_name = 'd'`, nil},
		{`UPDATE t_task_list SET after = ARRAY['a', $1], after_condition = 'any_succeeded' WHERE task_name = 'f'`, []any{hostileUpstream}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	return env, b
}

// chainRun inserts a run of task for the logical date day, started at
// start, with status (and exit code 3 unless it succeeded or runs).
func chainRun(t *testing.T, env *testenv.Env, task string, day time.Time, status tasktype.RunStatus, start time.Time, upstream ...int64) int64 {
	t.Helper()
	var end *time.Time
	exit := 0
	if status != tasktype.RunRunning {
		end = &start
		if status != tasktype.RunSucceeded {
			exit = 3
		}
	}
	var id int64
	if err := env.Store.Pool().QueryRow(context.Background(), `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			end_time, status, exit_code, logical_date, upstream_runs)
		VALUES ($1, $2, 'wf-' || $1 || $2, 'r', $3, $4, $5, $6, $7, $3, $8) RETURNING id`,
		task, start.UTC().Format(time.RFC3339Nano), day, start, end, status, exit, append([]int64{}, upstream...)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// chainWait inserts d's (or task's) wait for its upstreams on day.
func chainWait(t *testing.T, env *testenv.Env, task string, day time.Time, upstreams []string, arrived, state, reason string) {
	t.Helper()
	if _, err := env.Store.Pool().Exec(context.Background(), `
		INSERT INTO t_chain_wait (task_name, logical_date, condition, upstreams, arrived, state, reason, workflow_id)
		VALUES ($1, $2, 'all_succeeded', $3, $4, $5, $6, 'gate-' || $1)`, task, day, upstreams, arrived, state, reason); err != nil {
		t.Fatal(err)
	}
}

// section is the part of a page from the element with id on to the next
// heading of the same level, or to the end.
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest[1:], "<h2"); j >= 0 {
		return rest[:j+1]
	}
	return rest
}

func TestTaskPageShowsChainAndWhyItWaits(t *testing.T) {
	t.Parallel()
	env, b := chainWorld(t)
	a1 := chainRun(t, env, "a", chainDay, tasktype.RunSucceeded, chainDay.Add(2*time.Hour))
	c1 := chainRun(t, env, "c", chainDay, tasktype.RunFailed, chainDay.Add(3*time.Hour), a1)
	b1 := chainRun(t, env, "b", chainDay, tasktype.RunSucceeded, chainDay.Add(3*time.Hour), a1)
	older := chainDay.AddDate(0, 0, -1)
	chainWait(t, env, "d", chainDay, []string{"b", "c"},
		fmt.Sprintf(`{"c": {"run_id": %d, "status": "failed", "workflow_id": "wc"}}`, c1),
		"not_running", fmt.Sprintf("upstream c failed (run #%d)", c1))
	chainWait(t, env, "d", older, []string{"b", "c"},
		fmt.Sprintf(`{"b": {"run_id": %d, "status": "succeeded", "workflow_id": "wb"}}`, b1), "waiting", "")

	code, body, _ := b.do("GET", "/tasks/d", nil)
	if code != 200 {
		t.Fatalf("GET /tasks/d: %d\n%s", code, body)
	}
	chain := section(body, "chain")
	for _, want := range []string{
		`<dd id="upstreams"><a href="/tasks/b">b</a>, <a href="/tasks/c">c</a>, for the same logical date, when all of them have succeeded</dd>`,
		`<dd id="downstreams">—</dd>`,
		`<dd id="on-failure"><a href="/tasks/cleanup">cleanup</a></dd>`,
		`<dd id="deadline">07:00 in Europe/Paris on the logical date`,
		`href="/tasks/d/chain" id="chain-graph"`,
		// The newest wait first: why d is not running, and the run that says so.
		fmt.Sprintf(`<a href="/tasks/d/chain?date=2026-03-02T00%%3a00%%3a00Z">2026-03-02 00:00:00Z</a></td><td class="wait-not_running">not_running</td><td class="reason">upstream c failed (run #%d)</td>`, c1),
		fmt.Sprintf(`c: <a href="/runs/%d">#%d</a> <span class="failed">failed</span>`, c1, c1),
		// The older one still waits for c, b having arrived.
		fmt.Sprintf(`b: <a href="/runs/%d">#%d</a> <span class="succeeded">succeeded</span><br></td><td>c</td>`, b1, b1),
	} {
		if !strings.Contains(chain, want) {
			t.Errorf("d's Chain section lacks %s\n%s", want, chain)
		}
	}
	if i, j := strings.Index(chain, "2026-03-02 00:00:00Z"), strings.Index(chain, "2026-03-01 00:00:00Z"); i < 0 || j < i {
		t.Errorf("d's waits are not newest first:\n%s", chain)
	}

	// Seen from the other ends of the edges.
	for _, tt := range []struct{ task, want string }{
		{"a", `<dd id="downstreams"><a href="/tasks/b">b</a>, <a href="/tasks/c">c</a>, <a href="/tasks/f">f</a></dd>`},
		{"cleanup", `<dd id="failure-of"><a href="/tasks/d">d</a></dd>`},
		{"f", `, <span class="err" title="no task has this name">` + htmlEscape(hostileUpstream) + ` (no such task)</span>, for the same logical date, when any of them has succeeded</dd>`},
	} {
		_, body, _ := b.do("GET", "/tasks/"+tt.task, nil)
		if !strings.Contains(section(body, "chain"), tt.want) {
			t.Errorf("%s's Chain section lacks %s\n%s", tt.task, tt.want, section(body, "chain"))
		}
		if strings.Contains(body, hostileUpstream) {
			t.Errorf("%s's page has the hostile upstream name unescaped", tt.task)
		}
	}
	if _, body, _ := b.do("GET", "/tasks/x", nil); strings.Contains(body, `id="chain"`) {
		t.Errorf("x is in no chain but its page has a Chain section")
	}
}

func TestRunPageShowsLogicalDateAndUpstreamRuns(t *testing.T) {
	t.Parallel()
	env, b := chainWorld(t)
	b1 := chainRun(t, env, "b", chainDay, tasktype.RunSucceeded, chainDay.Add(2*time.Hour))
	c1 := chainRun(t, env, "c", chainDay, tasktype.RunSucceeded, chainDay.Add(2*time.Hour))
	d1 := chainRun(t, env, "d", chainDay, tasktype.RunRunning, chainDay.Add(3*time.Hour), b1, c1)
	_, body, _ := b.do("GET", "/runs/"+strconv.FormatInt(d1, 10), nil)
	for _, want := range []string{
		`<dd id="logical-date"><a href="/tasks/d/chain?date=2026-03-02T00%3a00%3a00Z" title="the chain's runs for this date">2026-03-02 00:00:00Z</a></dd>`,
		fmt.Sprintf(`<dd id="upstream-runs"><a href="/runs/%d">b run #%d</a> (succeeded), <a href="/runs/%d">c run #%d</a> (succeeded)</dd>`, b1, b1, c1, c1),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page of d's run lacks %s\n%s", want, body)
		}
	}
	// An upstream run retention removed is named, not linked.
	d2 := chainRun(t, env, "d", chainDay.Add(24*time.Hour), tasktype.RunRunning, chainDay.Add(27*time.Hour), b1, 987654321)
	_, body, _ = b.do("GET", "/runs/"+strconv.FormatInt(d2, 10), nil)
	if want := fmt.Sprintf(`<a href="/runs/%d">b run #%d</a> (succeeded), run #987654321 (removed by retention)</dd>`, b1, b1); !strings.Contains(body, want) {
		t.Errorf("run page of d's second run lacks %s\n%s", want, body)
	}
	// A run no chain started names no upstream runs.
	_, body, _ = b.do("GET", "/runs/"+strconv.FormatInt(b1, 10), nil)
	if !strings.Contains(body, `id="logical-date"`) || strings.Contains(body, `id="upstream-runs"`) {
		t.Errorf("run page of b's run: want its logical date and no upstream runs\n%s", body)
	}
}

// chainNodeRE is a task's box in the chain graph: its state, name,
// tooltip and left edge.
var chainNodeRE = regexp.MustCompile(`<g class="node node-([a-z-]+)" data-task="([^"]*)"><title>([^<]*)</title><rect x="(\d+)"`)

// chainNodes reads the graph's boxes: name → state, tooltip, x.
func chainNodes(body string) map[string][3]string {
	out := map[string][3]string{}
	for _, m := range chainNodeRE.FindAllStringSubmatch(body, -1) {
		out[html.UnescapeString(m[2])] = [3]string{m[1], html.UnescapeString(m[3]), m[4]}
	}
	return out
}

func TestChainGraphColoursEachTaskByItsRunForTheDate(t *testing.T) {
	t.Parallel()
	env, b := chainWorld(t)
	day := chainDay
	a1 := chainRun(t, env, "a", day, tasktype.RunSucceeded, day.Add(2*time.Hour))
	chainRun(t, env, "b", day, tasktype.RunFailed, day.Add(150*time.Minute), a1)
	b2 := chainRun(t, env, "b", day, tasktype.RunSucceeded, day.Add(3*time.Hour), a1) // a re-run: the newest counts
	c1 := chainRun(t, env, "c", day, tasktype.RunTimedOut, day.Add(3*time.Hour), a1)
	cl := chainRun(t, env, "cleanup", day, tasktype.RunRunning, day.Add(4*time.Hour))
	chainWait(t, env, "d", day, []string{"b", "c"}, "{}", "not_running", fmt.Sprintf("upstream c failed (run #%d)", c1))
	chainWait(t, env, "f", day, []string{"a", hostileUpstream}, "{}", "waiting", "")
	// An older date, where only a ran and d still waited.
	older := day.AddDate(0, 0, -1)
	chainRun(t, env, "a", older, tasktype.RunSucceeded, older.Add(2*time.Hour))
	chainWait(t, env, "d", older, []string{"b", "c"}, "{}", "waiting", "")

	// No date: d's newest.
	code, body, _ := b.do("GET", "/tasks/d/chain", nil)
	if code != 200 {
		t.Fatalf("GET /tasks/d/chain as a viewer: %d\n%s", code, body)
	}
	nodes := chainNodes(body)
	for name, want := range map[string][2]string{
		"a":             {"succeeded", fmt.Sprintf("a: run #%d succeeded", a1)},
		"b":             {"succeeded", fmt.Sprintf("b: run #%d succeeded", b2)},
		"c":             {"failed", fmt.Sprintf("c: run #%d timed_out (exit code 3)", c1)},
		"d":             {"not-running", fmt.Sprintf("d: not running: upstream c failed (run #%d)", c1)},
		"cleanup":       {"running", fmt.Sprintf("cleanup: run #%d running since", cl)},
		"f":             {"waiting", "f: waiting for a, " + hostileUpstream},
		hostileUpstream: {"none", hostileUpstream + ": no run for this logical date; no task has this name"},
	} {
		got, ok := nodes[name]
		if !ok || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) {
			t.Errorf("node %q = %q, want state %q, tooltip %q…", name, got, want[0], want[1])
		}
	}
	if _, ok := nodes["x"]; ok || len(nodes) != 7 {
		t.Errorf("the graph of d has nodes %v, want the 7 tasks of its chain, not x", nodes)
	}
	// Upstream left: a, then b and c, then d and f, then cleanup.
	x := func(name string) int { n, _ := strconv.Atoi(nodes[name][2]); return n }
	if !(x("a") < x("b") && x("b") == x("c") && x("c") < x("d") && x("d") < x("cleanup") && x(hostileUpstream) < x("f")) {
		t.Errorf("layers: a %d, b %d, c %d, d %d, cleanup %d, %s %d, f %d", x("a"), x("b"), x("c"), x("d"), x("cleanup"),
			hostileUpstream, x(hostileUpstream), x("f"))
	}
	if got := strings.Count(body, `<path class="edge edge-after"`); got != 6 {
		t.Errorf("%d after edges, want 6 (a→b, a→c, a→f, b→d, c→d, hostile→f)", got)
	}
	if got := strings.Count(body, `<path class="edge edge-on_failure"`); got != 1 ||
		!strings.Contains(body, `stroke-dasharray="6 4" marker-end="url(#chain-arrow)"><title>d runs when it fails: cleanup</title>`) {
		t.Errorf("%d on_failure edges, want 1, dashed, d → cleanup", got)
	}
	if strings.Contains(body, hostileUpstream) || !strings.Contains(body, `data-task="`+htmlEscape(hostileUpstream)+`"`) {
		t.Errorf("the hostile upstream name is not escaped in the graph")
	}
	if !strings.Contains(body, `<a href="/runs/`+strconv.FormatInt(a1, 10)+`"><g class="node node-succeeded" data-task="a">`) {
		t.Errorf("a's node does not link to its run #%d", a1)
	}

	// The older date, by its link; and a date with no run at all.
	for date, want := range map[string]map[string]string{
		"2026-03-01T00:00:00Z":      {"a": "succeeded", "b": "none", "d": "waiting", "cleanup": "none"},
		"2026-03-01T01:00:00+01:00": {"a": "succeeded", "d": "waiting"},
		"2020-01-01T00:00:00Z":      {"a": "none", "d": "none"},
	} {
		code, body, _ := b.do("GET", "/tasks/d/chain?date="+strings.ReplaceAll(date, "+", "%2B"), nil)
		nodes := chainNodes(body)
		for name, state := range want {
			if code != 200 || nodes[name][0] != state {
				t.Errorf("GET chain of d for %s: %d, %s is %q, want %q", date, code, name, nodes[name][0], state)
			}
		}
	}
	if _, body, _ := b.do("GET", "/tasks/d/chain", nil); !strings.Contains(body, `href="/tasks/d/chain?date=2026-03-01T00%3a00%3a00Z"`) {
		t.Errorf("the chain page does not link d's older logical date")
	}

	for path, want := range map[string]int{
		"/tasks/nosuch/chain":            404,
		"/tasks/%3Cimg%3E/chain":         404,
		"/tasks/d/chain?date=yesterday":  400,
		"/tasks/x/chain":                 200, // a chain of one
		"/tasks/d/chain?date=2026-03-02": 400,
	} {
		if code, body, _ := b.do("GET", path, nil); code != want {
			t.Errorf("GET %s: %d, want %d\n%s", path, code, want, body)
		}
	}
}
