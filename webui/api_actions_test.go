package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
	"github.com/schetask/schetask/workflows"
)

// actionAPI is a console serving the API, and an operator, alice, with
// a token named deploy.
type actionAPI struct {
	t     *testing.T
	env   *testenv.Env
	base  string
	token string
}

func newActionAPI(t *testing.T, env *testenv.Env, set func(*webui.Options)) *actionAPI {
	t.Helper()
	base := consoleWith(t, env, set)
	addUser(t, env, "alice", "alice password", webui.RoleOperator)
	_, plain, err := env.Store.CreateToken(context.Background(), store.APIToken{Name: "deploy", Username: "alice", Role: string(webui.RoleOperator)})
	if err != nil {
		t.Fatal(err)
	}
	return &actionAPI{t: t, env: env, base: base, token: plain}
}

// apiAnswer is an API answer: its status and JSON body.
type apiAnswer struct {
	status int
	body   map[string]any
	raw    string
}

// errorCode is the error's code ("" when the answer is no error).
func (a apiAnswer) errorCode() string {
	e, _ := a.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// errorField is what the error says of one field.
func (a apiAnswer) errorField(name string) string {
	e, _ := a.body["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	v, _ := fields[name].(string)
	return v
}

// post POSTs body (JSON text) to an API path under /api/v1.
func (a *actionAPI) post(path, body string) apiAnswer {
	a.t.Helper()
	req, err := http.NewRequest("POST", a.base+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ans := apiAnswer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &ans.body)
	return ans
}

// scheduled upserts the task and makes its schedule, removed (with what
// it started) after the test.
func scheduled(t *testing.T, env *testenv.Env, task tasktype.Task) {
	t.Helper()
	ctx := context.Background()
	upsertTask(t, env, task)
	if task.Params != nil { // UpsertTask leaves params as they are
		raw, err := json.Marshal(task.Params)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET params = $2 WHERE task_name = $1`, task.Name, raw); err != nil {
			t.Fatal(err)
		}
	}
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syncer.ReconcileTask(ctx, task.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+task.Name).Delete(ctx)
		// No worker serves the test's queue: end what waits on it.
		resp, err := env.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = %q AND ExecutionStatus = 'Running'", env.Config.TaskQueue)})
		if err != nil {
			return
		}
		for _, w := range resp.GetExecutions() {
			if strings.HasPrefix(w.GetExecution().GetWorkflowId(), env.Config.ScheduleIDPrefix+task.Name) {
				_ = env.Temporal.TerminateWorkflow(ctx, w.GetExecution().GetWorkflowId(), "", "test over")
			}
		}
	})
}

var dayParams = []tasktype.Param{
	{Name: "day", Required: true, Pattern: `[0-9]{4}-[0-9]{2}-[0-9]{2}`},
	{Name: "mode", Default: "full"},
}

// startInput is the RunTaskInput a workflow was started with.
func startInput(t *testing.T, env *testenv.Env, workflowID string) workflows.RunTaskInput {
	t.Helper()
	ctx := context.Background()
	iter := env.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := iter.Next()
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.RunTaskInput
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(payloads) != 1 {
		t.Fatalf("workflow %s started with %d arguments", workflowID, len(payloads))
	}
	if err := converter.GetDefaultDataConverter().FromPayload(payloads[0], &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// auditEntry returns the task's newest audit entry of action.
func auditEntry(t *testing.T, env *testenv.Env, task, action string) (store.AuditEntry, bool) {
	t.Helper()
	entries, err := env.Store.TaskAudit(context.Background(), task, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == action {
			return e, true
		}
	}
	return store.AuditEntry{}, false
}

func TestAPIRunStartsARunWithTheValuesAndRefusesOthers(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newActionAPI(t, env, nil)
	scheduled(t, env, taskFixture("gold", func(t *tasktype.Task) { t.Params, t.Overlap = dayParams, tasktype.OverlapAllowAll }))

	ans := api.post("/tasks/gold/run", `{"params": {"day": "2026-11-26"}}`)
	id, _ := ans.body["workflow_id"].(string)
	if ans.status != 202 || !strings.HasPrefix(id, env.Config.ScheduleIDPrefix+"gold-run-") {
		t.Fatalf("run: %d %s, want 202 with a workflow id of the task's", ans.status, ans.raw)
	}
	in := startInput(t, env, id)
	if want := map[string]string{"day": "2026-11-26", "mode": "full"}; in.TaskName != "gold" || !maps.Equal(in.Params, want) {
		t.Errorf("workflow input: task %q params %q, want gold with %q", in.TaskName, in.Params, want)
	}
	e, ok := auditEntry(t, env, "gold", "run")
	if !ok || e.Username != "alice (token deploy)" || e.After["workflow_id"] != id {
		t.Errorf("audit of the run: %+v (found %v), want alice (token deploy) and the workflow id", e, ok)
	}

	for _, tt := range []struct {
		desc, path, body string
		status           int
		code, field      string
		says             string
	}{
		{desc: "undeclared", path: "/tasks/gold/run", body: `{"params": {"day": "2026-11-26", "dya": "x"}}`,
			status: 422, code: "invalid", field: "params", says: `no parameter "dya"`},
		{desc: "required missing", path: "/tasks/gold/run", body: `{"params": {}}`,
			status: 422, code: "invalid", field: "params", says: `parameter "day" is required`},
		{desc: "against the pattern", path: "/tasks/gold/run", body: `{"params": {"day": "today; rm -rf /"}}`,
			status: 422, code: "invalid", field: "params", says: "does not match"},
		{desc: "unknown field", path: "/tasks/gold/run", body: `{"parms": {}}`, status: 400, code: "bad_request"},
		{desc: "no such task", path: "/tasks/nosuch/run", body: `{}`, status: 404, code: "not_found"},
	} {
		ans := api.post(tt.path, tt.body)
		if ans.status != tt.status || ans.errorCode() != tt.code || !strings.Contains(ans.errorField(tt.field), tt.says) {
			t.Errorf("%s: %d %s, want %d %s with %s saying %q", tt.desc, ans.status, ans.raw, tt.status, tt.code, tt.field, tt.says)
		}
	}
}

func TestAPIRunIsRefusedWhileARunGoesWithOverlapSkip(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newActionAPI(t, env, nil)
	scheduled(t, env, taskFixture("gold", nil)) // overlap skip
	// A run going: its row says running.
	if _, err := env.Store.StartRun(context.Background(), store.StartRunParams{TaskName: "gold", WorkflowID: "w", RunID: "r",
		ScheduledTime: time.Now(), Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	if ans := api.post("/tasks/gold/run", `{}`); ans.status != 409 || ans.errorCode() != "conflict" {
		t.Errorf("run while one goes: %d %s, want 409 conflict", ans.status, ans.raw)
	}
}

func TestAPIPauseAndResumeAreAuditedAsTheToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newActionAPI(t, env, nil)
	upsertTask(t, env, taskFixture("gold", nil))
	ctx := context.Background()

	if ans := api.post("/tasks/gold/pause", `{"note": "`+strings.Repeat("x", tasktype.MaxStatusNoteChars+1)+`"}`); ans.status != 422 || ans.errorField("note") == "" {
		t.Errorf("pause with a note too long: %d %s, want 422 on note", ans.status, ans.raw)
	}
	ans := api.post("/tasks/gold/pause", `{"note": "vendor down"}`)
	if ans.status != 200 || ans.body["enabled"] != false || ans.body["changed"] != true {
		t.Fatalf("pause: %d %s", ans.status, ans.raw)
	}
	task, err := env.Store.GetTask(ctx, "gold")
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != tasktype.StatusOff || task.StatusNote != "vendor down" {
		t.Errorf("after pause: status %d note %q", task.Status, task.StatusNote)
	}
	e, ok := auditEntry(t, env, "gold", "pause")
	if !ok || e.Username != "alice (token deploy)" || e.DBRole == "" || e.After["status_note"] != "vendor down" {
		t.Errorf("audit of the pause: %+v (found %v), want the database's entry by alice (token deploy)", e, ok)
	}
	// A pause without a note keeps the one the task has.
	if ans := api.post("/tasks/gold/pause", `{}`); ans.status != 200 || ans.body["changed"] != false || ans.body["status_note"] != "vendor down" {
		t.Errorf("pause again without a note: %d %s, want unchanged with the note kept", ans.status, ans.raw)
	}
	if ans := api.post("/tasks/gold/resume", ``); ans.status != 200 || ans.body["enabled"] != true {
		t.Fatalf("resume: %d %s", ans.status, ans.raw)
	}
	if task, _ := env.Store.GetTask(ctx, "gold"); task.Status != tasktype.StatusOn || task.StatusNote != "" {
		t.Errorf("after resume: status %d note %q", task.Status, task.StatusNote)
	}
	if e, ok := auditEntry(t, env, "gold", "resume"); !ok || e.Username != "alice (token deploy)" {
		t.Errorf("audit of the resume: %+v (found %v)", e, ok)
	}
	if ans := api.post("/tasks/gold/kill", `{"reason": "stuck"}`); ans.status != 200 || ans.body["killed"] != float64(0) {
		t.Errorf("kill with nothing running: %d %s, want 200 killed 0", ans.status, ans.raw)
	}
}

func TestAPIBackfillPreviewsCapsAndRecords(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	api := newActionAPI(t, env, func(o *webui.Options) { o.BackfillMax = 5 })
	scheduled(t, env, taskFixture("hourly", func(t *tasktype.Task) { t.Rule = "0 * * * *" }))
	ctx := context.Background()
	hour := time.Now().UTC().Truncate(time.Hour)
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	count := func() int {
		var n int
		if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_task_backfill`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	ans := api.post("/tasks/hourly/backfill", fmt.Sprintf(`{"from": %q, "to": %q}`, rfc(hour.Add(-5*time.Hour)), rfc(hour)))
	details, _ := ans.body["error"].(map[string]any)["details"].([]any)
	if ans.status != 422 || ans.errorCode() != "too_many_fires" || len(details) != 1 ||
		details[0].(map[string]any)["fires"] != float64(6) || !strings.Contains(ans.raw, "6 fires") {
		t.Errorf("6 fires over a cap of 5: %d %s, want 422 too_many_fires with the count", ans.status, ans.raw)
	}
	for _, tt := range []struct{ desc, body, field string }{
		{"from not a time", fmt.Sprintf(`{"from": "yesterday", "to": %q}`, rfc(hour)), "from"},
		{"reversed", fmt.Sprintf(`{"from": %q, "to": %q}`, rfc(hour), rfc(hour.Add(-time.Hour))), "to"},
		{"unknown overlap", fmt.Sprintf(`{"from": %q, "to": %q, "overlap": "all"}`, rfc(hour.Add(-time.Hour)), rfc(hour)), "overlap"},
	} {
		if ans := api.post("/tasks/hourly/backfill", tt.body); ans.status != 422 || ans.errorField(tt.field) == "" {
			t.Errorf("%s: %d %s, want 422 on %s", tt.desc, ans.status, ans.raw, tt.field)
		}
	}
	ans = api.post("/tasks/hourly/backfill", fmt.Sprintf(`{"from": %q, "to": %q, "dry_run": true}`, rfc(hour.Add(-3*time.Hour)), rfc(hour)))
	if ans.status != 200 || ans.body["fires"] != float64(4) || ans.body["backfill_id"] != nil ||
		ans.body["first"] != rfc(hour.Add(-3*time.Hour)) || ans.body["last"] != rfc(hour) {
		t.Errorf("dry run: %d %s, want 4 fires from %s to %s and no id", ans.status, ans.raw, rfc(hour.Add(-3*time.Hour)), rfc(hour))
	}
	if n := count(); n != 0 {
		t.Fatalf("%d backfills recorded after a refusal and a dry run", n)
	}
	ans = api.post("/tasks/hourly/backfill", fmt.Sprintf(`{"from": %q, "to": %q}`, rfc(hour.Add(-3*time.Hour)), rfc(hour)))
	id, _ := ans.body["backfill_id"].(float64)
	if ans.status != 200 || ans.body["fires"] != float64(4) || id == 0 {
		t.Fatalf("backfill: %d %s", ans.status, ans.raw)
	}
	b, err := env.Store.GetBackfill(ctx, int64(id))
	if err != nil {
		t.Fatal(err)
	}
	if b.RequestedBy != "alice (token deploy)" || b.Fires != 4 {
		t.Errorf("recorded %+v, want 4 fires by alice (token deploy)", b)
	}
	if e, ok := auditEntry(t, env, "hourly", "backfill"); !ok || e.Username != "alice (token deploy)" || e.After["backfill_id"] != id {
		t.Errorf("audit of the backfill: %+v (found %v)", e, ok)
	}
}

func TestConsoleRunWithParamsAndBackfillForms(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	scheduled(t, env, taskFixture("gold", func(t *tasktype.Task) { t.Params, t.Overlap = dayParams, tasktype.OverlapAllowAll }))
	scheduled(t, env, taskFixture("hourly", func(t *tasktype.Task) { t.Rule = "0 * * * *" }))
	op := loggedIn(t, env, "olga", webui.RoleOperator)

	_, page, _ := op.do("GET", "/tasks/gold", nil)
	if !strings.Contains(page, `id="run-params-form"`) || !strings.Contains(page, `name="param_mode" id="param-mode" value="full"`) {
		t.Errorf("the page of a task with parameters lacks the form with the defaults:\n%s", page)
	}
	if _, page, _ := op.do("GET", "/tasks/hourly", nil); strings.Contains(page, `id="run-params-form"`) || !strings.Contains(page, `id="backfill-form"`) {
		t.Errorf("the page of a task without parameters: want a backfill form and no parameters form")
	}

	csrf := op.token("/tasks/gold")
	code, body, _ := op.do("POST", "/tasks/gold/run-params", url.Values{"_csrf": {csrf}, "param_day": {"soon"}})
	if code != 422 || !strings.Contains(body, `id="run-params-error"`) || !strings.Contains(unescape(body), `"soon" does not match`) ||
		!strings.Contains(body, `value="soon"`) {
		t.Errorf("refused values: %d, want 422 with why and the values as typed:\n%s", code, body)
	}
	code, _, h := op.do("POST", "/tasks/gold/run-params", url.Values{"_csrf": {csrf}, "param_day": {"2026-11-26"}})
	if code != 303 || h.Get("Location") != "/tasks/gold" {
		t.Fatalf("run with parameters: %d %s", code, h.Get("Location"))
	}
	_, page, _ = op.do("GET", "/tasks/gold", nil)
	if m := flashRE.FindStringSubmatch(page); m == nil || m[1] != "ok" || !strings.Contains(m[2], "Started a run of gold with parameters") {
		t.Errorf("after run with parameters the page says %q", m)
	}
	e, ok := auditEntry(t, env, "gold", "run")
	if !ok || e.Username != "olga" || fmt.Sprint(e.After["params"]) != "map[day:2026-11-26]" {
		t.Errorf("audit of the run: %+v (found %v)", e, ok)
	}

	// Backfill: a preview first, which starts nothing, then the start.
	hour := time.Now().UTC().Truncate(time.Hour)
	form := url.Values{"_csrf": {csrf}, "from": {hour.Add(-2 * time.Hour).Format("2006-01-02T15:04")}, "to": {hour.Format("2006-01-02T15:04")}}
	code, body, _ = op.do("POST", "/tasks/hourly/backfill", form)
	wantPreview := fmt.Sprintf("3 fires from %s to %s", hour.Add(-2*time.Hour).Format("2006-01-02 15:04:05 MST"), hour.Format("2006-01-02 15:04:05 MST"))
	if code != 200 || !strings.Contains(body, wantPreview) || !strings.Contains(body, `id="backfill-confirm"`) {
		t.Errorf("backfill preview: %d, want %q and a confirm button:\n%s", code, wantPreview, body)
	}
	var n int
	if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_task_backfill`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d backfills after a preview (%v), want none", n, err)
	}
	form.Set("confirm", "1")
	code, _, h = op.do("POST", "/tasks/hourly/backfill", form)
	if code != 303 || h.Get("Location") != "/tasks/hourly" {
		t.Fatalf("backfill: %d %s", code, h.Get("Location"))
	}
	_, page, _ = op.do("GET", "/tasks/hourly", nil)
	if m := flashRE.FindStringSubmatch(page); m == nil || m[1] != "ok" || !strings.Contains(m[2], "started: "+wantPreview) {
		t.Errorf("after the backfill the page says %q, want it started with %q", m, wantPreview)
	}
	form.Set("from", "2020-01-01T00:00")
	form.Del("confirm")
	if code, body, _ := op.do("POST", "/tasks/hourly/backfill", form); code != 422 || !strings.Contains(body, `id="backfill-error"`) ||
		!strings.Contains(body, "SCHETASK_BACKFILL_MAX") {
		t.Errorf("backfill over the cap: %d, want 422 with why:\n%s", code, body)
	}

	// The run page shows the values and the backfill.
	var bid int64
	if err := env.Store.Pool().QueryRow(ctx, `SELECT id FROM t_task_backfill`).Scan(&bid); err != nil {
		t.Fatal(err)
	}
	run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: "hourly", WorkflowID: "w", RunID: "r",
		ScheduledTime: hour.Add(-time.Hour), Location: time.UTC, Params: map[string]string{"day": "<b>x</b>"}})
	if err != nil {
		t.Fatal(err)
	}
	_, page, _ = op.do("GET", fmt.Sprintf("/runs/%d", run.ID), nil)
	if !strings.Contains(page, fmt.Sprintf("(backfill #%d)", bid)) || !strings.Contains(page, "<code>day</code> = <code>&lt;b&gt;x&lt;/b&gt;</code>") {
		t.Errorf("run page lacks its backfill #%d or its parameters:\n%s", bid, page)
	}
}
