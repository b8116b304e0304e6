package webui_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// usersBundle is one test's console with an admin, ada, logged in.
type usersBundle struct {
	env   *testenv.Env
	base  string
	admin *browser
}

func setupUsers(t *testing.T) *usersBundle {
	t.Helper()
	env := testenv.New(t)
	addUser(t, env, "ada", "ada password", webui.RoleAdmin)
	if err := env.Store.UpsertTask(context.Background(), tasktype.Task{Name: "gold", Rule: "*/2 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	base := console(t, env)
	admin := newBrowser(t, base)
	if admin.login("ada", "ada password") != 303 {
		t.Fatal("ada could not log in")
	}
	return &usersBundle{env: env, base: base, admin: admin}
}

// post sends a form from the user screen, with its CSRF token.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.token("/users"))
	code, body, _ := b.do("POST", path, form)
	return code, body
}

// as logs a new browser in as name.
func (u *usersBundle) as(t *testing.T, name, password string) *browser {
	t.Helper()
	b := newBrowser(t, u.base)
	if code := b.login(name, password); code != 303 {
		t.Fatalf("%s could not log in: %d", name, code)
	}
	return b
}

func (u *usersBundle) sessionsOf(t *testing.T, name string) int {
	t.Helper()
	var n int
	if err := u.env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_web_session WHERE username = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// audited checks that by's action on user is in the audit, without any
// password hash.
func (u *usersBundle) audited(t *testing.T, by, action, user string) {
	t.Helper()
	var n int
	if err := u.env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_audit WHERE username = $1 AND action = $2
		AND coalesce(after, before)->>'user' = $3 AND task_name IS NULL`, by, action, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no audit row for %s's %s of %s", by, action, user)
	}
	var hashes int
	if err := u.env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_audit
		WHERE coalesce(before::text, '') || coalesce(after::text, '') LIKE '%$2a$%'`).Scan(&hashes); err != nil || hashes != 0 {
		t.Errorf("%d audit rows hold a password hash (%v)", hashes, err)
	}
}

// endedFor checks that b's session is over.
func endedFor(t *testing.T, b *browser, who string) {
	t.Helper()
	if code, _, h := b.do("GET", "/", nil); code != 303 || !strings.HasPrefix(h.Get("Location"), "/login?") {
		t.Errorf("%s's session goes on: %d to %q", who, code, h.Get("Location"))
	}
}

var shownPassword = regexp.MustCompile(`(?s)id="shown-password".*?<code>([^<]+)</code>`)

func TestUserScreen(t *testing.T) {
	t.Parallel()

	t.Run("only admins see and change users", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		addUser(t, u.env, "vera", "vera password", webui.RoleViewer)
		addUser(t, u.env, "olga", "olga password", webui.RoleOperator)
		if _, body, _ := u.admin.do("GET", "/", nil); !strings.Contains(body, `href="/users"`) {
			t.Error("the admin has no link to the user screen")
		}
		for _, name := range []string{"vera", "olga"} {
			b := u.as(t, name, name+" password")
			if _, body, _ := b.do("GET", "/", nil); strings.Contains(body, `href="/users"`) {
				t.Errorf("%s is offered the user screen", name)
			}
			if code, _, _ := b.do("GET", "/users", nil); code != 403 {
				t.Errorf("%s GET /users: %d, want 403", name, code)
			}
			token := b.token("/")
			for _, path := range []string{"/users", "/users/ada/role", "/users/ada/disable", "/users/vera/enable", "/users/ada/reset-password"} {
				code, _, _ := b.do("POST", path, url.Values{"_csrf": {token}, "username": {"eve"}, "role": {"admin"}, "password": {"eve password"}})
				if code != 403 {
					t.Errorf("%s POST %s: %d, want 403", name, path, code)
				}
			}
		}
		if usr, err := u.env.Store.GetUser(context.Background(), "ada"); err != nil || usr.Role != "admin" || usr.Disabled {
			t.Errorf("ada changed by others: %+v %v", usr, err)
		}
		if _, err := u.env.Store.GetUser(context.Background(), "eve"); err == nil {
			t.Error("an operator created a user")
		}
		if code, _, _ := u.admin.do("POST", "/users", url.Values{"username": {"eve"}, "role": {"viewer"}, "password": {"eve password"}}); code != 403 {
			t.Errorf("add a user without a CSRF token: %d, want 403", code)
		}
	})

	t.Run("a new user must choose their own password first", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		if code, body := u.admin.post("/users", url.Values{"username": {"uma"}, "role": {"operator"}, "password": {"first password"}}); code != 303 {
			t.Fatalf("add uma: %d\n%s", code, body)
		}
		u.audited(t, "ada", "user.create", "uma")
		_, list, _ := u.admin.do("GET", "/users", nil)
		if !regexp.MustCompile(`(?s)id="user-uma".*?must change`).MatchString(list) {
			t.Errorf("the list does not show uma must change her password:\n%s", list)
		}
		uma := u.as(t, "uma", "first password")
		other := u.as(t, "uma", "first password")
		if code, _, h := uma.do("GET", "/", nil); code != 303 || h.Get("Location") != "/account/password" {
			t.Errorf("uma's first page: %d to %q, want the change-password page", code, h.Get("Location"))
		}
		if code, _, _ := uma.do("POST", "/tasks/gold/pause", url.Values{"_csrf": {uma.token("/account/password")}}); code != 403 {
			t.Errorf("uma pauses before changing her password: %d, want 403", code)
		}
		for _, tt := range []struct{ current, password, confirm, want string }{
			{"wrong password", "uma's own secret", "uma's own secret", "current password is wrong"},
			{"first password", "uma's own secret", "uma's other secret", "differ"},
			{"first password", "first password", "first password", "must differ"},
			{"first password", "changeme", "changeme", "well-known"},
			{"first password", "UMA", "UMA", "at least 8"},
		} {
			code, body, _ := uma.do("POST", "/account/password", url.Values{"_csrf": {uma.token("/account/password")},
				"current": {tt.current}, "password": {tt.password}, "confirm": {tt.confirm}})
			if code != 422 || !strings.Contains(body, tt.want) {
				t.Errorf("change to %q: %d, want 422 saying %q", tt.password, code, tt.want)
			}
		}
		code, _, h := uma.do("POST", "/account/password", url.Values{"_csrf": {uma.token("/account/password")},
			"current": {"first password"}, "password": {"uma's own secret"}, "confirm": {"uma's own secret"}})
		if code != 303 || h.Get("Location") != "/" {
			t.Fatalf("change the password: %d to %q", code, h.Get("Location"))
		}
		if code, body, _ := uma.do("GET", "/", nil); code != 200 || !strings.Contains(body, "uma (operator)") {
			t.Errorf("uma after choosing her password: %d", code)
		}
		endedFor(t, other, "uma's other browser")
		u.audited(t, "uma", "user.password", "uma")
		if code := newBrowser(t, u.base).login("uma", "first password"); code != 401 {
			t.Errorf("login with the first password after the change: %d, want 401", code)
		}
	})

	t.Run("a generated password is shown once", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		code, body := u.admin.post("/users", url.Values{"username": {"gus"}, "role": {"viewer"}, "password": {""}})
		m := shownPassword.FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("add gus with a generated password: %d, no password shown:\n%s", code, body)
		}
		if _, list, _ := u.admin.do("GET", "/users", nil); strings.Contains(list, m[1]) {
			t.Error("the generated password is shown again")
		}
		u.as(t, "gus", m[1])
	})

	t.Run("bad additions are refused", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		for _, tt := range []struct {
			name, role, password string
			code                 int
			want                 string
		}{
			{"-x", "viewer", "a fine password", 422, "user name"},
			{"has space", "viewer", "a fine password", 422, "user name"},
			{"eve", "root", "a fine password", 422, "role"},
			{"eve", "viewer", "changeme", 422, "well-known"},
			{"eve", "viewer", "short", 422, "at least 8"},
			{"evelyn99", "viewer", "EVELYN99", 422, "user name"},
			{"ada", "viewer", "a fine password", 409, "already"},
		} {
			code, body := u.admin.post("/users", url.Values{"username": {tt.name}, "role": {tt.role}, "password": {tt.password}})
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Errorf("add %q (%s, %q): %d, want %d saying %q", tt.name, tt.role, tt.password, code, tt.code, tt.want)
			}
		}
		if users, err := u.env.Store.ListUsers(context.Background()); err != nil || len(users) != 1 {
			t.Errorf("users after refusals: %d (%v), want ada alone", len(users), err)
		}
	})

	t.Run("a role change ends the user's sessions", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		addUser(t, u.env, "olga", "olga password", webui.RoleOperator)
		olga := u.as(t, "olga", "olga password")
		if code, _ := u.admin.post("/users/olga/role", url.Values{"role": {"viewer"}}); code != 303 {
			t.Fatalf("set olga's role: %d", code)
		}
		if n := u.sessionsOf(t, "olga"); n != 0 {
			t.Errorf("olga keeps %d sessions after the change", n)
		}
		endedFor(t, olga, "olga")
		if _, body, _ := u.as(t, "olga", "olga password").do("GET", "/", nil); !strings.Contains(body, "olga (viewer)") {
			t.Error("olga is not a viewer after logging in again")
		}
		u.audited(t, "ada", "user.role", "olga")
		if code, _ := u.admin.post("/users/olga/role", url.Values{"role": {"root"}}); code != 422 {
			t.Errorf("unknown role: %d, want 422", code)
		}
		if code, _ := u.admin.post("/users/ghost/role", url.Values{"role": {"viewer"}}); code != 404 {
			t.Errorf("role of a missing user: %d, want 404", code)
		}
	})

	t.Run("disabling ends the user's sessions", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		addUser(t, u.env, "olga", "olga password", webui.RoleOperator)
		olga := u.as(t, "olga", "olga password")
		if code, _ := u.admin.post("/users/olga/disable", nil); code != 303 {
			t.Fatalf("disable olga: %d", code)
		}
		if n := u.sessionsOf(t, "olga"); n != 0 {
			t.Errorf("olga keeps %d sessions after being disabled", n)
		}
		endedFor(t, olga, "olga")
		if code := newBrowser(t, u.base).login("olga", "olga password"); code != 401 {
			t.Errorf("a disabled user logs in: %d, want 401", code)
		}
		if code, _ := u.admin.post("/users/olga/enable", nil); code != 303 {
			t.Fatalf("enable olga: %d", code)
		}
		u.as(t, "olga", "olga password")
		u.audited(t, "ada", "user.disable", "olga")
		u.audited(t, "ada", "user.enable", "olga")
	})

	t.Run("a reset password must be changed at the next login", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		addUser(t, u.env, "olga", "olga password", webui.RoleOperator)
		olga := u.as(t, "olga", "olga password")
		code, body := u.admin.post("/users/olga/reset-password", nil)
		m := shownPassword.FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("reset olga's password: %d, none shown:\n%s", code, body)
		}
		if n := u.sessionsOf(t, "olga"); n != 0 {
			t.Errorf("olga keeps %d sessions after the reset", n)
		}
		endedFor(t, olga, "olga")
		if code := newBrowser(t, u.base).login("olga", "olga password"); code != 401 {
			t.Errorf("login with the old password: %d, want 401", code)
		}
		olga = u.as(t, "olga", m[1])
		if code, _, h := olga.do("GET", "/runs", nil); code != 303 || h.Get("Location") != "/account/password" {
			t.Errorf("olga after a reset: %d to %q, want the change-password page", code, h.Get("Location"))
		}
		if code, body, _ := olga.do("GET", "/account/password", nil); code != 200 || !strings.Contains(body, `id="must-change"`) {
			t.Errorf("change-password page: %d", code)
		}
		u.audited(t, "ada", "user.password_reset", "olga")

		if _, err := u.env.Store.EnsureSSOUser(context.Background(), "sam", "viewer"); err != nil {
			t.Fatal(err)
		}
		if code, _ := u.admin.post("/users/sam/reset-password", nil); code != 409 {
			t.Errorf("reset of a single sign-on user: %d, want 409", code)
		}
	})

	t.Run("the last enabled admin stays", func(t *testing.T) {
		t.Parallel()
		u := setupUsers(t)
		for _, tt := range []struct {
			path string
			form url.Values
		}{{"/users/ada/role", url.Values{"role": {"operator"}}}, {"/users/ada/disable", nil}} {
			if code, body := u.admin.post(tt.path, tt.form); code != 409 || !strings.Contains(body, "last enabled admin") {
				t.Errorf("POST %s on the last admin: %d, want 409 saying why", tt.path, code)
			}
		}
		if usr, _ := u.env.Store.GetUser(context.Background(), "ada"); usr.Role != "admin" || usr.Disabled || u.sessionsOf(t, "ada") != 1 {
			t.Errorf("the last admin was changed: %+v", usr)
		}
		addUser(t, u.env, "bob", "bob password", webui.RoleAdmin)
		if code, _ := u.admin.post("/users/ada/role", url.Values{"role": {"operator"}}); code != 303 {
			t.Errorf("demote ada with bob an admin: %d, want 303", code)
		}
		endedFor(t, u.admin, "ada")
		bob := u.as(t, "bob", "bob password")
		if code, _ := bob.post("/users/bob/disable", nil); code != 409 {
			t.Errorf("bob, now the last admin, disables himself: %d, want 409", code)
		}
	})
}
