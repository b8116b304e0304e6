package webui_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/webui"
)

// addArchivedRun inserts a finished run of task whose history folder is
// history/<version> and lists files.
func addArchivedRun(t *testing.T, env *testenv.Env, task, version string, files map[string]string) int64 {
	t.Helper()
	hist := filepath.Join(task, "history", version)
	names := []string{}
	for name, content := range files {
		p := filepath.Join(env.Config.TasksDir, hist, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	var id int64
	if err := env.Store.Pool().QueryRow(context.Background(), `INSERT INTO t_task_exec_list (task_name, task_version,
		workflow_id, run_id, scheduled_time, end_time, status, exit_code, history_path, published_files)
		VALUES ($1, $2, 'wf-' || $2, 'r', now(), now(), 'succeeded', 0, $3, $4) RETURNING id`,
		task, version, hist, names).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHistoryVersionsAreBrowsedViewedDiffedAndConfined(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	root := env.Config.TasksDir
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("TOPSECRET-outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "other", "secret.txt"), []byte("TOPSECRET-other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v1 := addArchivedRun(t, env, "gold", "202611/25_101000", map[string]string{
		"gold_price.json": `{"price":101.5,"currency":"USD"}`, "notes.txt": "a\nb\nc\n", "blob.bin": "\x00\x01\x02"})
	v2 := addArchivedRun(t, env, "gold", "202611/25_101010", map[string]string{
		"gold_price.json": `{"price":<b>102</b>,"currency":"USD"}`, "notes.txt": "a\nB\nc\n"})
	// A row that lists a file which is a link out of the folder, and names that climb.
	evil := addArchivedRun(t, env, "gold", "202611/25_101020", map[string]string{})
	if err := os.MkdirAll(filepath.Join(root, "gold", "history", "202611", "25_101020"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "gold", "history", "202611", "25_101020", "link.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool().Exec(context.Background(), `UPDATE t_task_exec_list SET published_files =
		'{link.txt,../../../../other/secret.txt,/etc/passwd,%2e%2e/%2e%2e/other/secret.txt}' WHERE id = $1`, evil); err != nil {
		t.Fatal(err)
	}

	b := loggedIn(t, env, "vera", webui.RoleViewer)

	_, page, _ := b.do("GET", "/tasks/gold/history", nil)
	for _, want := range []string{"202611/25_101000", "202611/25_101010", fmt.Sprintf(`/runs/%d/file?name=gold_price.json`, v1), "<option>notes.txt</option>"} {
		if !strings.Contains(page, want) {
			t.Errorf("history page lacks %q", want)
		}
	}

	// JSON is shown pretty-printed; invalid JSON as it is, escaped.
	_, page, _ = b.do("GET", fmt.Sprintf("/runs/%d/file?name=gold_price.json", v1), nil)
	if !strings.Contains(page, "{\n  &#34;price&#34;: 101.5,\n  &#34;currency&#34;: &#34;USD&#34;\n}\n") {
		t.Errorf("JSON not pretty-printed:\n%s", page)
	}
	_, page, _ = b.do("GET", fmt.Sprintf("/runs/%d/file?name=gold_price.json", v2), nil)
	if strings.Contains(page, "<b>102</b>") || !strings.Contains(page, "&lt;b&gt;102&lt;/b&gt;") {
		t.Error("file content not escaped")
	}
	_, page, _ = b.do("GET", fmt.Sprintf("/runs/%d/file?name=blob.bin", v1), nil)
	if !strings.Contains(page, "binary file, 3 bytes") {
		t.Error("a binary file is not announced as such")
	}
	code, body, h := b.do("GET", fmt.Sprintf("/runs/%d/file?name=blob.bin&download=1", v1), nil)
	if code != 200 || body != "\x00\x01\x02" || !strings.Contains(h.Get("Content-Disposition"), `filename="blob.bin"`) {
		t.Errorf("download: %d %q %q", code, body, h.Get("Content-Disposition"))
	}

	// The diff shows the changed line of notes.txt, and a file present only in the older version.
	_, page, _ = b.do("GET", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=notes.txt", v2, v1), nil)
	if !strings.Contains(page, `<span class="del">-b</span>`) || !strings.Contains(page, `<span class="add">&#43;B</span>`) ||
		!strings.Contains(page, "202611/25_101000 → 202611/25_101010") {
		t.Errorf("diff of notes.txt:\n%s", page)
	}
	_, page, _ = b.do("GET", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=notes.txt", v1, v1), nil)
	if !strings.Contains(page, "identical") {
		t.Error("a version against itself is not identical")
	}
	if _, page, _ = b.do("GET", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=blob.bin", v1, v2), nil); !strings.Contains(page, "not compared") {
		t.Error("a binary file was diffed")
	}
	if code, _, _ := b.do("GET", fmt.Sprintf("/tasks/other/diff?a=%d&b=%d&file=notes.txt", v1, v2), nil); code != 404 {
		t.Errorf("diff of another task's runs: %d, want 404", code)
	}

	// Nothing leaves the task's folder, whatever the row or the query says.
	for _, q := range []string{
		fmt.Sprintf("/runs/%d/file?name=link.txt", evil),
		fmt.Sprintf("/runs/%d/file?name=../../../../other/secret.txt", evil),
		fmt.Sprintf("/runs/%d/file?name=/etc/passwd", evil),
		fmt.Sprintf("/runs/%d/file?name=%%252e%%252e/%%252e%%252e/other/secret.txt", evil),
		fmt.Sprintf("/runs/%d/file?name=%%2e%%2e/%%2e%%2e/other/secret.txt", evil),
		fmt.Sprintf("/runs/%d/file?name=..%%2f..%%2f..%%2f..%%2fother%%2fsecret.txt", v1),
		fmt.Sprintf("/runs/%d/file?name=%%2e%%2e%%252f%%2e%%2e%%252fother%%252fsecret.txt", v1),
		fmt.Sprintf("/runs/%d/file?name=/etc/passwd&download=1", v1),
		fmt.Sprintf("/runs/%d/file?name=link.txt&download=1", evil),
		fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=link.txt", evil, evil),
		fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=../../../../other/secret.txt", evil, v1),
		"/tasks/..%2fother/history",
		"/tasks/%2e%2e/history",
	} {
		code, body, _ := b.do("GET", q, nil)
		if code != 404 || strings.Contains(body, "TOPSECRET") || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d, want 404 and no file", q, code)
		}
	}
}

// TestRunningRunLogTailsLive reads the server-sent events of a running
// run: lines appear as they are written, and the stream ends with the run.
func TestRunningRunLogTailsLive(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	logRel := "gold/logs/202611/25/101010.log"
	logAbs := filepath.Join(env.Config.TasksDir, logRel)
	var id int64
	if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
		scheduled_time, status, log_path) VALUES ('gold', '202611/25/101010', 'wf', 'r', now(), 'running', $1) RETURNING id`,
		logRel).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	// Opened before the task has written its log, the page waits for it.
	_, page, _ := b.do("GET", fmt.Sprintf("/runs/%d", id), nil)
	if !strings.Contains(page, `id="live-log"`) || !strings.Contains(page, fmt.Sprintf(`data-stream="/runs/%d/stream?from=0"`, id)) {
		t.Fatalf("a just-started run's page, before its log exists, has no live log:\n%s", page)
	}

	if err := os.MkdirAll(filepath.Dir(logAbs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logAbs, []byte("first line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, page, _ = b.do("GET", fmt.Sprintf("/runs/%d", id), nil)
	if !strings.Contains(page, `id="live-log"`) || !strings.Contains(page, fmt.Sprintf(`data-stream="/runs/%d/stream?from=11"`, id)) {
		t.Fatalf("the running run's page has no live log:\n%s", page)
	}

	req, _ := http.NewRequest("GET", b.base+fmt.Sprintf("/runs/%d/stream?from=11", id), nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + " " + strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
		}
		return ""
	}
	f, err := os.OpenFile(logAbs, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprint(f, "second <b>line</b>\nhalf")
	if e := next(); e != `log "second \u003cb\u003eline\u003c/b\u003e\n"` {
		t.Errorf("first event %q, want the new whole line", e)
	}
	fmt.Fprint(f, " done\n")
	if e := next(); e != `log "half done\n"` {
		t.Errorf("second event %q, want the finished line", e)
	}
	fmt.Fprint(f, "last words")
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_exec_list SET status = 'failed', exit_code = 3, end_time = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != `log "last words"` {
		t.Errorf("third event %q, want the unfinished last line at the end", e)
	}
	if e := next(); e != `end "failed"` {
		t.Errorf("last event %q, want the run's end", e)
	}
	if e, open := <-events; open {
		t.Errorf("the stream goes on after the end: %q", e)
	}
}

// TestFilesThatWouldSwellArePagedWithinBounds opens files and diffs
// crafted to blow up when pretty-printed or diffed: each page answers in
// time and stays small.
func TestFilesThatWouldSwellArePagedWithinBounds(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	// 20 KB of nested arrays: 200 MB once indented.
	nested := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	// Shallow and valid, just under 1 MiB: about 95 MB once indented.
	wide := strings.Repeat("[", 90) + "0" + strings.Repeat(",0", 520000) + strings.Repeat("]", 90)
	// Two different texts of nearly 1 MiB: 140,000 lines of diff.
	var oldText, newText strings.Builder
	for i := 0; oldText.Len() < 1<<20-32; i++ {
		fmt.Fprintf(&oldText, "line %07d a\n", i)
		fmt.Fprintf(&newText, "line %07d b\n", i)
	}
	// 60 KB, 3 MB indented: more than a diff takes.
	shallow := func(n string) string {
		return strings.Repeat("[", 50) + n + strings.Repeat(","+n, 30000) + strings.Repeat("]", 50)
	}
	// Fewer lines, but longer: 2 MB of diff.
	oldLong, newLong := strings.Repeat(strings.Repeat("a", 999)+"\n", 1000), strings.Repeat(strings.Repeat("b", 999)+"\n", 1000)
	v1 := addArchivedRun(t, env, "gold", "202611/25_101000", map[string]string{"nested.json": nested, "wide.json": wide,
		"lines.txt": oldText.String(), "long.txt": oldLong, "shallow.json": shallow("0"), "deep.json": strings.Repeat("[", 2000) + strings.Repeat("]", 2000)})
	v2 := addArchivedRun(t, env, "gold", "202611/25_101010", map[string]string{"lines.txt": newText.String(), "long.txt": newLong,
		"deep.json": "[]", "shallow.json": shallow("1")})
	b := loggedIn(t, env, "vera", webui.RoleViewer)

	for _, tt := range []struct {
		desc, path string
		maxBody    int
		want       string
	}{
		{"deeply nested JSON", fmt.Sprintf("/runs/%d/file?name=nested.json", v1), 1 << 20, "shown as is: too deeply nested to pretty-print"},
		{"JSON too large indented", fmt.Sprintf("/runs/%d/file?name=wide.json", v1), 2 << 20, "[[[[0,0,0,0"},
		{"diff of two different 1 MiB files", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=lines.txt", v1, v2), 3 << 20,
			"diff cut at 5000 lines; download both versions"},
		{"diff of long lines", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=long.txt", v1, v2), 3 << 20, "diff cut at"},
		{"diff of JSON too large indented", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=shallow.json", v1, v2), 1 << 20,
			"compared as is: too large to pretty-print"},
		{"diff of deeply nested JSON", fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=deep.json", v1, v2), 1 << 20,
			"compared as is: too deeply nested to pretty-print"},
	} {
		a, ok := getWithin(b, tt.path, 20*time.Second, 8<<20)
		switch {
		case !ok:
			t.Errorf("%s: no answer within 20 s", tt.desc)
		case a.err != nil || a.code != 200:
			t.Errorf("%s: %d %v, want 200", tt.desc, a.code, a.err)
		case a.cut || len(a.body) > tt.maxBody:
			t.Errorf("%s: a page of %d bytes (cut: %t), want at most %d", tt.desc, len(a.body), a.cut, tt.maxBody)
		case !strings.Contains(a.body, tt.want):
			t.Errorf("%s: the page lacks %q", tt.desc, tt.want)
		case strings.Contains(a.body, "[\n  ["):
			t.Errorf("%s: pretty-printed anyway", tt.desc)
		}
		if n := strings.Count(a.body, `<span class="add">`) + strings.Count(a.body, `<span class="del">`); n > 5000 {
			t.Errorf("%s: %d changed lines shown, want at most 5000", tt.desc, n)
		}
	}
}

func TestANamedPipeInPlaceOfAnArchivedFileIsRefusedWithoutHanging(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	v1 := addArchivedRun(t, env, "gold", "202611/25_101000", map[string]string{"prices.txt": "1\n"})
	v2 := addArchivedRun(t, env, "gold", "202611/25_101010", map[string]string{"prices.txt": "2\n"})
	p := filepath.Join(env.Config.TasksDir, "gold", "history", "202611", "25_101010", "prices.txt")
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, p) // after console: its cleanup lets a hung request go before the server shuts down
	for _, path := range []string{
		fmt.Sprintf("/runs/%d/file?name=prices.txt", v2),
		fmt.Sprintf("/runs/%d/file?name=prices.txt&download=1", v2),
		fmt.Sprintf("/tasks/gold/diff?a=%d&b=%d&file=prices.txt", v1, v2),
	} {
		a, ok := getWithin(b, path, 5*time.Second, 1<<20)
		if !ok {
			t.Errorf("GET %s: no answer within 5 s", path)
			continue
		}
		if a.err != nil || a.code != 404 || !strings.Contains(a.body, "not a regular file") {
			t.Errorf("GET %s: %d %v, want 404 and why", path, a.code, a.err)
		}
	}
}

func TestDownloadsKeepNamesThatAreNotASCII(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	files := map[string]string{"价格.json": `{"价格":1}`, "plain.txt": "p\n", `say "hi" 😀 100%.txt`: "hi\n"}
	id := addArchivedRun(t, env, "gold", "202611/25_101000", files)
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	for _, tt := range []struct {
		name, header string
	}{
		{"价格.json", `attachment; filename="__.json"; filename*=UTF-8''%E4%BB%B7%E6%A0%BC.json`},
		{"plain.txt", `attachment; filename="plain.txt"`},
		{`say "hi" 😀 100%.txt`, `attachment; filename="say _hi_ _ 100%.txt"; filename*=UTF-8''say%20%22hi%22%20%F0%9F%98%80%20100%25.txt`},
	} {
		code, body, h := b.do("GET", fmt.Sprintf("/runs/%d/file?name=%s&download=1", id, url.QueryEscape(tt.name)), nil)
		if code != 200 || body != files[tt.name] {
			t.Errorf("download %q: %d %q", tt.name, code, body)
			continue
		}
		cd := h.Get("Content-Disposition")
		if cd != tt.header {
			t.Errorf("download %q: Content-Disposition %s, want %s", tt.name, cd, tt.header)
		}
		// A client that reads RFC 6266 gets the name back whole.
		if _, params, err := mime.ParseMediaType(cd); err != nil || params["filename"] != tt.name {
			t.Errorf("download %q: the header reads as %q (%v)", tt.name, params["filename"], err)
		}
	}
}

var (
	historyRowID = regexp.MustCompile(`<td><code>[^<]*</code></td><td><a href="/runs/(\d+)">`)
	historyOlder = regexp.MustCompile(`href="([^"]*)" id="older"`)
	historyNewer = regexp.MustCompile(`href="([^"]*)" id="newer"`)
)

// historyWalk follows the history's links named by next from path to the
// last page, and returns the run ids listed on each page, in order, with
// the last page's body.
func historyWalk(t *testing.T, b *browser, path string, next *regexp.Regexp) (pages [][]int64, last string) {
	t.Helper()
	for path != "" {
		code, body, _ := b.do("GET", path, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		var ids []int64
		for _, m := range historyRowID.FindAllStringSubmatch(body, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
		pages, last, path = append(pages, ids), body, ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
		if len(pages) > 100 {
			t.Fatal("more than 100 pages")
		}
	}
	return pages, last
}

func TestHistoryPagesThroughEveryVersionAndDiffsAnyTwo(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	var ids []int64 // oldest first
	for i := range 300 {
		ids = append(ids, addArchivedRun(t, env, "gold", fmt.Sprintf("202611/25_1%05d", i),
			map[string]string{"price.txt": fmt.Sprintf("price %d\n", i)}))
	}
	addArchivedRun(t, env, "other", "202611/26_100000", map[string]string{"price.txt": "other\n"})
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	oldest, newest := ids[0], ids[len(ids)-1]
	b := loggedIn(t, env, "vera", webui.RoleViewer)

	// Older versions →, from the newest to the oldest: each version once.
	pages, lastPage := historyWalk(t, b, "/tasks/gold/history", historyOlder)
	if got := slices.Concat(pages...); !slices.Equal(got, newestFirst) {
		t.Fatalf("walking older: %d pages list %d versions, want all 300 once, newest first", len(pages), len(got))
	}
	// ← Newer versions, back from the last page: the same pages.
	if !strings.Contains(lastPage, `id="newer"`) {
		t.Fatal("the last page has no link to newer versions")
	}
	m := historyNewer.FindStringSubmatch(lastPage)
	back, _ := historyWalk(t, b, html.UnescapeString(m[1]), historyNewer)
	slices.Reverse(back)
	if got := slices.Concat(slices.Concat(back, pages[len(pages)-1:])...); !slices.Equal(got, newestFirst) {
		t.Errorf("walking newer from the last page: %d versions, want all 300 once", len(got))
	}

	// Pick the oldest on the last page, walk back to the newest, and
	// follow its diff link: the two ends of the history compared.
	compare := regexp.MustCompile(fmt.Sprintf(`href="([^"]*with=%d)" class="compare-with"`, oldest))
	m = compare.FindStringSubmatch(lastPage)
	if m == nil {
		t.Fatal("the oldest version has no compare-with link")
	}
	withPages, firstPage := historyWalk(t, b, html.UnescapeString(m[1]), historyNewer)
	if got := slices.Concat(withPages...); len(got) != 300 {
		t.Errorf("walking newer while comparing: %d versions, want 300", len(got))
	}
	diffWith := regexp.MustCompile(fmt.Sprintf(`href="(/tasks/gold/diff\?a=%d&amp;b=%d&amp;file=price.txt)"`, oldest, newest))
	m = diffWith.FindStringSubmatch(firstPage)
	if m == nil {
		t.Fatalf("the newest version has no diff link with the oldest:\n%s", firstPage)
	}
	for _, path := range []string{html.UnescapeString(m[1]),
		fmt.Sprintf("/tasks/gold/diff?a=%%23%d&b=%d&file=price.txt", newest, oldest)} { // typed in the form
		code, page, _ := b.do("GET", path, nil)
		if code != 200 || !strings.Contains(page, `<span class="del">-price 0</span>`) || !strings.Contains(page, `<span class="add">&#43;price 299</span>`) {
			t.Errorf("GET %s: %d, want the diff of the oldest and newest versions", path, code)
		}
	}

	for _, path := range []string{"/tasks/gold/history?older=x", fmt.Sprintf("/tasks/other/history?with=%d", oldest)} {
		if code, _, _ := b.do("GET", path, nil); code != 400 && code != 404 {
			t.Errorf("GET %s: %d, want refused", path, code)
		}
	}
}
