package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// taskFixture is a task with the settings every test needs; set changes
// what matters to the test.
func taskFixture(name string, set func(*tasktype.Task)) tasktype.Task {
	t := tasktype.Task{Name: name, Rule: "0 0 1 1 *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
		Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}
	if set != nil {
		set(&t)
	}
	return t
}

func upsertTask(t *testing.T, env *testenv.Env, task tasktype.Task) {
	t.Helper()
	if err := env.Store.UpsertTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
}

// TestLengthLimitsCountCharacters: the note and the description are
// limited in characters, not bytes, in the task form and in the disable
// form; too long comes back with the form, what was typed and why.
func TestLengthLimitsCountCharacters(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)
	note300, note501 := strings.Repeat("价", 300), strings.Repeat("格", 501)

	form := taskFormValues(admin, "/create", "name", "cjk", "rule", "0 9 * * *", "note", note300,
		"description", strings.Repeat("说明", 2000))
	form.Del("enabled")
	if code, body, _ := admin.do("POST", "/create", form); code != 303 {
		t.Fatalf("a 300-character Chinese note: %d, want it saved\n%s", code, body)
	}
	if got, err := env.Store.GetTask(ctx, "cjk"); err != nil || got.StatusNote != note300 {
		t.Fatalf("saved note: %q, %v", got.StatusNote, err)
	}

	for _, tt := range []struct{ field, value, want string }{
		{"note", note501, "the note is 501 characters long: at most 500"},
		{"description", strings.Repeat("说", 4001), "the description is 4001 characters long: at most 4000"},
	} {
		form := taskFormValues(admin, "/create", "name", "long", "rule", "0 9 * * *", tt.field, tt.value)
		form.Del("enabled")
		code, body, _ := admin.do("POST", "/create", form)
		if code != 422 || !strings.Contains(body, tt.want) {
			t.Errorf("%s of %d characters: %d, want 422 saying %q", tt.field, len([]rune(tt.value)), code, tt.want)
		}
		if !strings.Contains(body, tt.value) {
			t.Errorf("%s: the form does not keep what was typed", tt.field)
		}
	}

	// The disable form on the task page counts the same way.
	upsertTask(t, env, taskFixture("gold", nil))
	code, _, _ := admin.do("POST", "/tasks/gold/pause", url.Values{"_csrf": {admin.token("/tasks/gold")}, "note": {note300}})
	if got, _ := env.Store.GetTask(ctx, "gold"); code != 303 || got.Status != tasktype.StatusOff || got.StatusNote != note300 {
		t.Errorf("disable with a 300-character Chinese note: %d, status %d, note %q", code, got.Status, got.StatusNote)
	}
	upsertTask(t, env, taskFixture("gold", nil))
	code, body, _ := admin.do("POST", "/tasks/gold/pause", url.Values{"_csrf": {admin.token("/tasks/gold")}, "note": {note501}})
	if code != 422 || !strings.Contains(body, "Not disabled: the note is 501 characters long: at most 500") ||
		!strings.Contains(body, `value="`+note501+`"`) {
		t.Errorf("disable with a 501-character note: %d, want 422 with the task page, the note kept and why", code)
	}
	if got, _ := env.Store.GetTask(ctx, "gold"); got.Status != tasktype.StatusOn {
		t.Error("a refused disable disabled the task")
	}
}

// TestTimeZoneMustBeAnIANAName: "Local" (the host's zone) and a blank
// zone are refused by the form, the rule preview and the database; a
// blank form field means UTC.
func TestTimeZoneMustBeAnIANAName(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)

	code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "here", "rule", "0 9 * * *", "time_zone", "Local"))
	if code != 422 || !strings.Contains(body, htmlEscape(`time zone "Local": use an IANA name`)) {
		t.Errorf("time zone Local: %d, want 422 asking for an IANA name", code)
	}
	if _, err := env.Store.GetTask(ctx, "here"); err == nil {
		t.Error("a task in zone Local was created")
	}
	p := rulePreview(t, admin, "0 9 * * *", "Local")
	if p.OK || !strings.Contains(p.Error, "IANA") {
		t.Errorf("preview in Local: %+v, want refused", p)
	}

	if code, _, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "blank", "rule", "0 9 * * *", "time_zone", "")); code != 303 {
		t.Fatalf("blank zone: %d, want created in UTC", code)
	}
	if got, _ := env.Store.GetTask(ctx, "blank"); got.TimeZone != "UTC" {
		t.Errorf("blank zone saved as %q, want UTC", got.TimeZone)
	}

	// Raw SQL rather than testenv.Task, which reads an empty zone as unset.
	for _, zone := range []string{"Local", ""} {
		_, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_list (task_name, rule, time_zone) VALUES ('db', '0 9 * * *', $1)`, zone)
		if err == nil || !strings.Contains(err.Error(), "IANA") {
			t.Errorf("the database took time_zone %q: %v", zone, err)
		}
		_, err = env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET time_zone = $1 WHERE task_name = 'blank'`, zone)
		if err == nil {
			t.Errorf("the database changed a time_zone to %q", zone)
		}
	}
}

type preview struct {
	OK    bool
	Error string
	Words string
	Next  []string
}

func rulePreview(t *testing.T, b *browser, rule, tz string) preview {
	t.Helper()
	_, body, _ := b.do("GET", "/api/rule?"+url.Values{"rule": {rule}, "tz": {tz}}.Encode(), nil, "Accept", "application/json")
	var p preview
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%q: %v: %s", rule, err, body)
	}
	return p
}

// TestRulesThatNeverFireAreRefused: the form and its live explanation
// refuse a rule with no date to fire on; February 29 is a date.
func TestRulesThatNeverFireAreRefused(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)
	for _, tt := range []struct{ rule, want string }{
		{"0 0 30 2 *", "never fires: February has no day 30"},
		{"0 0 31 4 *", "never fires: April has no day 31"},
		{"0 0 0 31 4 *", "never fires: April has no day 31"},
	} {
		if p := rulePreview(t, admin, tt.rule, "UTC"); p.OK || !strings.Contains(p.Error, tt.want) || len(p.Next) != 0 {
			t.Errorf("preview %q: %+v, want refused saying %q", tt.rule, p, tt.want)
		}
		code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "never", "rule", tt.rule))
		if code != 422 || !strings.Contains(body, tt.want) {
			t.Errorf("create with %q: %d, want 422 saying %q", tt.rule, code, tt.want)
		}
	}
	for _, r := range []string{"0 0 29 2 *", "0 0 0 29 2 *"} {
		if p := rulePreview(t, admin, r, "Asia/Shanghai"); !p.OK || len(p.Next) != 5 || !strings.Contains(p.Next[0], "-02-29 00:00:00") {
			t.Errorf("preview %q: %+v, want five February 29ths", r, p)
		}
	}
}

var (
	versionField = regexp.MustCompile(`name="version" value="(\d+)"`)
	baseField    = regexp.MustCompile(`name="base" value="([^"]*)"`)
)

// TestStaleEditKeepsTheInputAndSaysWhatChanged: an edit refused because
// someone changed the task meanwhile comes back with what was typed,
// what they changed, and the task's new version, so that saving again
// works.
func TestStaleEditKeepsTheInputAndSaysWhatChanged(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	upsertTask(t, env, taskFixture("gold", func(t *tasktype.Task) { t.Rule = "*/5 * * * *"; t.Description = "prices" }))
	ada := loggedIn(t, env, "ada", webui.RoleAdmin)
	bob := loggedIn(t, env, "bob", webui.RoleAdmin)

	_, edit, _ := ada.do("GET", "/tasks/gold/edit", nil)
	version := versionField.FindStringSubmatch(edit)
	if version == nil {
		t.Fatal("the edit form lacks its version")
	}
	adaForm := taskFormValues(ada, "/tasks/gold/edit", "rule", "*/5 * * * *", "description", "gold prices, hourly",
		"version", version[1])
	if base := baseField.FindStringSubmatch(edit); base != nil {
		adaForm.Set("base", html.UnescapeString(base[1]))
	} else {
		t.Error("the edit form lacks the settings it was read with")
	}

	// Bob changes the rule while Ada types.
	_, bobEdit, _ := bob.do("GET", "/tasks/gold/edit", nil)
	if code, _, _ := bob.do("POST", "/tasks/gold/edit", taskFormValues(bob, "/tasks/gold/edit", "rule", "0 * * * *",
		"description", "prices", "version", versionField.FindStringSubmatch(bobEdit)[1])); code != 303 {
		t.Fatalf("bob's edit: %d", code)
	}

	code, body, _ := ada.do("POST", "/tasks/gold/edit", adaForm)
	if code != 409 || !strings.Contains(body, "someone changed this task") {
		t.Fatalf("stale edit: %d, want 409", code)
	}
	if !strings.Contains(body, `value="gold prices, hourly"`) && !strings.Contains(body, ">gold prices, hourly</textarea>") {
		t.Error("the refused form lost the description Ada typed")
	}
	conflict := regexp.MustCompile(`(?s)<div id="conflict">.*?</div>`).FindString(body)
	for _, want := range []string{
		"<td>rule</td><td><code>&#34;*/5 * * * *&#34;</code></td><td><code>&#34;0 * * * *&#34;</code></td>",
		"<td>description</td><td><code>&#34;prices&#34;</code></td><td><code>&#34;gold prices, hourly&#34;</code></td>",
	} {
		if !strings.Contains(conflict, want) {
			t.Errorf("the conflict lacks %q:\n%s", want, conflict)
		}
	}
	newVersion, newBase := versionField.FindStringSubmatch(body), baseField.FindStringSubmatch(body)
	if newVersion == nil || newVersion[1] == version[1] || newBase == nil {
		t.Fatalf("the refused form keeps the stale version %v", newVersion)
	}
	if got, _ := env.Store.GetTask(ctx, "gold"); got.Rule != "0 * * * *" {
		t.Errorf("the stale edit overwrote bob's rule: %q", got.Rule)
	}

	// Having looked, Ada saves the form she got back.
	adaForm.Set("_csrf", ada.token("/tasks/gold/edit"))
	adaForm.Set("version", newVersion[1])
	adaForm.Set("base", html.UnescapeString(newBase[1]))
	if code, body, _ := ada.do("POST", "/tasks/gold/edit", adaForm); code != 303 {
		t.Fatalf("saving again: %d, want saved\n%s", code, body)
	}
	if got, _ := env.Store.GetTask(ctx, "gold"); got.Description != "gold prices, hourly" || got.Rule != "*/5 * * * *" {
		t.Errorf("after saving again: rule %q, description %q", got.Rule, got.Description)
	}
}

// TestDeleteConfirmationMatchesTheNameLiterally: the browser's pattern
// escapes the name's '.', and the server compares exactly.
func TestDeleteConfirmationMatchesTheNameLiterally(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	upsertTask(t, env, taskFixture("a.b", nil))
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)
	_, page, _ := admin.do("GET", "/tasks/a.b", nil)
	m := regexp.MustCompile(`name="confirm"[^>]* pattern="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the delete form has no pattern")
	}
	// A browser anchors the pattern: ^(?:pattern)$.
	pattern := regexp.MustCompile(`^(?:` + html.UnescapeString(m[1]) + `)$`)
	if pattern.MatchString("axb") || !pattern.MatchString("a.b") {
		t.Errorf("pattern %q: matches axb %v, a.b %v; want only a.b", m[1], pattern.MatchString("axb"), pattern.MatchString("a.b"))
	}
	if code, _, _ := admin.do("POST", "/tasks/a.b/delete", url.Values{"_csrf": {admin.token("/tasks/a.b")}, "confirm": {"axb"}}); code != 400 {
		t.Errorf("delete confirmed with axb: %d, want 400", code)
	}
	if code, _, _ := admin.do("POST", "/tasks/a.b/delete", url.Values{"_csrf": {admin.token("/tasks/a.b")}, "confirm": {"a.b"}}); code != 303 {
		t.Errorf("delete confirmed with a.b: %d, want 303", code)
	}
}

// TestDeletedTaskPageLinksNoSchedule: the page of a deleted task says its
// schedule is gone, and links none, even before sync has noticed.
func TestDeletedTaskPageLinksNoSchedule(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	upsertTask(t, env, taskFixture("gone", nil))
	if err := env.Store.SetSyncState(ctx, store.SyncState{TaskName: "gone", ScheduleID: "task-gone", SpecHash: "abc"}); err != nil {
		t.Fatal(err)
	}
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)
	if _, page, _ := admin.do("GET", "/tasks/gone", nil); !strings.Contains(page, "/schedules/task-gone") {
		t.Fatal("the live task's page does not link its schedule")
	}
	if code, _, _ := admin.do("POST", "/tasks/gone/delete", url.Values{"_csrf": {admin.token("/tasks/gone")}, "confirm": {"gone"}}); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	code, page, _ := admin.do("GET", "/tasks/gone", nil)
	if code != 200 || !strings.Contains(page, "(deleted)") {
		t.Fatalf("deleted task's page: %d", code)
	}
	if strings.Contains(page, "/schedules/task-gone") || !strings.Contains(page, "removed with the task") {
		t.Error("the deleted task's page still links its removed schedule")
	}
}

// TestTaskPagesShowWhatIsTrueNow: a disabled task lists no next fires,
// and the overview shows a running task as running, not its last end.
func TestTaskPagesShowWhatIsTrueNow(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	upsertTask(t, env, taskFixture("tin", func(t *tasktype.Task) { t.Rule = "*/10 * * * * *"; t.Status = tasktype.StatusOff }))
	upsertTask(t, env, taskFixture("gold", func(t *tasktype.Task) { t.Rule = "*/10 * * * * *" }))
	if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
		scheduled_time, start_time, end_time, status, exit_code) VALUES
		('gold', 'v1', 'wf1', 'r1', '2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2030-01-01T00:00:05Z', 'succeeded', 0),
		('gold', 'v2', 'wf2', 'r2', '2030-01-01T01:00:00Z', '2030-01-01T01:00:00Z', NULL, 'running', NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET last_end_time = '2030-01-01T00:00:05Z' WHERE task_name = 'gold'`); err != nil {
		t.Fatal(err)
	}
	vera := loggedIn(t, env, "vera", webui.RoleViewer)

	_, page, _ := vera.do("GET", "/tasks/tin", nil)
	fires := regexp.MustCompile(`(?s)<dd id="next-fires">(.*?)</dd>`).FindStringSubmatch(page)
	if fires == nil || fires[1] != "off: no fires until enabled" {
		t.Errorf("disabled task's next fires: %q, want none until enabled", fires)
	}
	_, page, _ = vera.do("GET", "/tasks/gold", nil)
	if n := len(regexp.MustCompile(`\d\d:\d\d:\d0 UTC<br>`).FindAllString(page, -1)); n != 5 {
		t.Errorf("enabled task lists %d next fires, want 5", n)
	}

	_, overview, _ := vera.do("GET", "/", nil)
	row := regexp.MustCompile(`(?s)<tr><td><a href="/tasks/gold">.*?</tr>`).FindString(overview)
	if !strings.Contains(row, "running since 2030-01-01 01:00:00Z") || strings.Contains(row, "2030-01-01 00:00:05Z") {
		t.Errorf("overview row of a running task:\n%s\nwant running since its start, not the previous run's end", row)
	}
}

// TestAlertWithNoChannelIsNotShownAsSent: an alert no channel carries is
// recorded as not sent, and the task page says why, not "yes".
func TestAlertWithNoChannelIsNotShownAsSent(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	upsertTask(t, env, taskFixture("gold", nil))
	run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: "gold", WorkflowID: "wf-gold-1", RunID: "r1",
		ScheduledTime: time.Now(), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	raiser, err := alert.NewRaiser(serviceconfig.Alert(env.Config), env.Store, env.Temporal, env.Logger) // no channel configured
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raiser.Raise(ctx, alert.Event{Kind: alert.KindFailed, TaskName: "gold", RunID: run.ID, Key: "failed:1",
		Title: "run #1 failed with exit code 3"}); err != nil {
		t.Fatal(err)
	}
	vera := loggedIn(t, env, "vera", webui.RoleViewer)
	// The task page and the run page say the same.
	for _, path := range []string{"/tasks/gold", fmt.Sprintf("/runs/%d", run.ID)} {
		_, page, _ := vera.do("GET", path, nil)
		row := regexp.MustCompile(`(?s)<tr><td>[^<]*</td><td>failed</td>.*?</tr>`).FindString(page)
		if strings.Contains(row, "<td>yes") || !strings.Contains(row, "<td>not sent: no channel configured</td>") {
			t.Errorf("%s alert row: %q, want it not sent for want of a channel", path, row)
		}
	}
}

// TestTaskFormDeclaresParameters: the form's params field, one parameter
// a line, saves the task's declared parameters and shows them again on
// edit; a bad declaration comes back with the message task files get.
func TestTaskFormDeclaresParameters(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)

	text := "DAY required default=2026-01-01 pattern=[0-9-]+\r\nMODE default=\"full run\""
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "gold", "rule", "0 9 * * *", "params", text)); code != 303 {
		t.Fatalf("create with params: %d\n%s", code, body)
	}
	want := []tasktype.Param{{Name: "DAY", Required: true, Default: "2026-01-01", Pattern: "[0-9-]+"}, {Name: "MODE", Default: "full run"}}
	got, err := env.Store.GetTask(ctx, "gold")
	if err != nil || fmt.Sprint(got.Params) != fmt.Sprint(want) {
		t.Fatalf("saved params: %+v, %v; want %+v", got.Params, err, want)
	}
	if code, body, _ := admin.do("GET", "/tasks/gold/edit", nil); code != 200 ||
		!strings.Contains(html.UnescapeString(body), "DAY required default=2026-01-01 pattern=[0-9-]+\nMODE default=\"full run\"") {
		t.Errorf("the edit form does not show the params: %d", code)
	}

	_, defErrs := taskdef.Definition{Name: "bad", Rule: "0 9 * * *", Params: []tasktype.Param{{Name: "DAY", Default: "x", Pattern: "[0-9]+"}}}.Task()
	code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "bad", "rule", "0 9 * * *", "params", "DAY default=x pattern=[0-9]+"))
	if code != 422 || defErrs["params"] == "" || !strings.Contains(html.UnescapeString(body), defErrs["params"]) {
		t.Errorf("a default that breaks its pattern: %d, want 422 saying %q", code, defErrs["params"])
	}
	code, body, _ = admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "bad", "rule", "0 9 * * *", "params", "DAY\nMODE frob"))
	if code != 422 || !strings.Contains(html.UnescapeString(body), `line 2: parameter "MODE": unknown word "frob"`) {
		t.Errorf("a line that is not a parameter: %d, want 422 naming line 2", code)
	}
	if _, err := env.Store.GetTask(ctx, "bad"); err == nil {
		t.Error("a task with bad params was created")
	}
}
