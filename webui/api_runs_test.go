package webui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// runsAPI calls the REST API with a token of a user of one role.
type runsAPI struct {
	t     *testing.T
	env   *testenv.Env
	base  string
	token string
	// tokenID is the token's row, to revoke it.
	tokenID int64
}

// newRunsAPI serves a console (options changed by set) and makes a
// viewer with a token.
func newRunsAPI(t *testing.T, env *testenv.Env, set func(*webui.Options)) *runsAPI {
	t.Helper()
	base := consoleWith(t, env, set)
	addUser(t, env, "vic", "viewer password", webui.RoleViewer)
	tok, plain, err := env.Store.CreateToken(context.Background(), store.APIToken{Name: "reader", Username: "vic", Role: string(webui.RoleViewer)})
	if err != nil {
		t.Fatal(err)
	}
	return &runsAPI{t: t, env: env, base: base, token: plain, tokenID: tok.ID}
}

// get GETs an API path (under /api/v1) with the token and headers.
func (a *runsAPI) get(path string, header ...string) (int, string, http.Header) {
	a.t.Helper()
	req, err := http.NewRequest("GET", a.base+"/api/v1"+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// getJSON GETs an API path and decodes its JSON answer into v, failing
// the test unless the status is want.
func (a *runsAPI) getJSON(path string, want int, v any) {
	a.t.Helper()
	code, body, _ := a.get(path)
	if code != want {
		a.t.Fatalf("GET %s: %d, want %d: %s", path, code, want, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		a.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// apiRunOut is the run JSON as a client reads it.
type apiRunOut struct {
	ID             int64             `json:"id"`
	Task           string            `json:"task"`
	Version        string            `json:"version"`
	WorkflowID     string            `json:"workflow_id"`
	Attempt        int               `json:"attempt"`
	StartTime      time.Time         `json:"start_time"`
	EndTime        *time.Time        `json:"end_time"`
	Status         string            `json:"status"`
	ExitCode       *int              `json:"exit_code"`
	Params         map[string]string `json:"params"`
	BackfillID     *int64            `json:"backfill_id"`
	PublishedFiles []string          `json:"published_files"`
	RetryAt        *time.Time        `json:"retry_at"`
}

type apiRunList struct {
	Runs []apiRunOut `json:"runs"`
	Next string      `json:"next"`
}

type apiErrorOut struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// walkRuns follows the run list's next cursors from query to the last
// page, and returns every run seen in order and the page count.
func (a *runsAPI) walkRuns(query url.Values) (runs []apiRunOut, pages int) {
	a.t.Helper()
	for {
		var page apiRunList
		a.getJSON("/runs?"+query.Encode(), 200, &page)
		pages++
		runs = append(runs, page.Runs...)
		if page.Next == "" {
			return runs, pages
		}
		if pages > 1000 {
			a.t.Fatal("the run list does not end")
		}
		query.Set("cursor", page.Next)
	}
}

func TestAPIRunsFiltersAndPagesWithoutGapsOrDuplicates(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	ctx := context.Background()
	seedRuns(t, env, 120)
	// Runs that start at the same instant: the cursor must tell them apart.
	same := time.Now().Add(-30 * time.Second).Truncate(time.Millisecond)
	for i := range 9 {
		if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id,
			run_id, scheduled_time, start_time, end_time, status, exit_code) VALUES ('a', $2, 'wf-' || $2, 'r', $1, $1, $1, 'failed', 103)`,
			same, fmt.Sprintf("tie%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// want is what the database holds for a condition, newest first.
	want := func(cond string, args ...any) []int64 {
		t.Helper()
		rows, err := env.Store.Pool().Query(ctx, `SELECT id FROM t_task_exec_list WHERE `+cond+` ORDER BY start_time DESC, id DESC`, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	from := time.Now().Add(-60 * time.Second).UTC()
	to := time.Now().Add(-20 * time.Second).UTC()
	for _, tt := range []struct {
		desc  string
		query url.Values
		want  []int64
		// size is the page size the listing should have.
		size int
	}{
		{"everything, 7 a page", url.Values{"limit": {"7"}}, want("true"), 7},
		{"one task", url.Values{"task": {"a"}, "limit": {"10"}}, want("task_name = 'a'"), 10},
		{"task and status", url.Values{"task": {"b"}, "status": {"succeeded"}, "limit": {"4"}}, want("task_name = 'b' AND status = 'succeeded'"), 4},
		{"exit code", url.Values{"exit_code": {"103"}, "limit": {"3"}}, want("exit_code = 103"), 3},
		{"start time range", url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}, "limit": {"6"}},
			want("start_time >= $1 AND start_time < $2", from, to), 6},
		{"default page size", url.Values{}, want("true"), 50},
		{"a limit past the maximum is the maximum", url.Values{"limit": {"100000"}}, want("true"), 500},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, pages := api.walkRuns(tt.query)
			seen := map[int64]bool{}
			var ids []int64
			for _, r := range got {
				if seen[r.ID] {
					t.Fatalf("run %d listed twice", r.ID)
				}
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
				t.Fatalf("listed %d runs\n%v\nwant %d\n%v", len(ids), ids, len(tt.want), tt.want)
			}
			if want := max(1, (len(tt.want)+tt.size-1)/tt.size); pages != want {
				t.Errorf("%d pages, want %d of %d", pages, want, tt.size)
			}
		})
	}
	if n := len(want("exit_code = 103")); n < 9 {
		t.Fatalf("the seed has %d runs with exit 103; the exit filter test needs the ties", n)
	}

	for _, tt := range []struct{ query, want string }{
		{"status=nope", "unknown status"},
		{"exit_code=x", "exit code"},
		{"from=yesterday", "from: time"},
		{"cursor=garbage", "bad page cursor"},
		{"limit=0", "limit"},
		{"task=..%2Fetc", "task"},
	} {
		code, body, _ := api.get("/runs?" + tt.query)
		var e apiErrorOut
		_ = json.Unmarshal([]byte(body), &e)
		if code != 400 || e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, tt.want) {
			t.Errorf("?%s: %d %s, want 400 bad_request naming %q", tt.query, code, body, tt.want)
		}
	}
}

func TestAPIRunsGetOneRunInTheContractShape(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	ctx := context.Background()
	id := insertRun(t, env, "gold", time.Now(), "failed", 101)
	var backfill int64
	if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_backfill (task_name, start_time, end_time, fires, requested_by)
		VALUES ('gold', now() - interval '1 hour', now(), 1, 'vic') RETURNING id`).Scan(&backfill); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_exec_list SET params = '{"day": "mon; rm -rf /"}', backfill_id = $2,
		attempt = 2 WHERE id = $1`, id, backfill); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Run apiRunOut `json:"run"`
	}
	api.getJSON(fmt.Sprintf("/runs/%d", id), 200, &got)
	r := got.Run
	if r.ID != id || r.Task != "gold" || r.Status != "failed" || r.ExitCode == nil || *r.ExitCode != 101 || r.Attempt != 2 ||
		r.Params["day"] != "mon; rm -rf /" || r.BackfillID == nil || *r.BackfillID != backfill || r.PublishedFiles == nil {
		t.Errorf("run %+v", r)
	}
	code, body, _ := api.get("/runs/999999")
	var e apiErrorOut
	_ = json.Unmarshal([]byte(body), &e)
	if code != 404 || e.Error.Code != "not_found" {
		t.Errorf("an unknown run: %d %s", code, body)
	}
}

// writeTaskFile writes content at rel under the tasks root.
func writeTaskFile(t *testing.T, env *testenv.Env, rel, content string) {
	t.Helper()
	p := filepath.Join(env.Config.TasksDir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAPILogRangesAndConfinement(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	var log strings.Builder
	for i := range 100 {
		fmt.Fprintf(&log, "line %03d\n", i) // 9 bytes a line
	}
	content := log.String()
	size := len(content)
	writeTaskFile(t, env, "gold/logs/202611/25/101010.log", content)
	id := addRun(t, env, "gold", "gold/logs/202611/25/101010.log")
	path := fmt.Sprintf("/runs/%d/log", id)

	for _, tt := range []struct {
		desc         string
		query        string
		header       []string
		code         int
		body         string
		contentRange string
	}{
		{"the whole log", "", nil, 200, content, ""},
		{"from an offset", "?offset=891", nil, 200, content[891:], ""},
		{"offset and limit", "?offset=9&limit=18", nil, 200, content[9:27], ""},
		{"a limit past the end", "?offset=882&limit=1000", nil, 200, content[882:], ""},
		{"at the end: nothing more yet", fmt.Sprintf("?offset=%d", size), nil, 200, "", ""},
		{"an offset past the end", fmt.Sprintf("?offset=%d", size+1), nil, 416, "", fmt.Sprintf("bytes */%d", size)},
		{"a range", "", []string{"Range", "bytes=9-17"}, 206, "line 001\n", fmt.Sprintf("bytes 9-17/%d", size)},
		{"a range to the end", "", []string{"Range", "bytes=891-"}, 206, content[891:], fmt.Sprintf("bytes 891-899/%d", size)},
		{"the last bytes", "", []string{"Range", "bytes=-9"}, 206, "line 099\n", fmt.Sprintf("bytes 891-899/%d", size)},
		{"a range ending past the end", "", []string{"Range", "bytes=891-5000"}, 206, content[891:], fmt.Sprintf("bytes 891-899/%d", size)},
		{"a range past the end", "", []string{"Range", fmt.Sprintf("bytes=%d-", size)}, 416, "", fmt.Sprintf("bytes */%d", size)},
		{"several ranges: the whole log", "", []string{"Range", "bytes=0-1,5-6"}, 200, content, ""},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			code, body, h := api.get(path+tt.query, tt.header...)
			if code != tt.code {
				t.Fatalf("%d, want %d: %s", code, tt.code, body)
			}
			if got := h.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if code == 416 {
				var e apiErrorOut
				if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "range_not_satisfiable" {
					t.Errorf("416 body %s", body)
				}
				return
			}
			if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || h.Get("X-Log-Size") != strconv.Itoa(size) {
				t.Errorf("Content-Type %q, X-Log-Size %q", h.Get("Content-Type"), h.Get("X-Log-Size"))
			}
		})
	}

	// Paths the row holds that lead out of the task's folder are refused,
	// however they get there.
	secret := "TOPSECRET-of-another-task\n"
	writeTaskFile(t, env, "other/logs/x.log", secret)
	outside := filepath.Join(t.TempDir(), "outside.log")
	if err := os.WriteFile(outside, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(env.Config.TasksDir, "gold/logs/link.log")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"other/logs/x.log", "gold/../other/logs/x.log", outside, "gold/logs/link.log"} {
		id := addRun(t, env, "gold", rel)
		for _, suffix := range []string{"/log", "/log?offset=0&limit=10", "/log/stream"} {
			code, body, _ := api.get(fmt.Sprintf("/runs/%d%s", id, suffix), "Range", "bytes=0-5")
			if code != 404 || strings.Contains(body, "TOPSECRET") {
				t.Errorf("log path %q, %s: %d %s, want 404 without its content", rel, suffix, code, body)
			}
		}
	}
}

// apiStream opens a run's live log with the token and returns its events.
func (a *runsAPI) stream(path string) (*http.Response, <-chan sseEvent) {
	a.t.Helper()
	req, err := http.NewRequest("GET", a.base+"/api/v1"+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		return resp, nil
	}
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					events <- ev
				}
				ev = sseEvent{ID: ev.ID}
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp, events
}

// apiLogText is a "log" event's text.
func apiLogText(t *testing.T, e sseEvent) string {
	t.Helper()
	if e.Event != "log" {
		t.Fatalf("event %+v, want a log event", e)
	}
	var s string
	if err := json.Unmarshal([]byte(e.Data), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// streamEnded waits for the stream's channel to close.
func streamEnded(t *testing.T, events <-chan sseEvent, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e, open := <-events:
			if !open {
				return
			}
			t.Fatalf("event %+v after the end", e)
		case <-deadline:
			t.Fatalf("the stream still open after %s", within)
		}
	}
}

func TestAPILogStreamDeliversAppendedLinesAndTheEnd(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	ctx := context.Background()
	rel := "gold/logs/202611/25/live.log"
	writeTaskFile(t, env, rel, "first line\n")
	id := addRun(t, env, "gold", rel)
	resp, events := api.stream(fmt.Sprintf("/runs/%d/log/stream", id))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := apiLogText(t, nextEvent(t, events)); got != "first line\n" {
		t.Fatalf("first event %q", got)
	}
	f, err := os.OpenFile(filepath.Join(env.Config.TasksDir, rel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprint(f, "second line\nhalf a ")
	e := nextEvent(t, events)
	if got := apiLogText(t, e); got != "second line\n" {
		t.Fatalf("appended event %q", got)
	}
	if e.ID != strconv.Itoa(len("first line\nsecond line\n")) {
		t.Errorf("event id %q, want the offset after it", e.ID)
	}
	fmt.Fprint(f, "line, ended with the run")
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_exec_list SET end_time = now(), status = 'failed', exit_code = 101
		WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if got := apiLogText(t, nextEvent(t, events)); got != "half a line, ended with the run" {
		t.Fatalf("the last line %q", got)
	}
	end := nextEvent(t, events)
	var st struct {
		Status   string `json:"status"`
		ExitCode *int   `json:"exit_code"`
	}
	if end.Event != "end" || json.Unmarshal([]byte(end.Data), &st) != nil || st.Status != "failed" || st.ExitCode == nil || *st.ExitCode != 101 {
		t.Fatalf("end event %+v", end)
	}
	streamEnded(t, events, 5*time.Second)

	// A stream of an ended run from an offset sends the rest and the end at once.
	_, events = api.stream(fmt.Sprintf("/runs/%d/log/stream?offset=%d", id, len("first line\n")))
	start := time.Now()
	var resumed string
	for e := nextEvent(t, events); e.Event != "end"; e = nextEvent(t, events) {
		resumed += apiLogText(t, e)
	}
	if resumed != "second line\nhalf a line, ended with the run" {
		t.Fatalf("resumed %q", resumed)
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("an ended run's stream took %s to end", took)
	}
	streamEnded(t, events, 5*time.Second)

	// A run that ended without a log (it could not start) streams its end.
	never := addRun(t, env, "gold", "gold/logs/202611/25/never.log")
	endRun(t, env, never, "failed", tasktype.ExitSpawnFailed, false)
	_, events = api.stream(fmt.Sprintf("/runs/%d/log/stream", never))
	if e := nextEvent(t, events); e.Event != "end" || !strings.Contains(e.Data, fmt.Sprintf(`"exit_code":%d`, tasktype.ExitSpawnFailed)) {
		t.Fatalf("a run without a log: %+v", e)
	}
	streamEnded(t, events, 5*time.Second)
}

func TestAPILogStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	id := runningRunWithLog(t, env, "revoked", "a line\n")
	_, events := api.stream(fmt.Sprintf("/runs/%d/log/stream", id))
	apiLogText(t, nextEvent(t, events))
	if _, _, err := env.Store.RevokeToken(context.Background(), api.tokenID, ""); err != nil {
		t.Fatal(err)
	}
	streamEnded(t, events, 6*time.Second)
}

type apiFireOut struct {
	WorkflowID     string      `json:"workflow_id"`
	Task           string      `json:"task"`
	Done           bool        `json:"done"`
	Status         string      `json:"status"`
	ExitCode       *int        `json:"exit_code"`
	WorkflowStatus string      `json:"workflow_status"`
	Runs           []apiRunOut `json:"runs"`
}

// addAttempt inserts attempt n of a fire of gold, running.
func addAttempt(t *testing.T, env *testenv.Env, workflowID string, n int) int64 {
	t.Helper()
	var id int64
	if err := env.Store.Pool().QueryRow(context.Background(), `INSERT INTO t_task_exec_list (task_name, task_version,
		workflow_id, run_id, scheduled_time, start_time, attempt) VALUES ('gold', $3, $1, 'r1', now(),
		now() + $2 * interval '1 ms', $2) RETURNING id`, workflowID, n, fmt.Sprintf("%s-%d", workflowID, n)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// endRun ends a run with status and exit code, a retry due or not.
func endRun(t *testing.T, env *testenv.Env, id int64, status string, exit int, retry bool) {
	t.Helper()
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE t_task_exec_list SET end_time = now(), status = $2,
		exit_code = $3, retry_at = CASE WHEN $4 THEN now() + interval '1 minute' END WHERE id = $1`, id, status, exit, retry); err != nil {
		t.Fatal(err)
	}
}

func TestAPIFireIsDoneWhenItsLastAttemptEndsWithoutTemporal(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, func(o *webui.Options) { o.Control = nil })
	wf := "sched-gold-run-20261125T101010.000Z-abcd"
	fire := func() apiFireOut {
		var f apiFireOut
		api.getJSON("/fires/"+wf, 200, &f)
		return f
	}
	first := addAttempt(t, env, wf, 1)
	if f := fire(); f.Done || f.Status != "running" || f.Task != "gold" || len(f.Runs) != 1 {
		t.Fatalf("a running fire: %+v", f)
	}
	endRun(t, env, first, "failed", 101, true)
	if f := fire(); f.Done || f.Status != "failed" {
		t.Fatalf("a fire waiting for its retry: %+v", f)
	}
	second := addAttempt(t, env, wf, 2)
	// A long poll answers when the fire is done, not at its deadline.
	go func() {
		time.Sleep(700 * time.Millisecond)
		endRun(t, env, second, "succeeded", 0, false)
	}()
	start := time.Now()
	var f apiFireOut
	api.getJSON("/fires/"+wf+"?wait=20s", 200, &f)
	took := time.Since(start)
	if !f.Done || f.Status != "succeeded" || f.ExitCode == nil || *f.ExitCode != 0 || len(f.Runs) != 2 ||
		f.Runs[0].ID != first || f.Runs[1].ID != second || f.WorkflowID != wf {
		t.Fatalf("the fire done: %+v", f)
	}
	if took < 500*time.Millisecond || took > 5*time.Second {
		t.Errorf("the long poll answered after %s; the fire ended after 0.7 s", took)
	}
	// A long poll of a fire that is not done answers at its deadline.
	other := "sched-gold-run-other"
	addAttempt(t, env, other, 1)
	start = time.Now()
	api.getJSON("/fires/"+other+"?wait=1s", 200, &f)
	if took := time.Since(start); f.Done || took < 900*time.Millisecond || took > 4*time.Second {
		t.Errorf("a fire still running, waited 1s: done %v after %s", f.Done, took)
	}
	for _, tt := range []struct{ path, code string }{
		{"/fires/no-such-workflow", "not_found"},
		{"/fires/" + wf + "?wait=soon", "bad_request"},
	} {
		var e apiErrorOut
		code, body, _ := api.get(tt.path)
		if json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tt.code || code < 400 {
			t.Errorf("%s: %d %s, want %s", tt.path, code, body, tt.code)
		}
	}
}

func TestAPIFireAsksTemporalWhetherTheWorkflowClosed(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	ctx := context.Background()
	// A workflow no worker runs stays open until terminated: cheap, and
	// enough to tell what Temporal says from what the rows say.
	wf := env.Config.ScheduleIDPrefix + "gold-run-20261125T101010.000Z-beef"
	if _, err := env.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wf, TaskQueue: env.Config.TaskQueue + "-nobody"}, "RunTask"); err != nil {
		t.Fatal(err)
	}
	var f apiFireOut
	api.getJSON("/fires/"+wf, 200, &f)
	if f.Done || f.Task != "gold" || f.WorkflowStatus != "running" || len(f.Runs) != 0 {
		t.Fatalf("a fire not started yet: %+v", f)
	}
	id := addAttempt(t, env, wf, 1)
	endRun(t, env, id, "failed", 101, false)
	api.getJSON("/fires/"+wf, 200, &f)
	if f.Done {
		t.Fatalf("done while Temporal says the workflow is open: %+v", f)
	}
	second := addAttempt(t, env, wf, 2)
	if err := env.Temporal.TerminateWorkflow(ctx, wf, "", "killed by the test"); err != nil {
		t.Fatal(err)
	}
	api.getJSON("/fires/"+wf+"?wait=10s", 200, &f)
	if !f.Done || f.WorkflowStatus != "terminated" || f.Status != string(tasktype.RunKilled) || f.ExitCode == nil ||
		*f.ExitCode != tasktype.ExitKilled || len(f.Runs) != 2 || f.Runs[1].ID != second {
		t.Fatalf("a terminated fire whose row says running: %+v", f)
	}
}

func TestAPIHistoryListsVersionsFilesAndDiffs(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newRunsAPI(t, env, nil)
	v1 := addArchivedRun(t, env, "gold", "202611/25/100000-1", map[string]string{"out.txt": "a\nb\nc\n", "data.json": `{"k":1,"z":[1,2]}`})
	v2 := addArchivedRun(t, env, "gold", "202611/25/110000-1", map[string]string{"out.txt": "a\nB\nc\n", "data.json": `{"k":1,"z":[1,2]}`, "new.txt": "hi\n"})
	v3 := addArchivedRun(t, env, "gold", "202611/25/120000-1", map[string]string{"out.txt": "a\nB\nc\n"})
	addArchivedRun(t, env, "other", "202611/25/130000-1", map[string]string{"x.txt": "x\n"})

	// Versions, newest first, paged.
	var seen []int64
	cursor := ""
	for pages := 0; ; pages++ {
		var h struct {
			Versions []apiRunOut `json:"versions"`
			Next     string      `json:"next"`
		}
		api.getJSON("/tasks/gold/history?limit=2&cursor="+url.QueryEscape(cursor), 200, &h)
		for _, v := range h.Versions {
			seen = append(seen, v.ID)
		}
		if cursor = h.Next; cursor == "" || pages > 5 {
			break
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{v3, v2, v1}) {
		t.Errorf("versions %v, want %v", seen, []int64{v3, v2, v1})
	}

	// Files of a version, by run id or by its task_version.
	for _, version := range []string{strconv.FormatInt(v2, 10), url.PathEscape("202611/25/110000-1")} {
		var files struct {
			Version string `json:"version"`
			Files   []struct {
				Name string `json:"name"`
				Size *int64 `json:"size"`
			} `json:"files"`
		}
		api.getJSON("/tasks/gold/history/"+version+"/files", 200, &files)
		got := map[string]int64{}
		for _, f := range files.Files {
			if f.Size != nil {
				got[f.Name] = *f.Size
			}
		}
		if files.Version != "202611/25/110000-1" || len(got) != 3 || got["out.txt"] != 6 || got["new.txt"] != 3 {
			t.Errorf("files of %s: %+v", version, files)
		}
	}
	// Another task's version is not this task's.
	code, _, _ := api.get(fmt.Sprintf("/tasks/other/history/%d/files", v1))
	if code != 404 {
		t.Errorf("another task's version: %d, want 404", code)
	}

	type fileDiff struct {
		File      string `json:"file"`
		Identical bool   `json:"identical"`
		Diff      string `json:"diff"`
	}
	var d struct {
		Files []fileDiff `json:"files"`
	}
	api.getJSON(fmt.Sprintf("/tasks/gold/diff?from=%d&to=%d", v1, v2), 200, &d)
	byName := map[string]fileDiff{}
	for _, f := range d.Files {
		byName[f.File] = f
	}
	if out := byName["out.txt"]; out.Identical || !strings.Contains(out.Diff, "-b\n+B\n") || !strings.HasPrefix(out.Diff, "--- 202611/25/100000-1/out.txt\n") {
		t.Errorf("out.txt diff %+v", out)
	}
	if js := byName["data.json"]; !js.Identical || js.Diff != "" {
		t.Errorf("data.json diff %+v", js)
	}
	if nw := byName["new.txt"]; !strings.Contains(nw.Diff, "+hi\n") {
		t.Errorf("new.txt diff %+v", nw)
	}
	api.getJSON(fmt.Sprintf("/tasks/gold/diff?from=%d&to=%d&file=data.json", v2, v3), 200, &d)
	if len(d.Files) != 1 || !strings.Contains(d.Files[0].Diff, `-  "k": 1,`) {
		t.Errorf("a file's diff, JSON pretty-printed: %+v", d.Files)
	}
	for _, q := range []string{
		fmt.Sprintf("from=%d&to=%d&file=nope.txt", v1, v2),
		fmt.Sprintf("from=%d&to=999999", v1),
	} {
		if code, body, _ := api.get("/tasks/gold/diff?" + q); code != 404 {
			t.Errorf("diff ?%s: %d %s, want 404", q, code, body)
		}
	}
}
