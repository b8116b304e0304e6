package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/webui"
)

// apiApp is a console's app, with a real store and Temporal, called in
// process (fiber's app.Test).
type apiApp struct {
	t   *testing.T
	env *testenv.Env
	app *fiber.App
}

func newAPIApp(t *testing.T, env *testenv.Env, set func(*webui.Options)) *apiApp {
	t.Helper()
	opts := webui.Options{TasksDir: env.Config.TasksDir,
		Control: &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}}
	if set != nil {
		set(&opts)
	}
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &apiApp{t: t, env: env, app: srv.App()}
}

// token makes user (with userRole, unless they exist) a token of
// tokenRole and returns it and its id.
func (a *apiApp) token(user string, userRole, tokenRole webui.Role) (string, int64) {
	a.t.Helper()
	ctx := context.Background()
	if _, err := a.env.Store.GetUser(ctx, user); err != nil {
		addUser(a.t, a.env, user, "pw of "+user+" 123", userRole)
	}
	row, plain, err := a.env.Store.CreateToken(ctx, store.APIToken{Name: "t-" + string(tokenRole) + fmt.Sprint(time.Now().UnixNano()),
		Username: user, Role: string(tokenRole)})
	if err != nil {
		a.t.Fatal(err)
	}
	return plain, row.ID
}

// apiReply is an API answer.
type apiReply struct {
	code   int
	body   []byte
	header http.Header
}

// errCode is the code of an error answer, "" when the body is not the
// error shape.
func (r apiReply) errCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}

func (r apiReply) String() string {
	b := string(r.body)
	if len(b) > 600 {
		b = b[:600] + "…"
	}
	return fmt.Sprintf("%d %s", r.code, b)
}

// call sends method path (under /api/v1) with token ("" for none), a
// JSON body ("" for none) and header pairs.
func (a *apiApp) call(method, path, token, body string, header ...string) apiReply {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "/api/v1"+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.app.Test(req, 30_000)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiReply{code: resp.StatusCode, body: b, header: resp.Header}
}

// openAPIDoc is what the walk reads of the document.
type openAPIDoc struct {
	OpenAPI string                           `json:"openapi"`
	Paths   map[string]map[string]openAPIOp  `json:"paths"`
	Comps   struct{ Schemas map[string]any } `json:"components"`
	Servers []struct{ URL string }           `json:"servers"`
}

type openAPIOp struct {
	Summary  string `json:"summary"`
	Security *[]any `json:"security"`
	Role     string `json:"x-schetask-role"`
}

func (a *apiApp) openAPI() (openAPIDoc, []byte) {
	a.t.Helper()
	r := a.call("GET", "/openapi.json", "", "")
	if r.code != 200 {
		a.t.Fatalf("GET /api/v1/openapi.json without a token: %s, want 200 (it is public)", r)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(r.body, &doc); err != nil {
		a.t.Fatalf("openapi.json: %v", err)
	}
	return doc, r.body
}

// apiSample is a request that succeeds for an admin token.
type apiSample struct {
	path, body string
	header     []string
}

// fiberParam is a Fiber path parameter, with an optional constraint.
var fiberParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)(<[^>]*>)?`)

// coreRoutes are the routes api.go and api_tasks.go serve, which must be
// documented and sampled whatever the other tables hold.
var coreRoutes = []string{"GET /openapi.json", "GET /tasks", "POST /tasks", "GET /tasks/{name}", "PUT /tasks/{name}",
	"DELETE /tasks/{name}", "POST /apply", "GET /alerts"}

// TestAPIWalkEveryDocumentedOperation is the API's acceptance walk: the
// OpenAPI document lists every /api/v1 route the app serves; for each
// operation it lists, no token is 401, a viewer token 403 on every
// change (an operator token 403 on every admin change), and an admin
// token works with the sample request below. A documented operation
// without a sample fails, as does a route the document lacks.
func TestAPIWalkEveryDocumentedOperation(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	h := newAPIApp(t, env, nil)
	for _, name := range []string{"gold", "doomed"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 * * * *"})
	}
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syncer.ReconcileTask(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	sched := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"gold")
	t.Cleanup(func() {
		if d, err := sched.Describe(ctx); err == nil {
			for _, w := range d.Info.RunningWorkflows {
				_ = env.Temporal.TerminateWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID, "test over")
			}
		}
		_ = sched.Delete(ctx)
	})
	// A finished run of gold, with its log.
	logDir := filepath.Join(env.Config.TasksDir, "gold", "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "walk.log"), []byte("line one\nline two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := pool.QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
		scheduled_time, start_time, end_time, status, exit_code, log_path, log_bytes)
		VALUES ('gold', 'v-walk', 'wf-walk', 'r1', now(), now(), now(), 'succeeded', 0, 'gold/logs/walk.log', 18) RETURNING id`).Scan(&runID); err != nil {
		t.Fatal(err)
	}

	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)
	// A viewer token of an admin: the token's role is what counts.
	viewer, _ := h.token("ada", webui.RoleAdmin, webui.RoleViewer)
	operator, _ := h.token("otto", webui.RoleOperator, webui.RoleOperator)

	version := func() string {
		r := h.call("GET", "/tasks/gold", admin, "")
		return r.header.Get("ETag")
	}
	now := time.Now().UTC()
	samples := map[string]func() apiSample{
		"GET /openapi.json": func() apiSample { return apiSample{path: "/openapi.json"} },
		"GET /tasks":        func() apiSample { return apiSample{path: "/tasks?q=gol&status=enabled"} },
		"POST /tasks": func() apiSample {
			return apiSample{path: "/tasks", body: `{"name": "walked", "rule": "15 3 * * *", "description": "made by the walk"}`}
		},
		"GET /tasks/{name}": func() apiSample { return apiSample{path: "/tasks/gold"} },
		"PUT /tasks/{name}": func() apiSample {
			return apiSample{path: "/tasks/gold", body: `{"rule": "0 * * * *", "description": "edited by the walk"}`,
				header: []string{"If-Match", version()}}
		},
		"DELETE /tasks/{name}": func() apiSample { return apiSample{path: "/tasks/doomed"} },
		"POST /apply": func() apiSample {
			return apiSample{path: "/apply", body: `{"tasks": [{"name": "applied", "rule": "0 * * * *"}], "dry_run": true}`}
		},
		"GET /alerts": func() apiSample { return apiSample{path: "/alerts?task=gold&limit=10"} },

		// Runs and history (api_runs.go).
		"GET /runs":                                 func() apiSample { return apiSample{path: "/runs?task=gold&limit=5"} },
		"GET /runs/{id}":                            func() apiSample { return apiSample{path: fmt.Sprintf("/runs/%d", runID)} },
		"GET /runs/{id}/log":                        func() apiSample { return apiSample{path: fmt.Sprintf("/runs/%d/log?offset=5", runID)} },
		"GET /runs/{id}/log/stream":                 func() apiSample { return apiSample{path: fmt.Sprintf("/runs/%d/log/stream", runID)} },
		"GET /fires/{workflow_id}":                  func() apiSample { return apiSample{path: "/fires/wf-walk"} },
		"GET /tasks/{name}/history":                 func() apiSample { return apiSample{path: "/tasks/gold/history"} },
		"GET /tasks/{name}/history/{version}/files": func() apiSample { return apiSample{path: fmt.Sprintf("/tasks/gold/history/%d/files", runID)} },
		"GET /tasks/{name}/diff": func() apiSample {
			return apiSample{path: fmt.Sprintf("/tasks/gold/diff?from=%d&to=%d", runID, runID)}
		},

		// Actions (api_actions.go).
		"POST /tasks/{name}/run":    func() apiSample { return apiSample{path: "/tasks/gold/run", body: `{"params": {}}`} },
		"POST /tasks/{name}/kill":   func() apiSample { return apiSample{path: "/tasks/gold/kill", body: `{"reason": "the walk"}`} },
		"POST /tasks/{name}/pause":  func() apiSample { return apiSample{path: "/tasks/gold/pause", body: `{"note": "the walk"}`} },
		"POST /tasks/{name}/resume": func() apiSample { return apiSample{path: "/tasks/gold/resume"} },
		"POST /tasks/{name}/backfill": func() apiSample {
			return apiSample{path: "/tasks/gold/backfill", body: fmt.Sprintf(`{"from": %q, "to": %q, "dry_run": true}`,
				now.Add(-3*time.Hour).Format(time.RFC3339), now.Format(time.RFC3339))}
		},
	}

	doc, _ := h.openAPI()
	if !strings.HasPrefix(doc.OpenAPI, "3.0") || len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("document: openapi %q, servers %+v; want 3.0.x at /api/v1", doc.OpenAPI, doc.Servers)
	}

	// Every route the app serves under /api/v1 is in the document.
	for _, r := range h.app.GetRoutes(true) {
		p, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == fiber.MethodHead || !strings.HasPrefix(p, "/") {
			continue
		}
		p = fiberParam.ReplaceAllString(p, "{$1}")
		if _, ok := doc.Paths[p][strings.ToLower(r.Method)]; !ok {
			t.Errorf("the app serves %s /api/v1%s; the OpenAPI document lacks it", r.Method, p)
		}
	}

	var ops []string
	for path, methods := range doc.Paths {
		for m := range methods {
			ops = append(ops, strings.ToUpper(m)+" "+path)
		}
	}
	for _, want := range coreRoutes {
		if !slices.Contains(ops, want) {
			t.Errorf("the document lacks %s", want)
		}
	}
	for key := range samples {
		if !slices.Contains(ops, key) {
			t.Logf("sample %s: not in the document (its table is not mounted yet?)", key)
		}
	}
	// Reads first, deletes last: the changes then find what they act on.
	order := map[string]int{"GET": 0, "PUT": 1, "POST": 2, "DELETE": 3}
	slices.SortFunc(ops, func(a, b string) int {
		ma, _, _ := strings.Cut(a, " ")
		mb, _, _ := strings.Cut(b, " ")
		if d := order[ma] - order[mb]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, key := range ops {
		method, path, _ := strings.Cut(key, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		sample, ok := samples[key]
		if !ok {
			t.Errorf("%s is documented but the walk has no sample request for it: add one", key)
			continue
		}
		if op.Summary == "" {
			t.Errorf("%s: no summary", key)
		}
		check := func(who string, r apiReply, want int, code string) {
			t.Helper()
			if r.code != want || (code != "" && r.errCode() != code) {
				t.Errorf("%s with %s: %s; want %d %s", key, who, r, want, code)
			}
			if c := r.header.Get("Set-Cookie"); c != "" {
				t.Errorf("%s with %s set a cookie: %s", key, who, c)
			}
		}
		if op.Security != nil && len(*op.Security) == 0 {
			s := sample()
			if r := h.call(method, s.path, "", s.body, s.header...); r.code/100 != 2 {
				t.Errorf("%s is public but without a token answers %s", key, r)
			}
			continue
		}
		s := sample()
		check("no token", h.call(method, s.path, "", s.body, s.header...), 401, "unauthorized")
		check("an unknown token", h.call(method, s.path, "stk_"+strings.Repeat("a", 52), s.body, s.header...), 401, "unauthorized")
		if method != "GET" {
			check("a viewer token", h.call(method, s.path, viewer, s.body, s.header...), 403, "forbidden")
			if op.Role == "admin" {
				check("an operator token", h.call(method, s.path, operator, s.body, s.header...), 403, "forbidden")
			}
		}
		if op.Role == "" {
			t.Errorf("%s: the document does not say its role (x-schetask-role)", key)
		}
		s = sample()
		r := h.call(method, s.path, admin, s.body, s.header...)
		if r.code/100 != 2 {
			t.Errorf("%s with an admin token: %s; want it to work", key, r)
		}
		if c := r.header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s set a cookie: %s", key, c)
		}
		if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && !json.Valid(r.body) {
			t.Errorf("%s: the answer says JSON but is not: %s", key, r)
		}
		if method == "GET" {
			s = sample()
			if rv := h.call(method, s.path, viewer, s.body, s.header...); rv.code/100 != 2 {
				t.Errorf("%s with a viewer token: %s; a viewer reads", key, rv)
			}
		}
	}
}

// TestAPIDocumentRefsResolve: every schema the document names is in its
// components, so a client generated from it builds.
func TestAPIDocumentRefsResolve(t *testing.T) {
	t.Parallel()
	h := newAPIApp(t, testenv.New(t), nil)
	doc, raw := h.openAPI()
	for _, m := range regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Comps.Schemas[m[1]]; !ok {
			t.Errorf("the document refers to schema %s, which it lacks", m[1])
		}
	}
	var full struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name, In string
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for path, methods := range full.Paths {
		for m, op := range methods {
			if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
				t.Errorf("%s %s: operationId %q (also %s)", m, path, op.OperationID, prev)
			}
			ids[op.OperationID] = m + " " + path
			for _, name := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(op.Parameters, func(p struct{ Name, In string }) bool { return p.Name == name[1] && p.In == "path" }) {
					t.Errorf("%s %s: path parameter %s is not declared", m, path, name[1])
				}
			}
		}
	}
}

// TestAPITokenIsCheckedOnEveryRequest: a revoked or expired token, or one
// of a disabled user, is refused at its very next request; a token of a
// user demoted to viewer can no longer change anything; a token's role
// never exceeds its user's.
func TestAPITokenIsCheckedOnEveryRequest(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	h := newAPIApp(t, env, nil)
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "gold"})
	create := func(token, name string) apiReply {
		return h.call("POST", "/tasks", token, fmt.Sprintf(`{"name": %q, "rule": "0 0 * * *"}`, name))
	}

	t.Run("revoked", func(t *testing.T) {
		tok, id := h.token("rita", webui.RoleViewer, webui.RoleViewer)
		if r := h.call("GET", "/tasks", tok, ""); r.code != 200 {
			t.Fatalf("before the revocation: %s", r)
		}
		if _, _, err := env.Store.RevokeToken(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		if r := h.call("GET", "/tasks", tok, ""); r.code != 401 || r.errCode() != "unauthorized" {
			t.Errorf("the request right after the revocation: %s, want 401 unauthorized", r)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tok, id := h.token("eve", webui.RoleViewer, webui.RoleViewer)
		if r := h.call("GET", "/tasks", tok, ""); r.code != 200 {
			t.Fatalf("before it expired: %s", r)
		}
		if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if r := h.call("GET", "/tasks", tok, ""); r.code != 401 || r.errCode() != "unauthorized" {
			t.Errorf("the request right after it expired: %s, want 401 unauthorized", r)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		tok, _ := h.token("dora", webui.RoleViewer, webui.RoleViewer)
		if _, _, err := env.Store.ChangeUser(ctx, "dora", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if r := h.call("GET", "/tasks", tok, ""); r.code != 401 {
			t.Errorf("a disabled user's token: %s, want 401", r)
		}
	})
	t.Run("demoted user", func(t *testing.T) {
		addUser(t, env, "ada", "another admin 123", webui.RoleAdmin) // dan is not the last admin
		tok, _ := h.token("dan", webui.RoleAdmin, webui.RoleAdmin)
		if r := create(tok, "by-dan"); r.code != 201 {
			t.Fatalf("an admin's token creating a task: %s", r)
		}
		if _, _, err := env.Store.ChangeUser(ctx, "dan", func(u *store.User) error { u.Role = string(webui.RoleViewer); return nil }); err != nil {
			t.Fatal(err)
		}
		if r := create(tok, "by-dan-2"); r.code != 403 || r.errCode() != "forbidden" {
			t.Errorf("the admin token of a user demoted to viewer creating a task: %s, want 403", r)
		}
		if r := h.call("POST", "/tasks/gold/pause", tok, ""); r.code != 403 {
			t.Errorf("the admin token of a user demoted to viewer pausing a task: %s, want 403", r)
		}
		if r := h.call("DELETE", "/tasks/by-dan", tok, ""); r.code != 403 {
			t.Errorf("the admin token of a user demoted to viewer deleting a task: %s, want 403", r)
		}
		if r := h.call("GET", "/tasks/by-dan", tok, ""); r.code != 200 {
			t.Errorf("the demoted user still reads: %s", r)
		}
	})
	t.Run("role is the lower", func(t *testing.T) {
		// An operator's user row holding a token marked admin (as SQL
		// could make it) acts as an operator.
		tok, id := h.token("opal", webui.RoleOperator, webui.RoleOperator)
		if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_api_token SET role = 'admin' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if r := create(tok, "by-opal"); r.code != 403 {
			t.Errorf("an operator's admin token creating a task: %s, want 403", r)
		}
	})
	t.Run("last use", func(t *testing.T) {
		tok, id := h.token("lu", webui.RoleViewer, webui.RoleViewer)
		h.call("GET", "/tasks", tok, "")
		got, err := env.Store.GetToken(ctx, id)
		if err != nil || got.LastUsedAt == nil {
			t.Errorf("last use of a token just used: %v, %v", got.LastUsedAt, err)
		}
	})
}

// TestAPIRateLimitIsPerToken: past SCHETASK_API_RATE requests a minute a
// token gets 429 with Retry-After; another token goes on.
func TestAPIRateLimitIsPerToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	h := newAPIApp(t, env, func(o *webui.Options) { o.APIRate = 3 })
	busy, _ := h.token("bea", webui.RoleViewer, webui.RoleViewer)
	calm, _ := h.token("bea", webui.RoleViewer, webui.RoleViewer)
	for i := range 3 {
		if r := h.call("GET", "/tasks", busy, ""); r.code != 200 {
			t.Fatalf("request %d: %s", i+1, r)
		}
	}
	r := h.call("GET", "/tasks", busy, "")
	if r.code != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("request 4 within the minute: %s, Retry-After %q; want 429 rate_limited with Retry-After", r, r.header.Get("Retry-After"))
	}
	if r := h.call("GET", "/tasks", calm, ""); r.code != 200 {
		t.Errorf("another token of the same user: %s, want 200", r)
	}
}

// TestAPIErrorsAreJSONInOneShape: unknown routes, wrong methods, bad
// bodies, and a session cookie without a token all answer the error
// shape; the API neither reads nor sets cookies.
func TestAPIErrorsAreJSONInOneShape(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	h := newAPIApp(t, env, nil)
	admin, _ := h.token("ada", webui.RoleAdmin, webui.RoleAdmin)
	for _, tt := range []struct {
		desc, method, path, token, body string
		header                          []string
		want                            int
		code                            string
	}{
		{desc: "unknown route", method: "GET", path: "/nope", token: admin, want: 404, code: "not_found"},
		{desc: "unknown route without a token", method: "GET", path: "/nope", want: 401, code: "unauthorized"},
		{desc: "wrong method", method: "DELETE", path: "/alerts", token: admin, want: 405, code: "method_not_allowed"},
		{desc: "not JSON", method: "POST", path: "/apply", token: admin, body: `{"tasks": [`, want: 400, code: "bad_request"},
		{desc: "unknown field", method: "POST", path: "/apply", token: admin, body: `{"tasks": [], "force": true}`, want: 400, code: "bad_request"},
		{desc: "unknown task", method: "GET", path: "/tasks/nope", token: admin, want: 404, code: "not_found"},
		{desc: "a run id that is no number", method: "GET", path: "/runs/abc", token: admin, want: 404, code: "not_found"},
		{desc: "an empty prune", method: "POST", path: "/apply", token: admin, body: `{"tasks": [], "prune": true}`, want: 422, code: "invalid"},
		{desc: "not a bearer", method: "GET", path: "/tasks", header: []string{"Authorization", "Basic YTpi"}, want: 401, code: "unauthorized"},
		{desc: "a session cookie is no token", method: "GET", path: "/tasks", header: []string{"Cookie", "schetask_session=abc"}, want: 401, code: "unauthorized"},
	} {
		r := h.call(tt.method, tt.path, tt.token, tt.body, tt.header...)
		if r.code != tt.want || r.errCode() != tt.code {
			t.Errorf("%s: %s; want %d %s", tt.desc, r, tt.want, tt.code)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q, want JSON", tt.desc, r.header.Get("Content-Type"))
		}
		if c := r.header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s: set a cookie %s", tt.desc, c)
		}
		if tt.want == 405 && r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q, want GET, HEAD", tt.desc, r.header.Get("Allow"))
		}
	}
	if r := h.call("HEAD", "/tasks", admin, ""); r.code != 200 {
		t.Errorf("HEAD of a GET route: %s, want 200", r)
	}
}

var shownToken = regexp.MustCompile(`<code id="token-value">(stk_[a-z2-7]{52})</code>`)

// TestTokenScreenMakesShowsOnceAndRevokes: the console's API tokens
// screen makes a token with the user's role or a lower one, shows it
// once, lists it without it, and revokes it (audited both times); an
// operator sees and revokes only their own tokens.
func TestTokenScreenMakesShowsOnceAndRevokes(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	base := console(t, env)
	addUser(t, env, "olga", "operator password 1", webui.RoleOperator)
	b := newBrowser(t, base)
	if code := b.login("olga", "operator password 1"); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if _, body, _ := b.do("GET", "/", nil); !strings.Contains(body, `href="/tokens"`) {
		t.Error("the console's header has no link to the API tokens screen")
	}
	post := func(form url.Values) (int, string) {
		t.Helper()
		form.Set("_csrf", b.token("/tokens"))
		code, body, _ := b.do("POST", "/tokens", form)
		return code, body
	}
	if code, body := post(url.Values{"name": {"deploy"}, "role": {"admin"}}); code != 403 || shownToken.MatchString(body) {
		t.Errorf("an operator asking for an admin token: %d, want 403 and no token", code)
	}
	if code, _ := post(url.Values{"name": {"bad name"}, "role": {"viewer"}}); code != 422 {
		t.Errorf("a token name with a space: %d, want 422", code)
	}
	if code, _ := post(url.Values{"name": {"ci"}, "role": {"viewer"}, "expires_days": {"0"}}); code != 422 {
		t.Errorf("an expiry of 0 days: %d, want 422", code)
	}
	code, body := post(url.Values{"name": {"deploy"}, "role": {"operator"}, "expires_days": {"30"}})
	m := shownToken.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("making a token: %d, token shown: %v", code, m != nil)
	}
	plain := m[1]
	if code, _ := post(url.Values{"name": {"deploy"}, "role": {"viewer"}}); code != 409 {
		t.Errorf("a second token named deploy: %d, want 409", code)
	}
	if _, page, _ := b.do("GET", "/tokens", nil); strings.Contains(page, plain) || !strings.Contains(page, "deploy") {
		t.Error("the list shows the token again, or does not list it")
	}
	apiGet := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/v1/tasks", nil)
		req.Header.Set("Authorization", "Bearer "+plain)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := apiGet(); code != 200 {
		t.Fatalf("the new token on the API: %d", code)
	}
	tokens, err := env.Store.ListTokens(ctx, "olga")
	if err != nil || len(tokens) != 1 || tokens[0].Role != "operator" || tokens[0].ExpiresAt == nil ||
		time.Until(*tokens[0].ExpiresAt) < 29*24*time.Hour {
		t.Fatalf("olga's tokens: %+v, %v", tokens, err)
	}

	// Another user's token is not olga's to see or revoke.
	addUser(t, env, "ada", "admin password 12", webui.RoleAdmin)
	other, _, err := env.Store.CreateToken(ctx, store.APIToken{Name: "adas", Username: "ada", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, page, _ := b.do("GET", "/tokens", nil); strings.Contains(page, "adas") {
		t.Error("an operator sees another user's token")
	}
	if code, _, _ := b.do("POST", fmt.Sprintf("/tokens/%d/revoke", other.ID), url.Values{"_csrf": {b.token("/tokens")}}); code != 404 {
		t.Errorf("an operator revoking ada's token: %d, want 404", code)
	}
	if code, _, _ := b.do("POST", fmt.Sprintf("/tokens/%d/revoke", tokens[0].ID), url.Values{}); code != 403 {
		t.Errorf("a revocation without the CSRF token: %d, want 403", code)
	}
	if code, _, _ := b.do("POST", fmt.Sprintf("/tokens/%d/revoke", tokens[0].ID), url.Values{"_csrf": {b.token("/tokens")}}); code != 303 {
		t.Fatalf("revoking: %d, want 303", code)
	}
	if code := apiGet(); code != 401 {
		t.Errorf("the revoked token on the API: %d, want 401", code)
	}

	var actions []string
	rows, err := env.Store.Pool().Query(ctx, `SELECT action || ' ' || username || ' ' || (coalesce(after, '{}'::jsonb) ->> 'token')
		FROM t_audit WHERE action LIKE 'token.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, s)
	}
	if want := []string{"token.create olga deploy", "token.revoke olga deploy"}; !slices.Equal(actions, want) {
		t.Errorf("audit %q, want %q", actions, want)
	}
	var leaked int
	if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM t_audit WHERE after::text LIKE '%stk_%' OR before::text LIKE '%stk_%'`).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("%d audit rows hold a token (%v)", leaked, err)
	}
}

// TestTokenScreenShowsAnAdminEveryToken: an admin lists and revokes any
// user's token.
func TestTokenScreenShowsAnAdminEveryToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	b := newBrowser(t, console(t, env))
	addUser(t, env, "ada", "admin password 12", webui.RoleAdmin)
	addUser(t, env, "vic", "viewer password 1", webui.RoleViewer)
	tok, _, err := env.Store.CreateToken(ctx, store.APIToken{Name: "vics", Username: "vic", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if code := b.login("ada", "admin password 12"); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if _, page, _ := b.do("GET", "/tokens", nil); !strings.Contains(page, "vics") || !strings.Contains(page, "<td>vic</td>") {
		t.Error("an admin does not see vic's token")
	}
	if code, _, _ := b.do("POST", fmt.Sprintf("/tokens/%d/revoke", tok.ID), url.Values{"_csrf": {b.token("/tokens")}}); code != 303 {
		t.Fatalf("an admin revoking vic's token: %d", code)
	}
	if got, err := env.Store.GetToken(ctx, tok.ID); err != nil || got.RevokedAt == nil {
		t.Errorf("vic's token after the revocation: %+v, %v", got, err)
	}
}

// TestAPIRequestLogOmitsTheToken: every API request is logged, with the
// token's name and never the token itself (also when it is refused).
func TestAPIRequestLogOmitsTheToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	var logged strings.Builder
	srv, err := webui.New(env.Store, slog.New(slog.NewTextHandler(&logged, nil)), webui.Options{TasksDir: env.Config.TasksDir})
	if err != nil {
		t.Fatal(err)
	}
	h := &apiApp{t: t, env: env, app: srv.App()}
	tok, id := h.token("vic", webui.RoleViewer, webui.RoleViewer)
	got, err := env.Store.GetToken(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	h.call("GET", "/tasks?q=x", tok, "")
	h.call("GET", "/tasks", tok+"x", "")
	out := logged.String()
	if !strings.Contains(out, "api request") || !strings.Contains(out, "token="+got.Name) || !strings.Contains(out, "path=/api/v1/tasks") {
		t.Errorf("the request was not logged with its path and token name:\n%s", out)
	}
	if strings.Contains(out, tok) || strings.Contains(out, "stk_") {
		t.Errorf("the log holds a token:\n%s", out)
	}
}
