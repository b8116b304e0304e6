package webui_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// TestTaskRetentionFieldsAndDiskUse: keep_runs and keep_days are read
// from the form (blank is the global default, NULL; a bad value comes
// back with its field's error), the task page shows the effective
// retention, saying which is the default, and what the task's logs and
// history take on disk.
var taskLinkRE = regexp.MustCompile(`<tr><td><a href="/tasks/([^"]+)">`)

func TestTaskRetentionFieldsAndDiskUse(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "ada", "ada password", webui.RoleAdmin)
	admin := newBrowser(t, consoleWith(t, env, func(o *webui.Options) {
		o.Retention = tasktype.Retention{KeepDays: 30}
	}))
	if admin.login("ada", "ada password") != 303 {
		t.Fatal("ada could not log in")
	}
	for _, bad := range []string{"-1", "many", "1.5"} {
		code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "bad", "rule", "* * * * *", "keep_runs", bad))
		if code != 422 || !strings.Contains(body, "a whole number from 0 (no limit)") || !formField("keep_runs", bad).MatchString(body) {
			t.Errorf("keep_runs=%q: %d, want 422 with the field's error and the value typed", bad, code)
		}
	}
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "gold", "rule", "* * * * *",
		"keep_runs", "5", "keep_days", "")); code != 303 {
		t.Fatalf("create: %d\n%s", code, body)
	}
	task, err := env.Store.GetTask(ctx, "gold")
	if err != nil || show(task.KeepRuns) != "5" || task.KeepDays != nil {
		t.Fatalf("saved keep_runs %s, keep_days %s, %v; want 5, nil", show(task.KeepRuns), show(task.KeepDays), err)
	}
	dir := filepath.Join(env.Config.TasksDir, "gold")
	for rel, size := range map[string]int{"logs/202611/24/101530.log": 2048, "history/202611/24_101530/out.json": 100} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, page, _ := admin.do("GET", "/tasks/gold", nil)
	for _, want := range []string{
		`<dt>keeps runs</dt><dd class="retention">the newest 5 runs</dd>`,
		`<dt>keeps days</dt><dd class="retention">30 days (default)</dd>`,
		`<dt>disk use</dt><dd class="retention">logs 2.0 KiB, history 100 B</dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
	// The task list sorts by disk use when asked, largest first.
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "aaa-empty"})
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "big"})
	bigLog := filepath.Join(env.Config.TasksDir, "big", "logs", "202611", "24", "101530.log")
	if err := os.MkdirAll(filepath.Dir(bigLog), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bigLog, make([]byte, 10240), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{"/", "aaa-empty big gold"},
		{"/?sort=disk", "big gold aaa-empty"},
	} {
		_, list, _ := admin.do("GET", tt.path, nil)
		var order []string
		for _, m := range taskLinkRE.FindAllStringSubmatch(list, -1) {
			order = append(order, m[1])
		}
		if got := strings.Join(order, " "); got != tt.want {
			t.Errorf("GET %s lists %q, want %q", tt.path, got, tt.want)
		}
	}
	_, list, _ := admin.do("GET", "/?sort=disk", nil)
	if !strings.Contains(list, `<td class="disk">logs 10.0 KiB, history 0 B</td>`) {
		t.Errorf("the list sorted by disk use does not show big's")
	}

	// The edit form shows what is saved, and 0 is no limit.
	_, edit, _ := admin.do("GET", "/tasks/gold/edit", nil)
	if !formField("keep_runs", "5").MatchString(edit) || !formField("keep_days", "").MatchString(edit) {
		t.Errorf("edit form lacks keep_runs=5, keep_days blank")
	}
	version := strings.SplitN(strings.SplitN(edit, `name="version" value="`, 2)[1], `"`, 2)[0]
	if code, body, _ := admin.do("POST", "/tasks/gold/edit", taskFormValues(admin, "/tasks/gold/edit", "rule", "* * * * *",
		"version", version, "keep_runs", "", "keep_days", "0")); code != 303 {
		t.Fatalf("edit: %d\n%s", code, body)
	}
	_, page, _ = admin.do("GET", "/tasks/gold", nil)
	for _, want := range []string{
		`<dt>keeps runs</dt><dd class="retention">no limit (default)</dd>`,
		`<dt>keeps days</dt><dd class="retention">no limit</dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("after the edit, task page lacks %q", want)
		}
	}
}
