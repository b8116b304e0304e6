package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/webui"
)

// apiTaskOut is what the tests read of a task answer.
type apiTaskOut struct {
	Task map[string]any `json:"task"`
}

func decodeReply[T any](t *testing.T, r apiReply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	return v
}

// TestAPITaskLifecycle: create (201, 409 when taken, 422 naming the
// field), get with its version as ETag, update only with the version
// read (428 without, 409 with the task as it is when stale), delete; each
// change audited as the token's.
func TestAPITaskLifecycle(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)

	r := h.call("POST", "/tasks", admin, `{"name": "gold", "rule": "0 3 * * *", "owners": ["ops@example.com"],
		"retry": {"max": 2}, "params": [{"name": "DAY", "pattern": "^[0-9-]+$"}]}`)
	if r.code != 201 || r.header.Get("ETag") == "" {
		t.Fatalf("create: %s, ETag %q", r, r.header.Get("ETag"))
	}
	created := decodeReply[apiTaskOut](t, r).Task
	if created["name"] != "gold" || created["rule"] != "0 3 * * *" || created["enabled"] != true || created["version"] == "" ||
		created["time_zone"] != "UTC" || created["overlap_policy"] != "skip" {
		t.Errorf("created task: %v", created)
	}
	for _, tt := range []struct {
		desc, body string
		want       int
		field      string
	}{
		{"taken name", `{"name": "gold", "rule": "0 3 * * *"}`, 409, ""},
		{"bad rule", `{"name": "silver", "rule": "every day"}`, 422, "rule"},
		{"bad overlap", `{"name": "silver", "rule": "0 3 * * *", "overlap_policy": "sometimes"}`, 422, "overlap_policy"},
		{"bad retry", `{"name": "silver", "rule": "0 3 * * *", "retry": {"max": -1}}`, 422, "retry.max"},
		{"wrong type", `{"name": "silver", "rule": "0 3 * * *", "timeout": "ten"}`, 422, "timeout"},
		{"unknown field", `{"name": "silver", "rule": "0 3 * * *", "colour": "red"}`, 422, "colour"},
		{"bad name", `{"name": "../etc", "rule": "0 3 * * *"}`, 422, "name"},
	} {
		r := h.call("POST", "/tasks", admin, tt.body)
		var e struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		_ = json.Unmarshal(r.body, &e)
		if r.code != tt.want || (tt.field != "" && e.Error.Fields[tt.field] == "") {
			t.Errorf("%s: %s; want %d naming field %q", tt.desc, r, tt.want, tt.field)
		}
	}
	if _, err := env.Store.GetTask(ctx, "silver"); err == nil {
		t.Error("a refused create made the task")
	}

	got := h.call("GET", "/tasks/gold", admin, "")
	etag := got.header.Get("ETag")
	if got.code != 200 || etag != fmt.Sprintf("%q", created["version"]) {
		t.Fatalf("get: %s, ETag %q, want %q", got, etag, created["version"])
	}

	edit := `{"rule": "30 3 * * *", "owners": ["ops@example.com"], "description": "nightly"}`
	if r := h.call("PUT", "/tasks/gold", admin, edit); r.code != 428 || r.errCode() != "precondition_required" {
		t.Errorf("update without If-Match: %s, want 428", r)
	}
	r = h.call("PUT", "/tasks/gold", admin, edit, "If-Match", etag)
	if r.code != 200 {
		t.Fatalf("update: %s", r)
	}
	updated := decodeReply[apiTaskOut](t, r).Task
	if updated["rule"] != "30 3 * * *" || updated["description"] != "nightly" || updated["version"] == created["version"] ||
		r.header.Get("ETag") != fmt.Sprintf("%q", updated["version"]) {
		t.Errorf("updated: %v, ETag %q", updated, r.header.Get("ETag"))
	}
	if _, ok := updated["retry"].(map[string]any); !ok || updated["retry"].(map[string]any)["max"] != nil {
		t.Errorf("an update is a replacement: retry left out means no retries, got %v", updated["retry"])
	}
	r = h.call("PUT", "/tasks/gold", admin, `{"rule": "45 3 * * *"}`, "If-Match", etag)
	stale := decodeReply[struct {
		Task map[string]any `json:"task"`
	}](t, r)
	if r.code != 409 || r.errCode() != "conflict" || stale.Task["rule"] != "30 3 * * *" {
		t.Errorf("stale update: %s; want 409 with the current task", r)
	}
	// A GET's task sent back, edited, with its version in the body.
	back := decodeReply[apiTaskOut](t, h.call("GET", "/tasks/gold", admin, "")).Task
	back["description"] = "round trip"
	body, _ := json.Marshal(back)
	if r := h.call("PUT", "/tasks/gold", admin, string(body)); r.code != 200 {
		t.Errorf("update with a GET's body and its version: %s", r)
	}
	if r := h.call("PUT", "/tasks/gold", admin, `{"name": "other", "rule": "0 3 * * *"}`, "If-Match", r.header.Get("ETag")); r.code != 422 {
		t.Errorf("a rename: %s, want 422", r)
	}

	list := decodeReply[struct {
		Tasks []map[string]any `json:"tasks"`
	}](t, h.call("GET", "/tasks?q=ROUND", admin, ""))
	if len(list.Tasks) != 1 || list.Tasks[0]["name"] != "gold" {
		t.Errorf("list ?q=ROUND: %v", list.Tasks)
	}
	if off := decodeReply[struct {
		Tasks []map[string]any `json:"tasks"`
	}](t, h.call("GET", "/tasks?status=disabled", admin, "")); len(off.Tasks) != 0 {
		t.Errorf("list ?status=disabled: %v", off.Tasks)
	}

	if r := h.call("DELETE", "/tasks/gold", admin, ""); r.code != 204 {
		t.Errorf("delete: %s", r)
	}
	if r := h.call("GET", "/tasks/gold", admin, ""); r.code != 404 || r.errCode() != "not_found" {
		t.Errorf("get after delete: %s", r)
	}
	audit, err := env.Store.TaskAudit(ctx, "gold", 10)
	if err != nil {
		t.Fatal(err)
	}
	var did []string
	for _, e := range audit {
		did = append(did, e.Username+" "+e.Action)
	}
	actor := "ada (token " + tokenName(t, env, "ada") + ")"
	want := []string{actor + " delete", actor + " edit", actor + " edit", actor + " create"}
	if strings.Join(did, "|") != strings.Join(want, "|") {
		t.Errorf("audit %q, want %q", did, want)
	}
}

// tokenName is user's one token's name.
func tokenName(t *testing.T, env *testenv.Env, user string) string {
	t.Helper()
	tokens, err := env.Store.ListTokens(context.Background(), user)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens of %s: %v, %v", user, tokens, err)
	}
	return tokens[0].Name
}

// applyOut is an apply's answer.
type applyOut struct {
	DryRun  bool `json:"dry_run"`
	Changes []struct {
		Task   string `json:"task"`
		Action string `json:"action"`
		Fields []struct {
			Field, Before, After string
		} `json:"fields"`
	} `json:"changes"`
}

func (a applyOut) summary() string {
	var out []string
	for _, c := range a.Changes {
		s := c.Action + " " + c.Task
		for _, f := range c.Fields {
			s += fmt.Sprintf(" %s:%s->%s", f.Field, f.Before, f.After)
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// TestAPIApply: apply is declarative and all or nothing: a dry run
// changes nothing; an invalid definition anywhere changes nothing and
// says which index, task and field; export then apply is no change;
// editing one rule is exactly that change; prune deletes; the changes are
// audited as the token's apply.
func TestAPIApply(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "old", Rule: "0 1 * * *"})
	names := func() string {
		t.Helper()
		tasks, err := env.Store.ListTasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range tasks {
			out = append(out, x.Name+"@"+x.Rule)
		}
		return strings.Join(out, ",")
	}
	apply := func(body string) (apiReply, applyOut) {
		t.Helper()
		r := h.call("POST", "/apply", admin, body)
		var out applyOut
		if r.code == 200 {
			out = decodeReply[applyOut](t, r)
		}
		return r, out
	}
	defs := `{"name": "a", "rule": "0 2 * * *"}, {"name": "b", "rule": "0 3 * * *", "description": "bee"}`

	r, out := apply(`{"tasks": [` + defs + `], "dry_run": true}`)
	if r.code != 200 || !out.DryRun || out.summary() != "create a; create b" {
		t.Errorf("dry run: %s (%s)", r, out.summary())
	}
	if got := names(); got != "old@0 1 * * *" {
		t.Errorf("a dry run changed the tasks: %s", got)
	}

	r, _ = apply(`{"tasks": [{"name": "a", "rule": "0 2 * * *"}, {"name": "b", "rule": "0 3 * * *", "timeout_action": "explode"}]}`)
	var refused struct {
		Error struct {
			Code    string `json:"code"`
			Details []struct {
				Index       int
				Task, Field string
				Message     string
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &refused)
	if r.code != 422 || refused.Error.Code != "invalid" || len(refused.Error.Details) != 1 ||
		refused.Error.Details[0].Index != 1 || refused.Error.Details[0].Task != "b" || refused.Error.Details[0].Field != "timeout_action" {
		t.Errorf("an invalid definition: %s; want 422 with index 1, task b, field timeout_action", r)
	}
	if got := names(); got != "old@0 1 * * *" {
		t.Errorf("an invalid apply changed the tasks: %s", got)
	}
	if r, _ := apply(`{"tasks": [{"name": "a", "rule": "0 2 * * *"}, {"name": "a", "rule": "0 4 * * *"}]}`); r.code != 422 {
		t.Errorf("a task defined twice: %s, want 422", r)
	}

	if r, out := apply(`{"tasks": [` + defs + `]}`); r.code != 200 || out.summary() != "create a; create b" {
		t.Fatalf("apply: %s", r)
	}
	if got := names(); got != "a@0 2 * * *,b@0 3 * * *,old@0 1 * * *" {
		t.Errorf("after the apply: %s", got)
	}

	// Export (the API's task list) then apply: no change.
	exported := decodeReply[struct {
		Tasks []json.RawMessage `json:"tasks"`
	}](t, h.call("GET", "/tasks", admin, ""))
	all, _ := json.Marshal(map[string]any{"tasks": exported.Tasks, "dry_run": true, "prune": true})
	if r, out := apply(string(all)); r.code != 200 || len(out.Changes) != 0 {
		t.Errorf("export then apply: %s, want no change", r)
	}

	r, out = apply(`{"tasks": [{"name": "a", "rule": "0 5 * * *"}, {"name": "b", "rule": "0 3 * * *", "description": "bee"}], "prune": true}`)
	if want := `update a rule:"0 2 * * *"->"0 5 * * *"; delete old`; r.code != 200 || out.summary() != want {
		t.Errorf("edit one rule and prune: %s (%q), want %q", r, out.summary(), want)
	}
	if got := names(); got != "a@0 5 * * *,b@0 3 * * *" {
		t.Errorf("after the edit and prune: %s", got)
	}
	actor := "ada (token " + tokenName(t, env, "ada") + ")"
	for _, name := range []string{"a", "old"} {
		audit, err := env.Store.TaskAudit(ctx, name, 1)
		if err != nil || len(audit) != 1 || audit[0].Username != actor || audit[0].Action != "apply" {
			t.Errorf("audit of %s: %+v, %v; want %s doing apply", name, audit, err, actor)
		}
	}
}

// TestAPIAlertsPageWithoutGaps: the alert list pages newest first by
// before=next, with no alert twice or missed, and filters by task.
func TestAPIAlertsPageWithoutGaps(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	viewer, _ := h.token("vic", webui.RoleViewer, webui.RoleViewer)
	for i := range 5 {
		task := "a"
		if i%2 == 1 {
			task = "b"
		}
		if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_task_alert (dedupe_key, task_name, kind, title, body, excerpt, sent)
			VALUES ($1, $2, 'failed', $3, 'body', '{}', true)`, fmt.Sprint("k", i), task, fmt.Sprint("alert ", i)); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Alerts []struct {
			ID    int64  `json:"id"`
			Task  string `json:"task"`
			Title string `json:"title"`
		} `json:"alerts"`
		Next *string `json:"next"`
	}
	var titles []string
	path, pages := "/alerts?limit=2", 0
	for {
		r := h.call("GET", path, viewer, "")
		if r.code != 200 {
			t.Fatalf("GET %s: %s", path, r)
		}
		p := decodeReply[page](t, r)
		pages++
		for _, a := range p.Alerts {
			titles = append(titles, a.Title)
		}
		if p.Next == nil || pages > 5 {
			break
		}
		path = "/alerts?limit=2&before=" + *p.Next
	}
	if got := strings.Join(titles, ","); got != "alert 4,alert 3,alert 2,alert 1,alert 0" {
		t.Errorf("paged alerts: %s", got)
	}
	only := decodeReply[page](t, h.call("GET", "/alerts?task=b", viewer, ""))
	if len(only.Alerts) != 2 || only.Alerts[0].Task != "b" || only.Next != nil {
		t.Errorf("alerts of b: %+v", only)
	}
	if r := h.call("GET", "/alerts?limit=0", viewer, ""); r.code != 422 {
		t.Errorf("limit=0: %s, want 422", r)
	}
}
