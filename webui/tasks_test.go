package webui_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

func taskFormValues(b *browser, tokenPage string, kv ...string) url.Values {
	v := url.Values{"_csrf": {b.token(tokenPage)}, "time_zone": {"UTC"}, "timeout": {"60"},
		"timeout_action": {"kill"}, "overlap": {"skip"}, "enabled": {"1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestAdminCreatesEditsAndDeletesTasksWithAudit walks the task form: bad
// input comes back with the field's error and nothing saved, a stale edit
// is refused, every change is audited with before and after, and delete
// wants the name typed.
func TestAdminCreatesEditsAndDeletesTasksWithAudit(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "ada", "admin password", webui.RoleAdmin)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	base := console(t, env)
	admin := newBrowser(t, base)
	if admin.login("ada", "admin password") != 303 {
		t.Fatal("admin login failed")
	}

	bad := []struct{ field, value, want string }{
		{"rule", "*/2 25 * * *", "hour: 25 is out of range 0-23"},
		{"name", "../etc", "invalid task name"},
		{"time_zone", "Mars/Olympus", "unknown time zone"},
		{"owners", "ops@example.com, <script>", "neither an e-mail address nor a Slack member id"},
		{"webhook_url", "javascript:alert(1)", "http:// or https://"},
		{"timeout", "-5", "seconds from 0"},
		{"overlap", "sometimes", "one of skip, buffer_one"},
	}
	for _, tt := range bad {
		form := taskFormValues(admin, "/create", "name", "silver", "rule", "*/5 * * * * *")
		form.Set(tt.field, tt.value)
		code, body, _ := admin.do("POST", "/create", form)
		if code != 422 || !strings.Contains(body, htmlEscape(tt.want)) {
			t.Errorf("%s=%q: %d, want 422 saying %q", tt.field, tt.value, code, tt.want)
		}
		if strings.Contains(body, "<script>") && !strings.Contains(body, "src=\"/static/app.js\"") {
			t.Errorf("%s=%q: the form echoes HTML unescaped", tt.field, tt.value)
		}
	}
	if _, err := env.Store.GetTask(ctx, "silver"); err == nil {
		t.Fatal("an invalid form created the task")
	}

	code, _, h := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "silver", "rule", "*/5 * * * * *",
		"owners", "ops@example.com U024BE7LH", "alert_channels", "email", "description", "silver prices"))
	if code != 303 || h.Get("Location") != "/tasks/silver" {
		t.Fatalf("create: %d %s", code, h.Get("Location"))
	}
	task, err := env.Store.GetTask(ctx, "silver")
	if err != nil || task.Rule != "*/5 * * * * *" || task.Timeout != time.Minute || task.Status != tasktype.StatusOn ||
		strings.Join(task.Owners, ",") != "ops@example.com,U024BE7LH" || strings.Join(task.AlertChannels, ",") != "email" {
		t.Fatalf("created task: %+v, %v", task, err)
	}
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "silver", "rule", "* * * * *")); code != 409 ||
		!strings.Contains(body, "exists already") {
		t.Errorf("create twice: %d, want 409", code)
	}

	// The task page says the rule in words, the next fires and that no entrypoint is deployed.
	_, page, _ := admin.do("GET", "/tasks/silver", nil)
	for _, want := range []string{"every 5 seconds", "not deployed: there is no folder task/silver"} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks %q\n%s", want, page)
		}
	}
	if n := len(regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d[05] UTC<br>`).FindAllString(page, -1)); n != 5 {
		t.Errorf("task page shows %d next fire times on multiples of 5 s, want 5", n)
	}

	// Edit: the form carries the version it was read at.
	_, edit, _ := admin.do("GET", "/tasks/silver/edit", nil)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(edit)
	if version == nil {
		t.Fatal("the edit form has no version")
	}
	form := taskFormValues(admin, "/tasks/silver/edit", "rule", "0 30 9 * * 1-5", "time_zone", "Asia/Shanghai",
		"owners", "ops@example.com", "version", version[1])
	form.Del("enabled")
	form.Set("note", "supplier holiday")
	if code, _, _ := admin.do("POST", "/tasks/silver/edit", form); code != 303 {
		t.Fatalf("edit: %d", code)
	}
	task, _ = env.Store.GetTask(ctx, "silver")
	if task.Rule != "0 30 9 * * 1-5" || task.TimeZone != "Asia/Shanghai" || task.Status != tasktype.StatusOff || task.StatusNote != "supplier holiday" {
		t.Errorf("edited task: %+v", task)
	}
	// The same (now stale) form again is refused and changes nothing.
	form.Set("_csrf", admin.token("/tasks/silver/edit"))
	form.Set("rule", "* * * * *")
	if code, body, _ := admin.do("POST", "/tasks/silver/edit", form); code != 409 || !strings.Contains(body, "someone changed this task") {
		t.Errorf("stale edit: %d, want 409", code)
	}
	if task, _ := env.Store.GetTask(ctx, "silver"); task.Rule != "0 30 9 * * 1-5" {
		t.Errorf("a stale edit overwrote the rule: %q", task.Rule)
	}
	_, page, _ = admin.do("GET", "/tasks/silver", nil)
	for _, want := range []string{"at 09:30 on Monday to Friday", "off</span>: supplier holiday",
		"<td>ada</td><td>edit</td>", "<td>rule</td><td><code>&#34;*/5 * * * * *&#34;</code></td><td><code>&#34;0 30 9 * * 1-5&#34;</code></td>",
		"<td>ada</td><td>create</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks %q\n%s", want, page)
		}
	}
	audit, err := env.Store.TaskAudit(ctx, "silver", 10)
	if err != nil || len(audit) != 2 || audit[0].Before["rule"] != "*/5 * * * * *" || audit[0].After["rule"] != "0 30 9 * * 1-5" {
		t.Errorf("audit: %+v, %v", audit, err)
	}

	// Operators and viewers may not create, edit or delete; nobody may without the CSRF token.
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	for user, password := range map[string]string{"olga": "operator password", "vera": "viewer password"} {
		other := newBrowser(t, base)
		if other.login(user, password) != 303 {
			t.Fatalf("%s login failed", user)
		}
		tok := other.token("/")
		for _, p := range []string{"/create", "/tasks/silver/edit", "/tasks/silver/delete"} {
			if code, _, _ := other.do("POST", p, url.Values{"_csrf": {tok}, "name": {"x"}, "rule": {"* * * * *"}, "confirm": {"silver"}}); code != 403 {
				t.Errorf("%s POST %s: %d, want 403", user, p, code)
			}
		}
		if code, _, _ := other.do("GET", "/tasks/silver/edit", nil); code != 403 {
			t.Errorf("%s GET the edit form: %d, want 403", user, code)
		}
	}
	for _, p := range []string{"/create", "/tasks/silver/edit", "/tasks/silver/delete"} {
		if code, _, _ := admin.do("POST", p, url.Values{"name": {"x"}, "rule": {"* * * * *"}, "confirm": {"silver"}}); code != 403 {
			t.Errorf("admin POST %s without a CSRF token: %d, want 403", p, code)
		}
	}

	// Delete needs the name typed.
	if code, _, _ := admin.do("POST", "/tasks/silver/delete", url.Values{"_csrf": {admin.token("/tasks/silver")}, "confirm": {"silv"}}); code != 400 {
		t.Errorf("delete with a wrong confirmation: %d, want 400", code)
	}
	if code, _, _ := admin.do("POST", "/tasks/silver/delete", url.Values{"_csrf": {admin.token("/tasks/silver")}, "confirm": {"silver"}}); code != 303 {
		t.Errorf("delete: %d, want 303", code)
	}
	if _, err := env.Store.GetTask(ctx, "silver"); err == nil {
		t.Error("the task is still there")
	}
	if audit, _ := env.Store.TaskAudit(ctx, "silver", 10); len(audit) != 3 || audit[0].Action != "delete" || audit[0].Before["rule"] == nil {
		t.Errorf("delete not audited with what was deleted: %+v", audit)
	}
}

func TestRulePreviewAnswersAsPeopleType(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	for _, tt := range []struct {
		rule, tz string
		ok       bool
		want     string
	}{
		{"*/10 * * * * *", "UTC", true, "every 10 seconds"},
		{"0 0 1 * 1", "Asia/Shanghai", true, "at 00:00 on day 1 of the month or on Monday"},
		{"*/2 25 * * *", "UTC", false, "hour: 25 is out of range 0-23"},
		{"* * * * *", "Nowhere/Land", false, "unknown time zone"},
	} {
		_, body, _ := b.do("GET", "/api/rule?"+url.Values{"rule": {tt.rule}, "tz": {tt.tz}}.Encode(), nil, "Accept", "application/json")
		var p struct {
			OK    bool
			Error string
			Words string
			Next  []string
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%q: %v: %s", tt.rule, err, body)
		}
		if p.OK != tt.ok || !strings.Contains(p.Words+p.Error, tt.want) || (tt.ok && len(p.Next) != 5) {
			t.Errorf("preview %q in %s: %+v, want ok=%v and %q with 5 fire times", tt.rule, tt.tz, p, tt.ok, tt.want)
		}
	}
}

// TestTaskListShowsWordsNextFireAndLastRun: the list answers "is it on,
// when does it run, how did it last go" at a glance.
func TestTaskListShowsWordsNextFireAndLastRun(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	for _, task := range []tasktype.Task{
		{Name: "gold", Rule: "*/10 * * * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip},
		{Name: "tin", Rule: "0 25 * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOff, Overlap: tasktype.OverlapSkip, StatusNote: "broken feed"},
	} {
		if err := env.Store.UpsertTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range []string{"succeeded", "failed"} {
		if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
			scheduled_time, start_time, end_time, status, exit_code)
			VALUES ('gold', $1, 'wf', $1, now(), now() - interval '1 minute' + $2 * interval '10 second',
				now() - interval '1 minute' + $2 * interval '10 second' + interval '2.5 second', $3, $4)`,
			"v"+st, i, st, map[string]int{"succeeded": 0, "failed": 3}[st]); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	_, body, _ := b.do("GET", "/", nil)
	for _, want := range []string{"every 10 seconds", `class="failed">failed (3)</a>`, "<td>2.5s</td>", "hour: 25 is out of range", "broken feed"} {
		if !strings.Contains(body, want) {
			t.Errorf("task list lacks %q", want)
		}
	}
	if regexp.MustCompile(`\d\d:\d\d:\d0 UTC</td>`).FindString(body) == "" {
		t.Error("task list lacks gold's next fire on a multiple of 10 s")
	}
	if strings.Contains(body, "create one") || strings.Contains(body, `href="/create"`) {
		t.Error("a viewer is offered task creation")
	}
	_, page, _ := b.do("GET", "/tasks/gold", nil)
	if !strings.Contains(page, `<svg class="chart"`) || strings.Count(page, "<rect x=") < 2 || !strings.Contains(page, "failed 1") {
		t.Error("the task page lacks the duration chart with both runs")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
