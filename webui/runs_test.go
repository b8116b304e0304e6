package webui_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// seedRuns inserts n runs of tasks a, b, c, one a second back from now:
// every third failed with exit 101+i%3, the others succeeded.
func seedRuns(t testing.TB, env *testenv.Env, n int) {
	t.Helper()
	if _, err := env.Store.Pool().Exec(context.Background(), `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			end_time, status, exit_code)
		SELECT (ARRAY['a','b','c'])[1 + i % 3], 'v' || i, 'wf' || i, 'r' || i,
			now() - i * interval '1 second', now() - i * interval '1 second', now() - i * interval '1 second' + interval '50 ms',
			CASE WHEN i % 3 = 0 THEN 'failed' ELSE 'succeeded' END,
			CASE WHEN i % 3 = 0 THEN 101 + i % 9 / 3 ELSE 0 END
		FROM generate_series(1, $1) AS i`, n); err != nil {
		t.Fatal(err)
	}
}

// runLink is a row of the run list: id, task, status, exit code, and the
// start time as shown.
var runLink = regexp.MustCompile(`<td><a href="/runs/(\d+)">\d+</a></td><td><a href="/tasks/([^"]+)">[^<]*</a></td><td>[^<]*</td><td class="(\w+)">\w+</td><td>(\d*)</td><td>(?:<time[^>]*>)?([^<]*)`)

// olderRuns is the run list's link to its next page.
var olderRuns = regexp.MustCompile(`<a[^>]* href="([^"]*)">Older runs →</a>`)

// insertRun adds an ended run of task started at start.
func insertRun(t testing.TB, env *testenv.Env, task string, start time.Time, status string, exit int) int64 {
	t.Helper()
	var id int64
	if err := env.Store.Pool().QueryRow(context.Background(), `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			end_time, status, exit_code)
		VALUES ($1, $5, 'wf-' || $1 || $5, 'r', $2, $2, $2, $3, $4) RETURNING id`,
		task, start, status, exit, start.UTC().Format(time.RFC3339Nano)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// listRuns GETs a run list page and returns its rows' ids, each checked
// by match.
func listRuns(t *testing.T, b *browser, path string, match func(row []string) bool) (ids []string, body string) {
	t.Helper()
	code, body, _ := b.do("GET", path, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	for _, m := range runLink.FindAllStringSubmatch(body, -1) {
		if match != nil && !match(m) {
			t.Errorf("GET %s: run %s of %s, %s, exit %s, started %q does not match", path, m[1], m[2], m[3], m[4], m[5])
		}
		ids = append(ids, m[1])
	}
	return ids, body
}

func TestRunListFiltersAndPages(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	seedRuns(t, env, 400)
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	from := time.Now().UTC().Add(-300 * time.Second).Format("2006-01-02T15:04")
	q := url.Values{"task": {"a"}, "status": {"failed"}, "exit": {"101"}, "from": {from}}
	seen := map[string]bool{}
	pages := 0
	for next := "/runs?" + q.Encode(); next != ""; pages++ {
		code, body, _ := b.do("GET", next, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d\n%s", next, code, body)
		}
		for _, m := range runLink.FindAllStringSubmatch(body, -1) {
			if m[2] != "a" || m[3] != "failed" || m[4] != "101" {
				t.Errorf("run %s of %s, %s, exit %s does not match the filter", m[1], m[2], m[3], m[4])
			}
			if seen[m[1]] {
				t.Errorf("run %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := olderRuns.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	// i in 1..300 with i%3==0 (task a when 1+i%3==1) and i%9/3==0: i%9==0 → i = 9, 18, …, 297.
	var want int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_task_exec_list
		WHERE task_name = 'a' AND status = 'failed' AND exit_code = 101 AND start_time >= $1`,
		time.Now().UTC().Add(-300*time.Second).Truncate(time.Minute)).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(seen) != want || want == 0 {
		t.Errorf("listed %d runs over %d pages, want %d", len(seen), pages, want)
	}
	for _, bad := range []string{"exit=x", "status=exploded", "task=..%2fetc", "from=yesterday", "after=1_x",
		"exit=99999999999999", "exit=2147483648", "exit=-2147483649", "to=2030-01-02T10:05:61"} {
		if code, body, _ := b.do("GET", "/runs?"+bad, nil); code != 400 || !strings.Contains(body, `class="err"`) {
			t.Errorf("GET /runs?%s: %d, want 400 with the reason", bad, code)
		}
	}
}

// TestRunListPagesThroughAFilteredListToTheEnd follows "Older runs →" as
// a browser does, from the first page of a filtered list of 260 runs to
// its last: every run once, the filter kept on every page.
func TestRunListPagesThroughAFilteredListToTheEnd(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	seedRuns(t, env, 780) // task a: i%3 == 0, all failed
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	seen := map[string]int{}
	var order []string
	pages := 0
	for next := "/runs?task=a&status=failed"; next != ""; pages++ {
		if pages > 20 {
			t.Fatalf("still paging after %d pages", pages)
		}
		ids, body := listRuns(t, b, next, func(m []string) bool { return m[2] == "a" && m[3] == "failed" })
		if len(ids) == 0 {
			t.Fatalf("GET %s: no runs", next)
		}
		for _, id := range ids {
			seen[id]++
		}
		order = append(order, ids...)
		next = ""
		if m := olderRuns.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
			u, err := url.Parse(next)
			if err != nil || u.Path != "/runs" || u.Query().Get("task") != "a" || u.Query().Get("status") != "failed" || u.Query().Get("after") == "" {
				t.Fatalf("page %d: the next page's link %q does not keep the filter", pages+1, next)
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("run %s listed %d times", id, n)
		}
	}
	var want []string
	rows, err := env.Store.Pool().Query(context.Background(), `SELECT id::text FROM t_task_exec_list
		WHERE task_name = 'a' AND status = 'failed' ORDER BY start_time DESC, id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		want = append(want, id)
	}
	rows.Close()
	if len(want) != 260 || strings.Join(order, ",") != strings.Join(want, ",") || pages != 6 {
		t.Errorf("listed %d runs over %d pages, want all %d in order over 6", len(order), pages, len(want))
	}
}

// TestRunListToIncludesItsMinuteAndTakesSeconds: "to" names the last
// minute (or second) listed, as a person reads "to 10:05".
func TestRunListToIncludesItsMinuteAndTakesSeconds(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ids := map[string]int64{}
	for _, ts := range []string{"2030-01-02T10:04:59Z", "2030-01-02T10:05:00Z", "2030-01-02T10:05:30Z",
		"2030-01-02T10:05:30.9Z", "2030-01-02T10:05:59.9Z", "2030-01-02T10:06:00Z"} {
		ids[ts] = insertRun(t, env, "z", at(ts), "succeeded", 0)
	}
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"to=2030-01-02T10:05", []string{"2030-01-02T10:05:59.9Z", "2030-01-02T10:05:30.9Z", "2030-01-02T10:05:30Z", "2030-01-02T10:05:00Z", "2030-01-02T10:04:59Z"}},
		{"to=2030-01-02T10:05:30", []string{"2030-01-02T10:05:30.9Z", "2030-01-02T10:05:30Z", "2030-01-02T10:05:00Z", "2030-01-02T10:04:59Z"}},
		{"from=2030-01-02T10:05:30&to=2030-01-02T10:05:59", []string{"2030-01-02T10:05:59.9Z", "2030-01-02T10:05:30.9Z", "2030-01-02T10:05:30Z"}},
		{"from=2030-01-02T10:05&to=2030-01-02T10:05", []string{"2030-01-02T10:05:59.9Z", "2030-01-02T10:05:30.9Z", "2030-01-02T10:05:30Z", "2030-01-02T10:05:00Z"}},
	} {
		got, _ := listRuns(t, b, "/runs?"+tt.query, nil)
		var want []string
		for _, ts := range tt.want {
			want = append(want, fmt.Sprint(ids[ts]))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("/runs?%s lists runs %v, want %v (%v)", tt.query, got, want, tt.want)
		}
	}
}

// TestRunListKeepsADeletedTaskAsAFilter: a deleted task's runs stay
// listed, so its name stays in the task choice, selected while it is the
// filter, and the next Filter click keeps it.
func TestRunListKeepsADeletedTaskAsAFilter(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gone", Rule: "0 * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
		t.Fatal(err)
	}
	insertRun(t, env, "gone", time.Now().Add(-time.Hour), "failed", 3)
	insertRun(t, env, "other", time.Now().Add(-time.Hour), "failed", 3)
	if err := env.Store.DeleteTask(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	ids, body := listRuns(t, b, "/runs?task=gone&status=failed", func(m []string) bool { return m[2] == "gone" })
	if len(ids) != 1 {
		t.Errorf("/runs?task=gone lists %d runs, want 1", len(ids))
	}
	if !strings.Contains(body, "<option selected>gone</option>") {
		t.Errorf("the filtered deleted task is not the selected choice:\n%s", body)
	}
	if _, body := listRuns(t, b, "/runs", nil); !strings.Contains(body, "<option>gone</option>") {
		t.Errorf("the deleted task with runs is not a choice:\n%s", body)
	}
}

// TestRunListNamesTheZoneOfItsTimes: the started column is in one zone
// and says which; the version, in the task's zone, says so.
func TestRunListNamesTheZoneOfItsTimes(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	insertRun(t, env, "z", time.Date(2030, 1, 2, 10, 5, 7, 0, time.UTC), "succeeded", 0)
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	_, body, _ := b.do("GET", "/runs", nil)
	m := runLink.FindStringSubmatch(body)
	if m == nil || m[5] != "2030-01-02 10:05:07 UTC" {
		t.Errorf("started shows as %q, want 2030-01-02 10:05:07 UTC", m)
	}
	for _, want := range []string{"<th>started (UTC)</th>", "version (task's zone)", "from (UTC)", "to (UTC, inclusive)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the run list lacks %q", want)
		}
	}
}

// BenchmarkRunList answers filtered pages of the run list over HTTP with
// 100,000 runs in the table, and reports the p50 and p99 latency.
func BenchmarkRunList(b *testing.B) {
	env := testenv.New(b)
	seedRuns(b, env, 100000)
	if _, err := env.Store.Pool().Exec(context.Background(), `ANALYZE t_task_exec_list`); err != nil {
		b.Fatal(err)
	}
	addUser(b, env, "vera", "viewer password", webui.RoleViewer)
	br := newBrowser(b, console(b, env))
	if br.login("vera", "viewer password") != 303 {
		b.Fatal("login failed")
	}
	deep := time.Now().UTC().Add(-20 * time.Hour).Format("2006-01-02T15:04")
	queries := []string{"", "task=b", "status=failed", "exit=102", "task=c&status=failed&exit=103",
		"to=" + url.QueryEscape(deep), "task=a&to=" + url.QueryEscape(deep)}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if code, _, _ := br.do("GET", "/runs?"+queries[i%len(queries)], nil); code != 200 {
			b.Fatalf("GET /runs?%s: %d", queries[i%len(queries)], code)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	fmt.Printf("run list, 100,000 runs: p50 %s, p99 %s over %d filtered pages\n", lat[len(lat)/2], lat[len(lat)*99/100], len(lat))
}
