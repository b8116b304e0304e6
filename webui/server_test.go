package webui_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// console serves a console on a real port for one test.
func console(t testing.TB, env *testenv.Env) string {
	t.Helper()
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), webui.Options{TemporalUIURL: "http://temporal.test", Namespace: "default",
		TasksDir: env.Config.TasksDir,
		Control:  &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, header ...string) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// token reads the CSRF token from a page.
func (b *browser) token(path string) string {
	b.t.Helper()
	_, body, _ := b.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s:\n%s", path, body)
	}
	return m[1]
}

func (b *browser) login(user, password string) int {
	b.t.Helper()
	code, _, _ := b.do("POST", "/login", url.Values{"_csrf": {b.token("/login")}, "username": {user}, "password": {password}, "next": {"/"}})
	return code
}

func addUser(t testing.TB, env *testenv.Env, name, password string, role webui.Role) {
	t.Helper()
	hash, err := webui.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.UpsertUser(context.Background(), store.User{Username: name, PasswordHash: hash, Role: string(role)}); err != nil {
		t.Fatal(err)
	}
}

func TestWithoutASessionOnlyLoginAndHealthAnswer(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	b := newBrowser(t, console(t, env))
	for _, tt := range []struct {
		method, path string
		accept       string
		want         int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/login", "", 200},
		{"GET", "/static/app.css", "", 200},
		{"GET", "/", "text/html", 303},
		{"GET", "/tasks/gold", "text/html", 303},
		{"GET", "/runs/1", "application/json", 401},
		{"POST", "/logout", "text/html", 401},
		{"GET", "/no/such/page", "application/json", 401},
		{"GET", "/static/app.js", "", 200},
		{"GET", "/runs", "text/html", 303},
		{"GET", "/create", "text/html", 303},
		{"GET", "/api/rule?rule=*+*+*+*+*", "application/json", 401},
		{"GET", "/tasks/gold/history", "application/json", 401},
		{"GET", "/tasks/gold/diff?a=1&b=2&file=x", "application/json", 401},
		{"GET", "/runs/1/log", "application/json", 401},
		{"GET", "/runs/1/stream", "application/json", 401},
		{"GET", "/runs/1/file?name=x", "application/json", 401},
		{"POST", "/create", "text/html", 401},
		{"POST", "/tasks/gold/edit", "text/html", 401},
		{"POST", "/tasks/gold/delete", "text/html", 401},
		{"POST", "/tasks/gold/run", "text/html", 401},
	} {
		code, _, h := b.do(tt.method, tt.path, nil, "Accept", tt.accept)
		if code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, code, tt.want)
		}
		if code == 303 && !strings.HasPrefix(h.Get("Location"), "/login?next=") {
			t.Errorf("%s %s redirects to %q, want the login page", tt.method, tt.path, h.Get("Location"))
		}
		if h.Get("Content-Security-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: security headers missing", tt.method, tt.path)
		}
	}
}

func TestLoginSessionsAndCSRF(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "olga", "correct horse battery", webui.RoleOperator)
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "*/2 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip,
		Description: "<script>alert(1)</script>"}); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
		scheduled_time, status, exit_code, stderr_head, stderr_lines)
		VALUES ('gold', 'v1', 'task-gold-x', 'r1', now(), 'failed', 3, '{"<img src=x onerror=alert(1)>"}', 1) RETURNING id`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	base := console(t, env)
	b := newBrowser(t, base)

	if code := b.login("olga", "wrong password"); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, body, _ := b.do("POST", "/login", url.Values{"username": {"olga"}, "password": {"correct horse battery"}}); code != 403 ||
		!strings.Contains(body, "CSRF") {
		t.Errorf("login without a CSRF token: %d %s, want 403", code, body)
	}
	before := b.c.Jar.Cookies(mustURL(t, base))
	if code := b.login("olga", "correct horse battery"); code != 303 {
		t.Fatalf("login: %d, want 303", code)
	}
	if sameSession(before, b.c.Jar.Cookies(mustURL(t, base))) {
		t.Error("the session id did not change at login")
	}

	code, body, _ := b.do("GET", "/", nil)
	if code != 200 || !strings.Contains(body, "olga (operator)") || !strings.Contains(body, `href="/runs/`) ||
		!strings.Contains(body, `href="http://temporal.test/namespaces/default/workflows/task-gold-x/r1/history"`) {
		t.Fatalf("overview after login: %d\n%s", code, body)
	}
	code, body, _ = b.do("GET", "/runs/"+itoa(runID), nil)
	if code != 200 || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") ||
		!strings.Contains(body, "http://temporal.test/namespaces/default/workflows/task-gold-x/r1/history") {
		t.Errorf("run page: %d, want the stderr escaped and the Temporal link:\n%s", code, body)
	}
	code, body, _ = b.do("GET", "/tasks/gold", nil)
	if code != 200 || strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("task page: %d, want the description escaped:\n%s", code, body)
	}
	for _, p := range []string{"/tasks/..%2fetc", "/tasks/ghost", "/runs/999999"} {
		if code, _, _ := b.do("GET", p, nil); code != 404 {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}

	// Sessions live in Postgres: another console process knows this one.
	other := &browser{t: t, base: console(t, env), c: b.c}
	if code, _, _ := other.do("GET", "/", nil); code != 200 {
		t.Errorf("the session is not known to a second console: %d", code)
	}

	if code, _, _ := b.do("POST", "/logout", url.Values{}); code != 403 {
		t.Errorf("logout without a CSRF token: %d, want 403", code)
	}
	if code, _, _ := b.do("POST", "/logout", url.Values{"_csrf": {b.token("/")}}); code != 303 {
		t.Errorf("logout: %d, want 303", code)
	}
	if code, _, _ := b.do("GET", "/", nil); code != 303 {
		t.Errorf("after logout: %d, want a redirect to the login page", code)
	}
}

func TestFirstAdminIsCreatedOnceAndCanLogIn(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	var out bytes.Buffer
	created, err := webui.EnsureAdmin(ctx, env.Store, "", &out)
	if err != nil || !created {
		t.Fatalf("first EnsureAdmin: %v, %v", created, err)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed: %q", out.String())
	}
	var again bytes.Buffer
	if created, err := webui.EnsureAdmin(ctx, env.Store, "", &again); err != nil || created || again.Len() != 0 {
		t.Errorf("second EnsureAdmin: created %v, printed %q, %v; want nothing", created, again.String(), err)
	}
	b := newBrowser(t, console(t, env))
	if code := b.login("admin", m[1]); code != 303 {
		t.Errorf("login with the printed password: %d", code)
	}
	if _, err := webui.EnsureAdmin(ctx, testenv.New(t).Store, "short", io.Discard); err == nil {
		t.Error("a 5-character admin password was accepted")
	}
}

// TestRolesLimitActionsAndChangesAreAudited: a viewer reads but changes
// nothing; an operator pauses and resumes, each change audited on the
// task's page; no change goes through without the CSRF token.
func TestRolesLimitActionsAndChangesAreAudited(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "*/2 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	base := console(t, env)
	status := func() tasktype.Status {
		task, err := env.Store.GetTask(ctx, "gold")
		if err != nil {
			t.Fatal(err)
		}
		return task.Status
	}

	viewer := newBrowser(t, base)
	if viewer.login("vera", "viewer password") != 303 {
		t.Fatal("viewer login failed")
	}
	_, page, _ := viewer.do("GET", "/tasks/gold", nil)
	if strings.Contains(page, `action="/tasks/gold/pause"`) {
		t.Error("the viewer is offered the pause button")
	}
	for _, action := range []string{"pause", "run", "kill", "resume"} {
		if code, _, _ := viewer.do("POST", "/tasks/gold/"+action, url.Values{"_csrf": {viewer.token("/tasks/gold")}}); code != 403 {
			t.Errorf("viewer %s: %d, want 403", action, code)
		}
	}

	op := newBrowser(t, base)
	if op.login("olga", "operator password") != 303 {
		t.Fatal("operator login failed")
	}
	if code, _, _ := op.do("POST", "/tasks/gold/pause", url.Values{}); code != 403 || status() != tasktype.StatusOn {
		t.Errorf("pause without a CSRF token: %d, status %d; want 403 and still on", code, status())
	}
	if code, _, _ := op.do("POST", "/tasks/gold/pause", nil, "X-CSRF-Token", "forged"); code != 403 {
		t.Errorf("pause with a forged token header: %d, want 403", code)
	}
	if code, _, _ := op.do("POST", "/tasks/gold/pause", url.Values{"_csrf": {op.token("/tasks/gold")}}); code != 303 || status() != tasktype.StatusOff {
		t.Errorf("pause: %d, status %d; want 303 and off", code, status())
	}
	if code, body, _ := op.do("POST", "/tasks/gold/run", url.Values{"_csrf": {op.token("/tasks/gold")}}); code != 409 ||
		!strings.Contains(body, "no schedule yet") {
		t.Errorf("run now without a schedule: %d %s, want 409", code, body)
	}
	if code, _, _ := op.do("POST", "/tasks/gold/resume", nil, "X-CSRF-Token", op.token("/tasks/gold")); code != 303 || status() != tasktype.StatusOn {
		t.Errorf("resume with the token in the header: %d, status %d", code, status())
	}
	_, page, _ = op.do("GET", "/tasks/gold", nil)
	for _, want := range []string{"<td>olga</td><td>pause</td>", "<td>olga</td><td>resume</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks the audit row %q", want)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sameSession(a, b []*http.Cookie) bool {
	get := func(cs []*http.Cookie) string {
		for _, c := range cs {
			if c.Name == "schetask_session" {
				return c.Value
			}
		}
		return ""
	}
	return get(a) == get(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
