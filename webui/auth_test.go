package webui

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ next, want string }{
		{"/tasks/gold?x=1", "/tasks/gold?x=1"},
		{"/runs?task=gold&status=failed", "/runs?status=failed&task=gold"},
		{"/", "/"},
		{"/tasks/caf%C3%A9", "/tasks/caf%C3%A9"},
		{"/tasks/a b", "/tasks/a%20b"},
		{"/tasks/a%2Fb", "/tasks/a%2Fb"},
		{"/x#frag", "/x"},
		{"", "/"},
		{"tasks/gold", "/"},
		{"/%0ASet-Cookie:x=1", "/"},
		{"/%0D%0ALocation:https://evil", "/"},
		{"/\nSet-Cookie:x=1", "/"},
		{"/\tx", "/"},
		{"/%09/evil.example", "/"},
		{"/%7F", "/"},
		{"/runs?task=%0Aevil", "/"},
		{"/runs?%0A=x", "/"},
		{"/runs?task=%zz", "/"},
		{"https://evil", "/"},
		{"http:/evil", "/"},
		{"//evil", "/"},
		{"///evil", "/"},
		{"/\\evil", "/"},
		{"/%5Cevil", "/"},
		{"/%2F/evil", "/"},
		{"/%2f%2fevil", "/"},
		{"/@evil", "/@evil"},
		{"javascript:alert(1)", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	} {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// testServer is a console for tests that reach inside: its log, and
// requests through Fiber's in-memory Test.
type testServer struct {
	*Server
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newTestServer(t *testing.T, st *store.Store) *testServer {
	t.Helper()
	log := &syncBuffer{}
	s, err := New(st, slog.New(slog.NewTextHandler(log, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: s, log: log}
}

// postLogin posts the login form with a matching token and cookie.
func (s *testServer) postLogin(t *testing.T, user, password string) *http.Response {
	t.Helper()
	token := strings.Repeat("t", 43)
	form := url.Values{"_csrf": {token}, "username": {user}, "password": {password}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCSRFCookie, Value: token})
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestEveryLoginComparesAPassword: a login runs exactly one bcrypt
// compare whether the user exists or not, has a password or not, is
// enabled or not, so its time says nothing about the name.
func TestEveryLoginComparesAPassword(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	hash, err := HashPassword("operator password")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{
		{Username: "olga", PasswordHash: hash, Role: "operator"},
		{Username: "dora", PasswordHash: hash, Role: "operator", Disabled: true},
	} {
		if err := env.Store.UpsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Store.EnsureSSOUser(ctx, "sam", "viewer"); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, env.Store)
	var mu sync.Mutex
	compares := 0
	compare := s.comparePassword
	s.comparePassword = func(hash, password []byte) error {
		mu.Lock()
		compares++
		mu.Unlock()
		return compare(hash, password)
	}
	for _, tt := range []struct {
		desc, user, password string
		want                 int
	}{
		{"unknown user", "nobody", "operator password", 401},
		{"wrong password", "olga", "wrong password", 401},
		{"disabled user", "dora", "operator password", 401},
		{"single sign-on user", "sam", "", 401},
		{"right password", "olga", "operator password", 303},
	} {
		compares = 0
		if resp := s.postLogin(t, tt.user, tt.password); resp.StatusCode != tt.want || compares != 1 {
			t.Errorf("%s: %d with %d password compares, want %d with 1", tt.desc, resp.StatusCode, compares, tt.want)
		}
	}
}

// TestPanicsAnswer500: a handler's panic is logged with its path and
// answered with a 500 page, and the console goes on serving.
func TestPanicsAnswer500(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	s := newTestServer(t, env.Store)
	s.comparePassword = func(hash, password []byte) error { panic("compare blew up") }
	if resp := s.postLogin(t, "olga", "operator password"); resp.StatusCode != 500 {
		t.Errorf("a panicking handler: %d, want 500", resp.StatusCode)
	}
	if log := s.log.String(); !strings.Contains(log, "console handler panicked") || !strings.Contains(log, "path=/login") ||
		!strings.Contains(log, "compare blew up") {
		t.Errorf("the panic is not logged with its path:\n%s", log)
	}
	resp, err := s.App().Test(httptest.NewRequest("GET", "/login", nil), -1)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("after the panic: %v, %v; want the login page", resp, err)
	}
}

// TestSSOLogIn: logIn starts a session as a password login does, for a
// user the identity provider vouched for: recorded as an SSO user,
// checked on each request like anyone's, never taking over a local user
// and refused once disabled.
func TestSSOLogIn(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	s := newTestServer(t, env.Store)
	s.App().Get("/auth/oidc/test-login", func(c *fiber.Ctx) error {
		if err := s.logIn(c, c.Query("user"), Role(c.Query("role"))); err != nil {
			return err
		}
		return c.Redirect("/", fiber.StatusSeeOther)
	})
	get := func(path string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", "text/html")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	sessionCookie := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "schetask_session" && c.Value != "" {
				return c
			}
		}
		t.Fatalf("no session cookie: %v", resp.Header)
		return nil
	}

	resp := get("/auth/oidc/test-login?user=sam@example.com&role=operator")
	if resp.StatusCode != 303 {
		t.Fatalf("SSO login: %d", resp.StatusCode)
	}
	cookie := sessionCookie(resp)
	if resp := get("/", cookie); resp.StatusCode != 200 {
		t.Errorf("page after the SSO login: %d, want 200", resp.StatusCode)
	}
	u, err := env.Store.GetUser(ctx, "sam@example.com")
	if err != nil || !u.SSO || u.Role != "operator" || u.LastLoginAt == nil {
		t.Errorf("SSO user: %+v, %v; want an operator marked sso with a last login", u, err)
	}
	if resp := get("/account/password", cookie); resp.StatusCode != 409 {
		t.Errorf("an SSO user's password page: %d, want 409", resp.StatusCode)
	}
	if _, _, err := env.Store.ChangeUser(ctx, "sam@example.com", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if resp := get("/", cookie); resp.StatusCode != 303 {
		t.Errorf("page after sam was disabled: %d, want 303", resp.StatusCode)
	}
	if resp := get("/auth/oidc/test-login?user=sam@example.com&role=operator"); resp.StatusCode != 403 {
		t.Errorf("SSO login of a disabled user: %d, want 403", resp.StatusCode)
	}

	hash, err := HashPassword("ada password")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.UpsertUser(ctx, store.User{Username: "ada", PasswordHash: hash, Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if resp := get("/auth/oidc/test-login?user=ada&role=viewer"); resp.StatusCode != 409 {
		t.Errorf("SSO login as a local user: %d, want 409", resp.StatusCode)
	}
	if resp := get("/auth/oidc/test-login?user=x&role=root"); resp.StatusCode != 500 {
		t.Errorf("SSO login with an unknown role: %d, want 500", resp.StatusCode)
	}
}
