package webui_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/webui"
)

// addRun inserts a run of task whose row says its log is at logPath.
func addRun(t *testing.T, env *testenv.Env, task, logPath string) int64 {
	t.Helper()
	var id int64
	if err := env.Store.Pool().QueryRow(context.Background(), `INSERT INTO t_task_exec_list (task_name, task_version,
		workflow_id, run_id, scheduled_time, log_path) VALUES ($1, '202611/25/101010-' || $2, 'wf-' || $2, 'r', now(), $2)
		RETURNING id`, task, logPath).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLogsAreShownPagedDownloadedAndConfinedToTheTaskFolder(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	root := env.Config.TasksDir
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var big strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&big, "line %05d <b>bold</b>\n", i)
	}
	write("gold/logs/202611/25/101010.log", big.String())
	write("other/secret.txt", "TOPSECRET-other\n")
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("TOPSECRET-outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "gold", "logs", "evil"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "gold", "logs", "evil", "link.log")); err != nil {
		t.Fatal(err)
	}
	good := addRun(t, env, "gold", "gold/logs/202611/25/101010.log")
	b := loggedIn(t, env, "vera", webui.RoleViewer)

	// The page shows the end of the log, escaped, cut on whole lines.
	code, body, _ := b.do("GET", fmt.Sprintf("/runs/%d", good), nil)
	if code != 200 || !strings.Contains(body, "line 19999 &lt;b&gt;bold&lt;/b&gt;") || strings.Contains(body, "line 00000") ||
		strings.Contains(body, "<b>bold</b>") {
		t.Fatalf("run page: %d, want the log's end, escaped", code)
	}
	// From the start, then the next chunk continues where it stopped.
	_, first, _ := b.do("GET", fmt.Sprintf("/runs/%d?log=0", good), nil)
	if !strings.Contains(first, "line 00000") || !strings.Contains(first, "later →") {
		t.Errorf("log from the start lacks its first line or the next link")
	}
	// The whole file downloads as it is.
	code, body, h := b.do("GET", fmt.Sprintf("/runs/%d/log", good), nil)
	if code != 200 || body != big.String() || !strings.Contains(h.Get("Content-Disposition"), `filename="gold-202611-25-101010-`) {
		t.Errorf("download: %d, %d bytes (want %d), %q", code, len(body), big.Len(), h.Get("Content-Disposition"))
	}

	// Rows that point anywhere else are refused, whatever they say.
	for _, p := range []string{"gold/../other/secret.txt", "gold/../../" + outside, outside, "other/secret.txt",
		"gold/logs/evil/link.log", "gold/", "gold/logs", "../gold/logs/202611/25/101010.log"} {
		id := addRun(t, env, "gold", p)
		code, body, _ := b.do("GET", fmt.Sprintf("/runs/%d/log", id), nil)
		if code != 404 || strings.Contains(body, "TOPSECRET") {
			t.Errorf("log path %q: %d %q, want 404", p, code, body)
		}
		if _, page, _ := b.do("GET", fmt.Sprintf("/runs/%d", id), nil); strings.Contains(page, "TOPSECRET") {
			t.Errorf("log path %q: the run page shows the file", p)
		}
	}
	for _, p := range []string{"/runs/..%2f..%2fetc%2fpasswd/log", "/runs/%2e%2e/log", "/runs/1%252f..%252f/log", "/runs/-1/log"} {
		if code, body, _ := b.do("GET", p, nil); code != 404 || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}

// answer is what a request got back, or that it got nothing in time.
type answer struct {
	code int
	body string
	// cut says the body was longer than the limit read.
	cut bool
	err error
}

// getWithin sends GET path and reads at most limit bytes of the answer;
// ok is false when no whole answer (status and body) came within the
// deadline. The request goes on in the background, so a handler that
// hangs fails the test instead of hanging it.
func getWithin(b *browser, path string, within time.Duration, limit int64) (a answer, ok bool) {
	done := make(chan answer, 1)
	go func() {
		req, err := http.NewRequest("GET", b.base+path, nil)
		if err != nil {
			done <- answer{err: err}
			return
		}
		req.Header.Set("Accept", "text/html")
		resp, err := b.c.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		done <- answer{code: resp.StatusCode, body: string(body), cut: int64(len(body)) > limit, err: err}
	}()
	select {
	case a := <-done:
		return a, true
	case <-time.After(within):
		return answer{}, false
	}
}

// mkfifo puts a named pipe at p, and lets anything still blocked opening
// it go when the test ends (call it after console, so that this runs
// before the server's shutdown, which waits for every request).
func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

func TestANamedPipeInPlaceOfALogIsRefusedWithoutHanging(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	rel := "gold/logs/202611/25/101010.log"
	id := addRun(t, env, "gold", rel)
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE t_task_exec_list SET status = 'failed', exit_code = 1,
		end_time = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	mkfifo(t, filepath.Join(env.Config.TasksDir, rel))
	for _, tt := range []struct {
		path     string
		wantCode int
		want     string
	}{
		{fmt.Sprintf("/runs/%d", id), 200, "not a regular file"}, // the run page says why there is no log
		{fmt.Sprintf("/runs/%d/log", id), 404, "not a regular file"},
		{fmt.Sprintf("/runs/%d/stream?from=0", id), 404, "not a regular file"},
	} {
		a, ok := getWithin(b, tt.path, 5*time.Second, 1<<20)
		if !ok {
			t.Errorf("GET %s: no answer within 5 s", tt.path)
			continue
		}
		if a.err != nil || a.code != tt.wantCode || !strings.Contains(a.body, tt.want) {
			t.Errorf("GET %s: %d %v, want %d and %q", tt.path, a.code, a.err, tt.wantCode, tt.want)
		}
	}
}

// logPage is one page of a run's log as the run page shows it, with the
// targets of its "← earlier" and "later →" links ("" when absent).
type logPage struct{ text, earlier, later string }

var (
	logText    = regexp.MustCompile(`(?s)<pre class="log" id="log">\n(.*?)</pre>`)
	logEarlier = regexp.MustCompile(`href="(\?(?:before|log)=\d+)" id="log-earlier"`)
	logLater   = regexp.MustCompile(`href="(\?log=\d+)" id="log-later"`)
)

func readLogPage(t *testing.T, b *browser, path string) logPage {
	t.Helper()
	code, body, _ := b.do("GET", path, nil)
	m := logText.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("GET %s: %d, no log shown", path, code)
	}
	p := logPage{text: html.UnescapeString(m[1])}
	if m := logEarlier.FindStringSubmatch(body); m != nil {
		p.earlier = m[1]
	}
	if m := logLater.FindStringSubmatch(body); m != nil {
		p.later = m[1]
	}
	return p
}

func TestLogPagesJoinExactlyBothWays(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	var short strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&short, "line %06d\n", i)
	}
	// Lines longer than half a page and than a page, in characters of
	// two to four bytes, and a last line without its newline.
	cjk := func(n int) string { return strings.Repeat("价格😀é", n) }
	long := strings.Join([]string{"start", cjk(15000), "x", cjk(4000), "y", cjk(6000), "z" + cjk(100000), "a", "b" + cjk(5000)}, "\n")
	for _, tt := range []struct {
		desc, content string
	}{
		{"100,000 short lines", short.String()},
		{"lines longer than a page", long},
		{"one line of a megabyte", cjk(100000)},
		{"blank lines", strings.Repeat("\n\n.\n", 50000)},
		{"an empty log", ""},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			name := strings.ReplaceAll(tt.desc, " ", "-")
			rel := "gold/logs/202611/25/" + name + ".log"
			p := filepath.Join(env.Config.TasksDir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			id := addRun(t, env, "gold", rel)
			if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE t_task_exec_list SET status = 'succeeded', exit_code = 0,
				end_time = now() WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			run := fmt.Sprintf("/runs/%d", id)

			// Forward from the start, following every "later →".
			var forward []string
			for path := run + "?log=0"; path != ""; {
				pg := readLogPage(t, b, path)
				forward = append(forward, pg.text)
				if len(forward) > 1000 {
					t.Fatal("more than 1000 pages")
				}
				path = ""
				if pg.later != "" {
					path = run + html.UnescapeString(pg.later)
				}
			}
			// Backward from the end, following every "← earlier".
			var backward []string
			for path := run; path != ""; {
				pg := readLogPage(t, b, path)
				backward = append(backward, pg.text)
				if len(backward) > 1000 {
					t.Fatal("more than 1000 pages")
				}
				path = ""
				if pg.earlier != "" {
					path = run + html.UnescapeString(pg.earlier)
				}
			}
			slices.Reverse(backward)
			for dir, pages := range map[string][]string{"forward": forward, "backward": backward} {
				if got := strings.Join(pages, ""); got != tt.content {
					t.Errorf("%s: %d pages join into %d bytes, want the log's %d, each line once and in order (first difference at %d)",
						dir, len(pages), len(got), len(tt.content), firstDifference(got, tt.content))
				}
				for i, text := range pages {
					if len(text) > 64<<10 {
						t.Errorf("%s: page %d holds %d bytes, more than a page", dir, i, len(text))
					}
					if strings.ContainsRune(text, utf8.RuneError) {
						t.Errorf("%s: page %d has a character cut in two", dir, i)
					}
				}
			}
		})
	}

	// An offset typed by hand: a line's start is where the page starts,
	// anywhere else the page starts at the next line.
	rel := "gold/logs/202611/25/typed.log"
	if err := os.MkdirAll(filepath.Join(env.Config.TasksDir, filepath.Dir(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.Config.TasksDir, rel), []byte(short.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	id := addRun(t, env, "gold", rel)
	for _, tt := range []struct {
		offset int
		want   string
	}{{0, "line 000000\n"}, {12 * 1884, "line 001884\n"}, {12*1884 - 1, "line 001884\n"}, {12*1884 + 1, "line 001885\n"}} {
		if pg := readLogPage(t, b, fmt.Sprintf("/runs/%d?log=%d", id, tt.offset)); !strings.HasPrefix(pg.text, tt.want) {
			t.Errorf("?log=%d starts with %.20q, want %q", tt.offset, pg.text, tt.want)
		}
	}
}

// firstDifference is the first byte offset where a and b differ.
func firstDifference(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
