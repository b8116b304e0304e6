package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// fieldError is the console form's error under one field, as the form
// shows it: the field's input, then its error.
func fieldError(body, field string) string {
	m := regexp.MustCompile(`(?s)name="` + field + `"[^>]*>[^<]*</label>\s*<p class="err field-err">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestTaskFormChainSettingsAndCycles: the console's task form takes the
// chain settings (a blank rule when the task runs after others) and
// shows them again to edit; a save that would make the chain loop, or
// name the task itself, is refused on the field that closes the loop,
// with the loop named, and nothing is saved.
func TestTaskFormChainSettingsAndCycles(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	ada := loggedIn(t, env, "ada", webui.RoleAdmin)
	create := func(kv ...string) (int, string) {
		t.Helper()
		code, body, _ := ada.do("POST", "/create", taskFormValues(ada, "/create", kv...))
		return code, body
	}
	for _, kv := range [][]string{
		{"name", "a", "rule", "0 * * * *"},
		{"name", "cleanup", "rule", "0 0 1 1 *"},
		{"name", "b", "rule", "", "after", "a", "after_condition", "any_succeeded", "on_failure", "cleanup", "deadline", "+2h"},
	} {
		if code, body := create(kv...); code != 303 {
			t.Fatalf("create %q: %d\n%s", kv, code, body)
		}
	}
	b, err := env.Store.GetTask(ctx, "b")
	if err != nil || b.Rule != "" || !slices.Equal(b.After, []string{"a"}) || b.AfterCondition != tasktype.AfterAnySucceeded ||
		!slices.Equal(b.OnFailure, []string{"cleanup"}) || b.Deadline != "+2h" {
		t.Fatalf("b as saved: rule %q after %q %q on_failure %q deadline %q, %v", b.Rule, b.After, b.AfterCondition, b.OnFailure, b.Deadline, err)
	}
	_, edit, _ := ada.do("GET", "/tasks/b/edit", nil)
	for _, want := range []string{`name="after" id="after" value="a"`, `<option value="any_succeeded" selected>`,
		`name="on_failure" value="cleanup"`, `name="deadline" value="&#43;2h"`} {
		if !strings.Contains(edit, want) {
			t.Errorf("the edit form of b lacks %s", want)
		}
	}

	editTask := func(name string, kv ...string) (int, string) {
		t.Helper()
		_, page, _ := ada.do("GET", "/tasks/"+name+"/edit", nil)
		v := versionField.FindStringSubmatch(page)
		if v == nil {
			t.Fatalf("the edit form of %s has no version", name)
		}
		code, body, _ := ada.do("POST", "/tasks/"+name+"/edit", taskFormValues(ada, "/tasks/"+name+"/edit", append(kv, "version", v[1])...))
		return code, body
	}
	code, body := editTask("a", "rule", "0 * * * *", "after", "b")
	if got := fieldError(body, "after"); code != 422 || !strings.Contains(got, "chain cycle: a → b → a") {
		t.Errorf("a after b (b runs after a): %d, after's error %q; want 422 naming the loop a → b → a", code, got)
	}
	if !strings.Contains(body, `name="after" id="after" value="b"`) {
		t.Error("the refused form lost what was typed in after")
	}
	code, body = editTask("cleanup", "rule", "0 0 1 1 *", "on_failure", "b")
	if got := fieldError(body, "on_failure"); code != 422 || !strings.Contains(got, "chain cycle: cleanup → b → cleanup") {
		t.Errorf("cleanup on failure of b runs b: %d, on_failure's error %q; want 422 naming the loop", code, got)
	}
	code, body = create("name", "f", "rule", "", "after", "b", "on_failure", "a")
	if got := fieldError(body, "after"); code != 422 || !strings.Contains(got, "chain cycle: f → a → b → f") {
		t.Errorf("new f after b, on failure of it a (b runs after a): %d, after's error %q; want 422 naming the loop", code, got)
	}
	code, body = create("name", "d", "rule", "", "after", "d")
	if got := fieldError(body, "after"); code != 422 || !strings.Contains(got, htmlEscape(`"d" is this task: a task cannot run after itself`)) {
		t.Errorf("d after itself: %d, after's error %q", code, got)
	}
	code, body = create("name", "e", "rule", "")
	if got := fieldError(body, "after"); code != 422 || !strings.Contains(body, "required: a crontab rule, or leave it blank") || got != "" {
		t.Errorf("no rule and no after: %d", code)
	}
	for name, after := range map[string][]string{"a": nil, "cleanup": nil} {
		got, err := env.Store.GetTask(ctx, name)
		if err != nil || !slices.Equal(got.After, after) || got.OnFailure != nil {
			t.Errorf("%s after refused saves: after %q, on_failure %q, %v", name, got.After, got.OnFailure, err)
		}
	}
	for _, name := range []string{"d", "e", "f"} {
		if _, err := env.Store.GetTask(ctx, name); !errors.Is(err, store.ErrTaskNotFound) {
			t.Errorf("refused task %s was saved: %v", name, err)
		}
	}

	// The rule preview of a blank rule says the task runs after others.
	_, preview, _ := ada.do("GET", "/api/rule?rule=&tz=UTC&after=a,+prices", nil)
	var p struct {
		OK    bool   `json:"ok"`
		Words string `json:"words"`
	}
	if err := json.Unmarshal([]byte(preview), &p); err != nil || !p.OK || p.Words != "runs after a, prices (no rule of its own)" {
		t.Errorf("preview of a blank rule after a, prices: %s", preview)
	}
}

// apiRefusal is what the tests read of a 422 answer.
type apiRefusal struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Details []struct {
			Index       int
			Task, Field string
			Message     string
		} `json:"details"`
	} `json:"error"`
}

// TestAPITaskChainSettingsAndCycles: the API's tasks carry the chain
// settings both ways, and the OpenAPI document lists them; a create or
// an update that would make the chain loop, or names the task itself,
// is 422 with the loop on fields.after, and nothing is saved.
func TestAPITaskChainSettingsAndCycles(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)

	if r := h.call("POST", "/tasks", admin, `{"name": "a", "rule": "0 * * * *"}`); r.code != 201 {
		t.Fatalf("create a: %s", r)
	}
	r := h.call("POST", "/tasks", admin, `{"name": "b", "after": ["a"], "after_condition": "all_done", "on_failure": ["a"], "deadline": "07:00"}`)
	if r.code != 422 || !strings.Contains(decodeReply[apiRefusal](t, r).Error.Fields["after"], "chain cycle: b → a → b") {
		t.Errorf("b after a and on failure of a (a loop): %s, want 422 on after naming b → a → b", r)
	}
	r = h.call("POST", "/tasks", admin, `{"name": "b", "after": ["a"], "after_condition": "all_done", "deadline": "07:00"}`)
	if r.code != 201 {
		t.Fatalf("create b after a, no rule: %s", r)
	}
	got := decodeReply[apiTaskOut](t, r).Task
	if got["rule"] != "" || !slices.Equal(strings.Fields(strings.Trim(jsonText(got["after"]), "[]")), []string{`"a"`}) ||
		got["after_condition"] != "all_done" || got["deadline"] != "07:00" {
		t.Errorf("b as answered: %v", got)
	}

	a := decodeReply[apiTaskOut](t, h.call("GET", "/tasks/a", admin, "")).Task
	r = h.call("PUT", "/tasks/a", admin, `{"rule": "0 * * * *", "after": ["b"]}`, "If-Match", `"`+a["version"].(string)+`"`)
	refused := decodeReply[apiRefusal](t, r)
	if r.code != 422 || refused.Error.Code != "invalid" || !strings.Contains(refused.Error.Fields["after"], "chain cycle: a → b → a") {
		t.Errorf("a after b (b runs after a): %s; want 422 with fields.after naming a → b → a", r)
	}
	r = h.call("POST", "/tasks", admin, `{"name": "c", "rule": "0 * * * *", "on_failure": ["c"]}`)
	if r.code != 422 || !strings.Contains(decodeReply[apiRefusal](t, r).Error.Fields["on_failure"], "a task cannot run on its own failure") {
		t.Errorf("c on failure of itself: %s", r)
	}
	r = h.call("POST", "/tasks", admin, `{"name": "c", "deadline": "tomorrow"}`)
	if f := decodeReply[apiRefusal](t, r).Error.Fields; r.code != 422 || !strings.Contains(f["deadline"], "is not a deadline") || !strings.Contains(f["rule"], "required") {
		t.Errorf("c with a bad deadline and neither rule nor after: %s", r)
	}
	if got, err := env.Store.GetTask(ctx, "a"); err != nil || got.After != nil {
		t.Errorf("a after the refused update: after %q, %v", got.After, err)
	}
	if _, err := env.Store.GetTask(ctx, "c"); !errors.Is(err, store.ErrTaskNotFound) {
		t.Errorf("a refused create made c: %v", err)
	}

	doc := h.call("GET", "/openapi.json", "", "")
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc.body, &spec); err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{"Task", "TaskDefinition", "TaskInput"} {
		for _, field := range []string{"after", "after_condition", "on_failure", "deadline"} {
			if spec.Components.Schemas[schema].Properties[field] == nil {
				t.Errorf("OpenAPI schema %s lacks %s", schema, field)
			}
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAPIApplyChainCycles: an apply whose definitions would make the
// chain loop is 422 naming the loop, with the task and its field after
// (so the CLI points at the line), in a dry run too, and changes
// nothing; a task naming itself likewise; an apply that moves a link
// (b after a becomes a after b) is no loop and is made.
func TestAPIApplyChainCycles(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "old", Rule: "0 1 * * *"})

	for _, dry := range []string{"true", "false"} {
		r := h.call("POST", "/apply", admin, `{"dry_run": `+dry+`, "tasks": [{"name": "x", "rule": "0 * * * *"},
			{"name": "a", "after": ["b"]}, {"name": "b", "rule": "0 * * * *", "after": ["a"]}]}`)
		e := decodeReply[apiRefusal](t, r).Error
		if r.code != 422 || e.Code != "invalid" || len(e.Details) != 1 || e.Details[0].Index != 1 || e.Details[0].Task != "a" ||
			e.Details[0].Field != "after" || !strings.Contains(e.Details[0].Message, "chain cycle: a → b → a") ||
			!strings.Contains(e.Message, "chain cycle: a → b → a") {
			t.Errorf("dry_run %s: a ↔ b: %s; want 422 detail index 1, task a, field after, naming a → b → a", dry, r)
		}
	}
	r := h.call("POST", "/apply", admin, `{"tasks": [{"name": "s", "rule": "0 * * * *", "after": ["s"]}]}`)
	if e := decodeReply[apiRefusal](t, r).Error; r.code != 422 || len(e.Details) != 1 || e.Details[0].Field != "after" ||
		!strings.Contains(e.Details[0].Message, "a task cannot run after itself") {
		t.Errorf("s after itself: %s", r)
	}
	// A loop through a stored task the request does not name.
	r = h.call("POST", "/apply", admin, `{"tasks": [{"name": "a", "rule": "0 * * * *"}, {"name": "b", "after": ["a"], "on_failure": ["old"]}]}`)
	if r.code != 200 {
		t.Fatalf("apply b after a: %s", r)
	}
	r = h.call("POST", "/apply", admin, `{"tasks": [{"name": "old", "rule": "0 1 * * *", "on_failure": ["a"]}]}`)
	if e := decodeReply[apiRefusal](t, r).Error; r.code != 422 || len(e.Details) != 1 || e.Details[0].Task != "old" ||
		e.Details[0].Field != "on_failure" || !strings.Contains(e.Details[0].Message, "chain cycle: old → a → b → old") {
		t.Errorf("old on failure of a (b after a, on failure of b: old): %s; want the loop old → a → b → old on on_failure", r)
	}
	if got, err := env.Store.GetTask(ctx, "old"); err != nil || got.After != nil || got.OnFailure != nil {
		t.Errorf("old after the refusals: %+v, %v", got, err)
	}
	if _, err := env.Store.GetTask(ctx, "x"); !errors.Is(err, store.ErrTaskNotFound) {
		t.Errorf("a refused apply created x: %v", err)
	}

	// Moving the link: one apply, written in an order the database takes.
	r = h.call("POST", "/apply", admin, `{"tasks": [{"name": "a", "after": ["b"]}, {"name": "b", "rule": "0 * * * *", "on_failure": ["old"]}]}`)
	if r.code != 200 {
		t.Fatalf("a after b instead of b after a: %s", r)
	}
	if a, _ := env.Store.GetTask(ctx, "a"); !slices.Equal(a.After, []string{"b"}) || a.Rule != "" {
		t.Errorf("a after moving the link: after %q, rule %q", a.After, a.Rule)
	}
	// Export then apply: no change, chain settings included.
	exported := decodeReply[struct {
		Tasks []json.RawMessage `json:"tasks"`
	}](t, h.call("GET", "/tasks", admin, ""))
	all, _ := json.Marshal(map[string]any{"tasks": exported.Tasks, "prune": true})
	if r := h.call("POST", "/apply", admin, string(all)); r.code != 200 || strings.Contains(string(r.body), `"action"`) {
		t.Errorf("export then apply: %s, want no change", r)
	}
}
