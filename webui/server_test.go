package webui_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	return consoleWith(t, env, nil)
}

// consoleWith is console with options changed by set.
func consoleWith(t testing.TB, env *testenv.Env, set func(*webui.Options)) string {
	t.Helper()
	opts := webui.Options{TemporalUIURL: "http://temporal.test", Namespace: "default",
		TasksDir: env.Config.TasksDir,
		Control:  &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}}
	if set != nil {
		set(&opts)
	}
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), opts)
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

// loginTo logs b in as user with next as the form's next, and returns the
// answer's status and headers.
func (b *browser) loginTo(user, password, next string, header ...string) (int, http.Header) {
	b.t.Helper()
	code, _, h := b.do("POST", "/login", url.Values{"_csrf": {b.token("/login")}, "username": {user}, "password": {password}, "next": {next}}, header...)
	return code, h
}

// TestLoginRedirectStaysOnThisSite: after a login the browser goes to
// next only when it is a plain path (and query) of this site; a newline
// smuggled into next adds no header.
func TestLoginRedirectStaysOnThisSite(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	b := newBrowser(t, console(t, env))
	for _, tt := range []struct{ next, want string }{
		{"/%0ASet-Cookie:injected=1", "/"},
		{"/%0D%0ASet-Cookie:injected=1", "/"},
		{"/\r\nSet-Cookie:injected=1", "/"},
		{"/%09/evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"https://evil.example", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/tasks/gold?x=1", "/tasks/gold?x=1"},
		{"/runs?task=gold&status=failed", "/runs?status=failed&task=gold"},
	} {
		code, h := b.loginTo("olga", "operator password", tt.next)
		if code != 303 || h.Get("Location") != tt.want {
			t.Errorf("next=%q: %d to %q, want 303 to %q", tt.next, code, h.Get("Location"), tt.want)
		}
		for _, c := range h.Values("Set-Cookie") {
			if strings.HasPrefix(c, "injected") {
				t.Errorf("next=%q added a header: Set-Cookie: %s", tt.next, c)
			}
		}
	}

	// As a browser does it: the link carries next, the form posts it back.
	for _, link := range []string{"/login?next=/%0ASet-Cookie:injected=1", "/login?next=/%09/evil.example"} {
		_, page, _ := b.do("GET", link, nil)
		m := nextField.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no next field on %s", link)
		}
		code, _, h := b.do("POST", "/login", url.Values{"_csrf": {csrfField.FindStringSubmatch(page)[1]}, "username": {"olga"},
			"password": {"operator password"}, "next": {html.UnescapeString(m[1])}})
		if code != 303 || h.Get("Location") != "/" || slices.ContainsFunc(h.Values("Set-Cookie"), func(c string) bool { return strings.HasPrefix(c, "injected") }) {
			t.Errorf("login from %s: %d to %q, cookies %q; want 303 to / and nothing injected", link, code, h.Get("Location"), h.Values("Set-Cookie"))
		}
	}
}

var nextField = regexp.MustCompile(`name="next" value="([^"]*)"`)

func countSessions(t *testing.T, env *testenv.Env) int {
	t.Helper()
	var n int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_web_session`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAnonymousVisitsStoreNoSession: a thousand visits to the login page
// store nothing; a login stores one session, owned by its user.
func TestAnonymousVisitsStoreNoSession(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	base := console(t, env)
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 1000 {
		path := "/login"
		if i%10 == 0 {
			path = "/tasks/gold" // the redirect to the login page
		}
		resp, err := anon.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := countSessions(t, env); n != 0 {
		t.Fatalf("1,000 anonymous visits stored %d sessions, want 0", n)
	}
	b := newBrowser(t, base)
	if code := b.login("olga", "wrong password"); code != 401 || countSessions(t, env) != 0 {
		t.Errorf("a failed login: %d, %d sessions; want 401 and none", code, countSessions(t, env))
	}
	if code := b.login("olga", "operator password"); code != 303 {
		t.Fatalf("login: %d", code)
	}
	var owner string
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT username FROM t_web_session`).Scan(&owner); err != nil || owner != "olga" {
		t.Errorf("after the login: session of %q (%v), want one session of olga", owner, err)
	}
}

// TestCSRFTokenRotatesAtLogin: the token of the login form is worth
// nothing once logged in; the login form itself needs its token and
// cookie, and refuses a post from another site.
func TestCSRFTokenRotatesAtLogin(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	base := console(t, env)
	b := newBrowser(t, base)
	before := b.token("/login")
	if code, _, _ := b.do("POST", "/login", url.Values{"_csrf": {before}, "username": {"olga"}, "password": {"operator password"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if code, _, _ := b.do("POST", "/logout", url.Values{"_csrf": {before}}); code != 403 {
		t.Errorf("logout with the token from before the login: %d, want 403", code)
	}
	if code, _, _ := b.do("POST", "/logout", url.Values{}, "X-CSRF-Token", before); code != 403 {
		t.Errorf("logout with the old token in the header: %d, want 403", code)
	}
	after := b.token("/")
	if after == before {
		t.Fatal("the page after the login shows the token from before it")
	}
	// Logging in again over a session rotates its token too.
	if code, _, _ := b.do("POST", "/login", url.Values{"_csrf": {b.token("/login")}, "username": {"olga"}, "password": {"operator password"}}); code != 303 {
		t.Fatalf("second login: %d", code)
	}
	if code, _, _ := b.do("POST", "/logout", url.Values{}, "X-CSRF-Token", after); code != 403 {
		t.Errorf("logout with the token of the session before the second login: %d, want 403", code)
	}
	if code, _, _ := b.do("POST", "/logout", url.Values{"_csrf": {b.token("/")}}); code != 303 {
		t.Errorf("logout with the new token: %d, want 303", code)
	}

	form := func(token string) url.Values {
		return url.Values{"_csrf": {token}, "username": {"olga"}, "password": {"operator password"}}
	}
	cross := newBrowser(t, base)
	if code, _, _ := cross.do("POST", "/login", form(cross.token("/login")), "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("login posted from another site: %d, want 403", code)
	}
	if code, _, _ := newBrowser(t, base).do("POST", "/login", form(cross.token("/login"))); code != 403 {
		t.Errorf("login with a token but without its cookie: %d, want 403", code)
	}
	if code, _, _ := cross.do("POST", "/login", form(cross.token("/login")), "Sec-Fetch-Site", "same-origin"); code != 303 {
		t.Errorf("login from the form: %d, want 303", code)
	}
}

// TestSessionsEndWhenTheUserChanges: a session ends at the user's next
// request once they are disabled, get another role or another password,
// whether through the console's store or straight in SQL.
func TestSessionsEndWhenTheUserChanges(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	newHash, err := webui.HashPassword("another password")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		user   string
		change func(name string) error
	}{
		{"dora", func(name string) error {
			_, err := env.Store.Pool().Exec(ctx, `UPDATE t_web_user SET disabled = true WHERE username = $1`, name)
			return err
		}},
		{"rolf", func(name string) error {
			_, err := env.Store.Pool().Exec(ctx, `UPDATE t_web_user SET role = 'viewer' WHERE username = $1`, name)
			return err
		}},
		{"pam", func(name string) error {
			_, err := env.Store.Pool().Exec(ctx, `UPDATE t_web_user SET password_hash = $2 WHERE username = $1`, name, newHash)
			return err
		}},
		{"sid", func(name string) error {
			_, _, err := env.Store.ChangeUser(ctx, name, func(u *store.User) error { u.Disabled = true; return nil })
			return err
		}},
	} {
		b := loggedIn(t, env, tt.user, webui.RoleOperator)
		if code, _, _ := b.do("GET", "/", nil); code != 200 {
			t.Fatalf("%s before the change: %d", tt.user, code)
		}
		if err := tt.change(tt.user); err != nil {
			t.Fatal(err)
		}
		code, _, h := b.do("GET", "/", nil)
		if code != 303 || !strings.HasPrefix(h.Get("Location"), "/login?") {
			t.Errorf("%s after the change: %d to %q, want 303 to the login page", tt.user, code, h.Get("Location"))
		} else if _, page, _ := b.do("GET", h.Get("Location"), nil); !strings.Contains(page, "Your session has ended") {
			t.Errorf("%s: the login page does not say the session ended", tt.user)
		}
		if code, _, _ := b.do("POST", "/tasks/gold/pause", nil, "Accept", "application/json"); code != 401 {
			t.Errorf("%s posts after the change: %d, want 401", tt.user, code)
		}
	}
}

// TestSessionHasAMaximumAge: a session used all the time still ends
// SessionMaxAge after its login; SessionIdle (or its old name SessionTTL)
// sets how long an unused one is kept.
func TestSessionHasAMaximumAge(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	b := newBrowser(t, consoleWith(t, env, func(o *webui.Options) { o.SessionMaxAge, o.SessionIdle = 2*time.Second, time.Hour }))
	if b.login("olga", "operator password") != 303 {
		t.Fatal("login failed")
	}
	start := time.Now()
	testenv.Eventually(t, 10*time.Second, func() string {
		if code, _, _ := b.do("GET", "/", nil); code == 200 {
			return fmt.Sprintf("still logged in %s after the login", time.Since(start).Round(time.Millisecond))
		}
		return ""
	})
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("the session ended %s after the login, before its maximum age", took)
	}

	for _, tt := range []struct {
		set  func(*webui.Options)
		want time.Duration
	}{
		{func(o *webui.Options) { o.SessionIdle = 3 * time.Hour }, 3 * time.Hour},
		{func(o *webui.Options) { o.SessionTTL = 2 * time.Hour }, 2 * time.Hour},
		{nil, 12 * time.Hour},
	} {
		b := newBrowser(t, consoleWith(t, env, tt.set))
		if b.login("olga", "operator password") != 303 {
			t.Fatal("login failed")
		}
		b.do("GET", "/", nil)
		var left time.Duration
		if err := env.Store.Pool().QueryRow(context.Background(), `SELECT extract(epoch FROM max(expires_at) - now())::bigint * 1000000000
			FROM t_web_session`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left < tt.want-time.Minute || left > tt.want {
			t.Errorf("an unused session is kept %s, want %s", left, tt.want)
		}
		if _, err := env.Store.Pool().Exec(context.Background(), `DELETE FROM t_web_session`); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFailedLoginsAreHeldBack: five wrong passwords for a user hold back
// the next login, even a right one, in every console process, with
// Retry-After; each failure after that doubles the wait.
func TestFailedLoginsAreHeldBack(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	b := newBrowser(t, console(t, env))
	for i := range 5 {
		if code := b.login("olga", "wrong password"); code != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i+1, code)
		}
	}
	for _, base := range []string{b.base, console(t, env)} {
		other := &browser{t: t, base: base, c: b.c}
		code, body, h := other.do("POST", "/login", url.Values{"_csrf": {other.token("/login")}, "username": {"olga"}, "password": {"operator password"}})
		if code != 429 || h.Get("Retry-After") != "1" || !strings.Contains(body, "Too many failed logins") {
			t.Errorf("login after 5 failures (%s): %d, Retry-After %q; want 429, 1 and a message", base, code, h.Get("Retry-After"))
		}
	}
	// Once the wait is over, the sixth failure blocks for two seconds.
	testenv.Eventually(t, 5*time.Second, func() string {
		if code := b.login("olga", "wrong password"); code != 401 {
			return fmt.Sprintf("a try after the wait: %d", code)
		}
		return ""
	})
	if code, _, h := b.do("POST", "/login", url.Values{"_csrf": {b.token("/login")}, "username": {"olga"}, "password": {"operator password"}}); code != 429 || h.Get("Retry-After") != "2" {
		t.Errorf("after a sixth failure: %d, Retry-After %q; want 429 and 2", code, h.Get("Retry-After"))
	}
}

// TestFailedLoginsFromOneAddressAreHeldBack: twenty failures from one
// address, each for another name, hold back any login from it.
func TestFailedLoginsFromOneAddressAreHeldBack(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	addUser(t, env, "olga", "operator password", webui.RoleOperator)
	b := newBrowser(t, console(t, env))
	for i := range 20 {
		if code := b.login(fmt.Sprintf("guess%d", i), "wrong password"); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	if code := b.login("olga", "operator password"); code != 429 {
		t.Errorf("login after 20 failures from this address: %d, want 429", code)
	}
}

// TestKnownPasswordsAreRefused: example passwords, and the user's own
// name, are refused wherever a password is set, the first admin's
// included, with the setting named.
func TestKnownPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"password", "changeme", "admin123", "schetask", "12345678", "correct horse battery staple", "Password", "CHANGE-ME-TOO", "CHANGE-ME-first-admin-password"} {
		if _, err := webui.HashPassword(pw); err == nil {
			t.Errorf("HashPassword(%q) accepted a well-known password", pw)
		}
	}
	if err := webui.CheckPassword("margaret", "Margaret"); err == nil {
		t.Error("a password equal to the user name was accepted")
	}
	if err := webui.CheckPassword("margaret", "a passphrase of her own"); err != nil {
		t.Errorf("a good password was refused: %v", err)
	}
	env := testenv.New(t)
	for _, pw := range []string{"changeme", "admin", "Admin1234"} {
		if _, err := webui.EnsureAdmin(context.Background(), env.Store, pw, io.Discard); err == nil || !strings.Contains(err.Error(), "SCHETASK_ADMIN_PASSWORD") {
			t.Errorf("first admin with %q: %v, want an error naming SCHETASK_ADMIN_PASSWORD", pw, err)
		}
	}
}
