package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// TestSSOInARealBrowser drives headless Chromium through single sign-on
// against a real OpenID Connect provider (mockoidc, behind a page where
// the user agrees, as at a real provider's login page): from the login page's "Sign in with SSO" to
// the provider and back, to the tasks page under the provider's user
// name with the role its groups give, then, as that admin, to the user
// screen, which lists them as a single sign-on user; after logging out, a
// user in none of the mapped groups is turned away with a page saying so.
// The console is reached as localhost and the provider as 127.0.0.1, so
// the provider's redirect back, sent from its own page, is cross-site, as
// in production: the sign-in cookie must survive it (SameSite=Strict
// would not).
func TestSSOInARealBrowser(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "nightly", Rule: "0 3 * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp, err := mockoidc.NewServer(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.AddMiddleware(consentPage); err != nil {
		t.Fatal(err)
	}
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(idpLn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default", TasksDir: env.Config.TasksDir,
		OIDC: config.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: config.NewSecret(idp.ClientSecret),
			RedirectURL: base + "/auth/oidc/callback", GroupsClaim: "groups", Roles: []string{"ops-admins=admin", "ops=operator"}}})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); _ = srv.RunListener(srvCtx, ln) }()
	t.Cleanup(func() { stopSrv(); <-srvDone })

	bctx := headlessChrome(t, 2*time.Minute)
	run := chromeRunner(t, bctx)
	text := chromeText(t, run)

	// Sign in: a page sends us to the login page, its SSO button to the
	// provider, which sends us back signed in, to the page we asked for.
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-1001", PreferredUsername: "sam", Email: "sam@example.com",
		EmailVerified: true, Groups: []string{"staff", "ops-admins"}})
	run("open the console", chromedp.Navigate(base+"/tasks/nightly"), chromedp.WaitVisible(`#sso-login`, chromedp.ByQuery))
	run("to the provider", chromedp.Click(`#sso-login`, chromedp.ByQuery), chromedp.WaitVisible(`#idp-consent`, chromedp.ByQuery))
	run("sign in there", chromedp.Click(`#idp-consent`, chromedp.ByQuery), chromedp.WaitVisible(`#logout, #sso-error`, chromedp.ByQuery))
	var refusal string
	run("signed in?", chromedp.Evaluate(`(document.getElementById("sso-error")||{}).innerText||""`, &refusal))
	if refusal != "" {
		t.Fatalf("single sign-on refused: %s", refusal)
	}
	var url string
	run("where we landed", chromedp.Location(&url))
	if url != base+"/tasks/nightly" {
		t.Errorf("after signing in the browser is at %s, want %s/tasks/nightly", url, base)
	}
	if who := text(`header .who`); !strings.Contains(who, "sam (admin)") {
		t.Errorf("header says %q, want sam (admin)", who)
	}
	var noPassword bool
	run("no password link", chromedp.Evaluate(`document.getElementById("account-password") === null`, &noPassword))
	if !noPassword {
		t.Error("an SSO user is offered a password change")
	}
	run("tasks page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`table.tasks`, chromedp.ByQuery))
	if tasks := text(`table.tasks`); !strings.Contains(tasks, "nightly") {
		t.Errorf("tasks page lists %q, want nightly", tasks)
	}

	// The user screen lists sam as a single sign-on user.
	run("user screen", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(`#user-sam`, chromedp.ByQuery))
	if row := text(`#user-sam`); !strings.Contains(row, "single sign-on") || !strings.Contains(row, "enabled") ||
		strings.Contains(row, "Reset password") {
		t.Errorf("sam's row on the user screen: %q, want single sign-on, enabled, no password reset", row)
	}
	var role string
	run("sam's role", chromedp.Value(`#user-sam select[name=role]`, &role, chromedp.ByQuery))
	if role != "admin" {
		t.Errorf("sam's role on the user screen: %q, want admin", role)
	}

	// Out, and a user in none of the groups is turned away.
	run("log out", chromedp.Click(`#logout`, chromedp.ByQuery), chromedp.WaitVisible(`#sso-login`, chromedp.ByQuery))
	idp.QueueUser(&mockoidc.MockUser{Subject: "u-1002", PreferredUsername: "nora", Groups: []string{"staff"}})
	run("sign in without a group", chromedp.Click(`#sso-login`, chromedp.ByQuery), chromedp.WaitVisible(`#idp-consent`, chromedp.ByQuery),
		chromedp.Click(`#idp-consent`, chromedp.ByQuery), chromedp.WaitVisible(`#sso-error`, chromedp.ByQuery))
	if msg := text(`#sso-error`); !strings.Contains(msg, "none of the groups that may use schetask") {
		t.Errorf("a user in no group reads %q", msg)
	}
	run("still out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#sso-login`, chromedp.ByQuery))
}

// consentPage puts a page in front of the provider's authorization
// endpoint, with a button that goes on to it, so that the redirect back to
// the console comes from a page of the provider's site, as after a real
// provider's login form.
func consentPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.AuthorizationEndpoint || r.URL.Query().Get("consent") == "yes" {
			next.ServeHTTP(w, r)
			return
		}
		var fields strings.Builder
		for k, vs := range r.URL.Query() {
			for _, v := range vs {
				fmt.Fprintf(&fields, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(v))
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Provider</title><form method="get" action="%s">%s
<input type="hidden" name="consent" value="yes"><button id="idp-consent">Sign in to schetask</button></form>`,
			mockoidc.AuthorizationEndpoint, fields.String())
	})
}
