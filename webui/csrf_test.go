package webui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/webui"
)

// TestPageViewsDoNotWriteTheSession: reading pages costs no session write
// (fiber's CSRF middleware used to save the session on every request, a
// database write per page view); forms keep working with the same token.
func TestPageViewsDoNotWriteTheSession(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	ada := loggedIn(t, env, "ada", webui.RoleAdmin)
	if code, _, _ := ada.do("GET", "/runs", nil); code != 200 {
		t.Fatalf("GET /runs: %d", code)
	}
	version := func() string {
		var xmin string
		if err := env.Store.Pool().QueryRow(ctx, `SELECT xmin::text FROM t_web_session WHERE username = 'ada'`).Scan(&xmin); err != nil {
			t.Fatal(err)
		}
		return xmin
	}
	before := version()
	for _, path := range []string{"/runs", "/", "/runs?status=failed", "/users", "/runs"} {
		if code, _, _ := ada.do("GET", path, nil); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	if after := version(); after != before {
		t.Errorf("page views rewrote the session row (xmin %s → %s)", before, after)
	}
	// The token the pages carry still makes a form go through.
	_, page, _ := ada.do("GET", "/users", nil)
	if !strings.Contains(page, `name="_csrf"`) {
		t.Fatal("the page carries no CSRF token")
	}
	if code, body := ada.post("/users", url.Values{"username": {"bob"}, "role": {"viewer"}, "password": {"a long new secret 1"}}); code >= 400 {
		t.Errorf("a form after the page views: %d %s", code, body)
	}
}
