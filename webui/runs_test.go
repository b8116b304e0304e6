package webui_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
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

var runLink = regexp.MustCompile(`<td><a href="/runs/(\d+)">\d+</a></td><td><a href="/tasks/([^"]+)">[^<]*</a></td><td>[^<]*</td><td class="(\w+)">\w+</td><td>(\d*)</td>`)

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
		if m := regexp.MustCompile(`href="(/runs\?[^"]*after=[^"]*)"`).FindStringSubmatch(body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
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
	for _, bad := range []string{"exit=x", "status=exploded", "task=..%2fetc", "from=yesterday", "after=1_x"} {
		if code, body, _ := b.do("GET", "/runs?"+bad, nil); code != 400 || !strings.Contains(body, `class="err"`) {
			t.Errorf("GET /runs?%s: %d, want 400 with the reason", bad, code)
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
