package webui_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}

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
