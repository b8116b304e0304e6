package webui_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/webui"
)

// idp is a real OpenID Connect provider for one test: mockoidc on a port,
// with a key of its own, recording what the console asked it.
type idp struct {
	*mockoidc.MockOIDC
	// forge makes the token endpoint re-sign ID tokens with another key
	// under the provider's key id: a token the provider never signed.
	forge atomic.Bool

	mu        sync.Mutex
	authorize url.Values // the last authorization request's query
	token     url.Values // the last token request's form
}

func startIdP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mockoidc.NewServer(key)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := m.Keypair.KeyID() // set once, before any handler reads it
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forger := &mockoidc.Keypair{PrivateKey: other, PublicKey: &other.PublicKey, Kid: kid}
	p := &idp{MockOIDC: m}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				p.mu.Lock()
				p.authorize = r.URL.Query()
				p.mu.Unlock()
			case mockoidc.TokenEndpoint:
				_ = r.ParseForm()
				p.mu.Lock()
				p.token = r.PostForm
				p.mu.Unlock()
				if p.forge.Load() {
					reSign(t, w, r, next, forger)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// reSign answers a token request with the provider's answer, its ID token
// signed again with forger.
func reSign(t *testing.T, w http.ResponseWriter, r *http.Request, next http.Handler, forger *mockoidc.Keypair) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Errorf("token answer: %v", err)
		return
	}
	if raw, ok := body["id_token"].(string); ok {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			t.Errorf("ID token: %v", err)
			return
		}
		forged, err := forger.SignJWT(claims)
		if err != nil {
			t.Errorf("forge: %v", err)
			return
		}
		body["id_token"] = forged
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// asked returns the last authorization request and token request.
func (p *idp) asked() (authorize, token url.Values) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorize, p.token
}

// idpUser is a user the provider signs in: its subject and the ID token's
// other claims, and tamper to spoil the standard ones (nonce, audience,
// issuer, expiry).
type idpUser struct {
	sub    string
	claims map[string]any
	tamper func(*mockoidc.IDTokenClaims)
}

func (u idpUser) ID() string { return u.sub }

func (u idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub})
}

func (u idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.tamper != nil {
		u.tamper(base)
	}
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	for k, v := range u.claims {
		out[k] = v
	}
	return out, nil
}

// named is a provider user with a preferred_username and groups.
func named(name string, groups any) idpUser {
	return idpUser{sub: "sub-" + name, claims: map[string]any{"preferred_username": name, "groups": groups}}
}

// logBuffer collects a console's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ssoBundle is one test's provider and a console that signs in with it:
// groups ops-admins → admin, ops → operator, else viewer, unless set
// changes that.
type ssoBundle struct {
	env  *testenv.Env
	idp  *idp
	base string
	log  *logBuffer
}

func setupSSO(t *testing.T, set func(*webui.Options)) *ssoBundle {
	t.Helper()
	s, err := trySSO(t, set)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trySSO is setupSSO that returns webui.New's error.
func trySSO(t *testing.T, set func(*webui.Options)) (*ssoBundle, error) {
	t.Helper()
	env := testenv.New(t)
	p := startIdP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	opts := webui.Options{Namespace: "default", TasksDir: env.Config.TasksDir, OIDC: config.OIDCConfig{
		Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: config.NewSecret(p.ClientSecret),
		RedirectURL: base + "/auth/oidc/callback", GroupsClaim: "groups",
		Roles: []string{"ops-admins=admin", "ops=operator"}, DefaultRole: "viewer"}}
	if set != nil {
		set(&opts)
	}
	log := &logBuffer{}
	srv, err := webui.New(env.Store, slog.New(slog.NewTextHandler(log, nil)), opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = srv.App().Shutdown() })
	return &ssoBundle{env: env, idp: p, base: base, log: log}, nil
}

// startSSO asks the console to start a sign-in and returns where it sends
// the browser.
func (b *browser) startSSO(next string) string {
	b.t.Helper()
	code, body, h := b.do("GET", "/auth/oidc/login?next="+url.QueryEscape(next), nil)
	if code != 303 {
		b.t.Fatalf("start single sign-on: %d\n%s", code, body)
	}
	return h.Get("Location")
}

// atProvider follows the console's redirect to the provider, which signs
// the next queued user in at once, and returns the console path it sends
// the browser back to.
func (b *browser) atProvider(authURL string) string {
	b.t.Helper()
	resp, err := b.c.Get(authURL)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || "http://"+back.Host != b.base || back.Path != "/auth/oidc/callback" {
		b.t.Fatalf("the provider answered %d to %q, want a redirect to the console's callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// sso signs user in through the whole flow and returns the callback's answer.
func (s *ssoBundle) sso(b *browser, user idpUser, next string) (int, string, http.Header) {
	b.t.Helper()
	s.idp.QueueUser(user)
	return b.do("GET", b.atProvider(b.startSSO(next)), nil)
}

// refused checks that a sign-in answered code with a page saying want, and
// left no session behind.
func refused(t *testing.T, b *browser, code int, body string, wantCode int, want string) {
	t.Helper()
	if code != wantCode || !strings.Contains(html.UnescapeString(body), want) {
		t.Errorf("answer %d, want %d with %q:\n%s", code, wantCode, want, body)
	}
	if code, _, _ := b.do("GET", "/", nil); code != 303 {
		t.Errorf("after a refused sign-in the console answers %d, want the login page", code)
	}
}

// TestSSOLoginMapsGroupsToRoles: a provider's user signs in, lands on the
// page they asked for, is recorded as an SSO user with the highest role of
// their groups (a list or one string, under the configured claim), the
// default role when in none, or is refused when there is no default; the
// user name comes from preferred_username, email or sub and must fit the
// console's; the flow sends PKCE's S256 challenge and a nonce, and the
// log holds no secret.
func TestSSOLoginMapsGroupsToRoles(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, nil)
	ctx := context.Background()
	addUser(t, s.env, "ada", "ada password", webui.RoleAdmin)

	for _, tt := range []struct {
		desc     string
		user     idpUser
		wantUser string
		wantRole webui.Role
	}{
		{"admin group among others", named("ann", []string{"staff", "ops", "ops-admins"}), "ann", webui.RoleAdmin},
		{"groups as one string", named("otto", "ops"), "otto", webui.RoleOperator},
		{"in no mapped group: the default role", named("vic", []string{"staff"}), "vic", webui.RoleViewer},
		{"no groups claim: the default role", idpUser{sub: "s1", claims: map[string]any{"preferred_username": "val"}}, "val", webui.RoleViewer},
		{"email when no preferred_username", idpUser{sub: "s2", claims: map[string]any{"email": "eve@example.com", "email_verified": true, "groups": []string{"ops"}}},
			"eve@example.com", webui.RoleOperator},
		{"sub when the email is unverified", idpUser{sub: "s3-sub", claims: map[string]any{"email": "mallory@example.com", "email_verified": false}},
			"s3-sub", webui.RoleViewer},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			b := newBrowser(t, s.base)
			code, body, h := s.sso(b, tt.user, "/runs?task=gold")
			if code != 303 || h.Get("Location") != "/runs?task=gold" {
				t.Fatalf("callback: %d to %q, want 303 to /runs?task=gold\n%s", code, h.Get("Location"), body)
			}
			code, body, _ = b.do("GET", "/", nil)
			if who := tt.wantUser + " (" + string(tt.wantRole) + ")"; code != 200 || !strings.Contains(body, who) {
				t.Errorf("tasks page: %d, want it to show %q:\n%s", code, who, body)
			}
			u, err := s.env.Store.GetUser(ctx, tt.wantUser)
			if err != nil || !u.SSO || u.Role != string(tt.wantRole) || u.PasswordHash != "" || u.LastLoginAt == nil {
				t.Errorf("t_web_user: %+v, %v; want an SSO %s without a password, with a last login", u, err, tt.wantRole)
			}
		})
	}

	t.Run("PKCE S256 and a nonce", func(t *testing.T) {
		b := newBrowser(t, s.base)
		if code, _, _ := s.sso(b, named("pia", "ops"), "/"); code != 303 {
			t.Fatalf("sign-in: %d", code)
		}
		auth, tok := s.idp.asked()
		sum := sha256.Sum256([]byte(tok.Get("code_verifier")))
		if auth.Get("code_challenge_method") != "S256" || tok.Get("code_verifier") == "" ||
			auth.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Errorf("PKCE: challenge %q (%s), verifier %q; want S256 of the verifier",
				auth.Get("code_challenge"), auth.Get("code_challenge_method"), tok.Get("code_verifier"))
		}
		if len(auth.Get("nonce")) < 32 || len(auth.Get("state")) < 32 || auth.Get("nonce") == auth.Get("state") {
			t.Errorf("nonce %q, state %q: want two different random values", auth.Get("nonce"), auth.Get("state"))
		}
		if !strings.Contains(auth.Get("scope"), "openid") || !strings.Contains(auth.Get("scope"), "groups") {
			t.Errorf("scope %q: want openid and groups (the provider offers groups)", auth.Get("scope"))
		}
	})

	t.Run("the role follows the provider's groups at each sign-in", func(t *testing.T) {
		b := newBrowser(t, s.base)
		if code, _, _ := s.sso(b, named("rob", "ops"), "/"); code != 303 {
			t.Fatalf("first sign-in: %d", code)
		}
		if code, _, _ := s.sso(newBrowser(t, s.base), named("rob", []string{"staff"}), "/"); code != 303 {
			t.Fatalf("second sign-in: %d", code)
		}
		if u, err := s.env.Store.GetUser(ctx, "rob"); err != nil || u.Role != string(webui.RoleViewer) {
			t.Errorf("rob after leaving ops: %+v, %v; want a viewer", u, err)
		}
		if code, _, _ := b.do("GET", "/", nil); code != 303 {
			t.Errorf("rob's operator session goes on after the role changed: %d", code)
		}
	})

	t.Run("a name the console can't use", func(t *testing.T) {
		b := newBrowser(t, s.base)
		code, body, _ := s.sso(b, named("Jane Doe", "ops"), "/")
		refused(t, b, code, body, 403, `(preferred_username "Jane Doe") can't be a console user name`)
	})

	t.Run("a local user's name", func(t *testing.T) {
		b := newBrowser(t, s.base)
		code, body, _ := s.sso(b, named("ada", "ops-admins"), "/")
		refused(t, b, code, body, 409, `belongs to a local console user`)
		if u, err := s.env.Store.GetUser(ctx, "ada"); err != nil || u.SSO || u.PasswordHash == "" {
			t.Errorf("ada after the SSO attempt: %+v, %v; want her local account untouched", u, err)
		}
	})

	t.Run("an unsafe next", func(t *testing.T) {
		b := newBrowser(t, s.base)
		if code, _, h := s.sso(b, named("nia", "ops"), "//evil.example/x"); code != 303 || h.Get("Location") != "/" {
			t.Errorf("callback: %d to %q, want 303 to /", code, h.Get("Location"))
		}
	})

	t.Run("an admin sees SSO users as such", func(t *testing.T) {
		b := newBrowser(t, s.base)
		if code, _, _ := s.sso(b, named("ann", "ops-admins"), "/"); code != 303 {
			t.Fatalf("sign-in: %d", code)
		}
		code, body, _ := b.do("GET", "/users", nil)
		if code != 200 || !strings.Contains(body, `<tr id="user-otto"><td>otto <small>(single sign-on)</small>`) ||
			strings.Contains(body, `<tr id="user-ada"><td>ada <small>`) {
			t.Errorf("/users: %d, want otto marked single sign-on and ada not:\n%s", code, body)
		}
	})

	for _, secret := range []string{s.idp.ClientSecret, func() string { _, tok := s.idp.asked(); return tok.Get("code_verifier") }()} {
		if strings.Contains(s.log.String(), secret) {
			t.Errorf("the console log holds a secret %q:\n%s", secret, s.log.String())
		}
	}
}

// TestSSORefusesUsersInNoGroupWithoutADefaultRole: with no default role, a
// user in none of the mapped groups is refused and not recorded.
func TestSSORefusesUsersInNoGroupWithoutADefaultRole(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, func(o *webui.Options) { o.OIDC.DefaultRole = ""; o.OIDC.GroupsClaim = "roles" })
	b := newBrowser(t, s.base)
	// "groups" is not the configured claim: it counts for nothing.
	code, body, _ := s.sso(b, idpUser{sub: "x", claims: map[string]any{"preferred_username": "gus", "groups": []string{"ops-admins"}}}, "/")
	refused(t, b, code, body, 403, "none of the groups that may use schetask")
	if _, err := s.env.Store.GetUser(context.Background(), "gus"); !errors.Is(err, store.ErrUserNotFound) {
		t.Errorf("gus was recorded: %v", err)
	}
	code, _, _ = s.sso(b, idpUser{sub: "y", claims: map[string]any{"preferred_username": "gil", "roles": []string{"ops-admins"}}}, "/")
	if code != 303 {
		t.Errorf("a user in the configured claim's admin group: %d, want 303", code)
	}
}

// TestSSORefusesForgedCallbacks: the callback needs the state of a sign-in
// this browser started, once; a provider's refusal is a page saying so.
func TestSSORefusesForgedCallbacks(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, nil)

	t.Run("state mismatch", func(t *testing.T) {
		b := newBrowser(t, s.base)
		s.idp.QueueUser(named("sid", "ops"))
		back := b.atProvider(b.startSSO("/"))
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", strings.Repeat("A", 43))
		code, body, _ := b.do("GET", u.Path+"?"+q.Encode(), nil)
		refused(t, b, code, body, 400, "not started in this browser")
	})

	t.Run("a callback from another browser (login CSRF)", func(t *testing.T) {
		attacker, victim := newBrowser(t, s.base), newBrowser(t, s.base)
		s.idp.QueueUser(named("attacker", "ops-admins"))
		back := attacker.atProvider(attacker.startSSO("/"))
		code, body, _ := victim.do("GET", back, nil)
		refused(t, victim, code, body, 400, "not started in this browser")
	})

	t.Run("a callback used twice", func(t *testing.T) {
		b := newBrowser(t, s.base)
		s.idp.QueueUser(named("ria", "ops"))
		back := b.atProvider(b.startSSO("/"))
		if code, _, _ := b.do("GET", back, nil); code != 303 {
			t.Fatalf("first callback: %d", code)
		}
		if code, body, _ := b.do("GET", back, nil); code != 400 || !strings.Contains(body, "not started in this browser") {
			t.Errorf("the same callback again: %d, want 400 (the sign-in's cookie is spent):\n%s", code, body)
		}
	})

	t.Run("the provider denies access", func(t *testing.T) {
		b := newBrowser(t, s.base)
		auth, _ := url.Parse(b.startSSO("/tasks/gold"))
		state := auth.Query().Get("state")
		code, body, _ := b.do("GET", "/auth/oidc/callback?error=access_denied&error_description=User+said+no&state="+state, nil)
		refused(t, b, code, body, 403, "The identity provider denied the sign-in (access_denied: User said no).")
		if !strings.Contains(body, `href="/auth/oidc/login?next=%2ftasks%2fgold"`) {
			t.Errorf("the page offers no way to start again towards /tasks/gold:\n%s", body)
		}
		// A made-up link with an error shows no text of its maker.
		code, body, _ = newBrowser(t, s.base).do("GET", "/auth/oidc/callback?error=access_denied&error_description=Call+555-0100", nil)
		if code != 403 || strings.Contains(body, "555-0100") {
			t.Errorf("an error link without this browser's state: %d, want 403 without its description:\n%s", code, body)
		}
	})
}

// TestSSORefusesBadIDTokens: an ID token must carry this sign-in's nonce,
// name this provider and this client, be unexpired and be signed with the
// provider's key.
func TestSSORefusesBadIDTokens(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, nil)
	for _, tt := range []struct {
		desc   string
		tamper func(*mockoidc.IDTokenClaims)
		forge  bool
		want   string
	}{
		{desc: "nonce of another sign-in", tamper: func(c *mockoidc.IDTokenClaims) { c.Nonce = "nonce-of-another-sign-in" },
			want: "not for this sign-in"},
		{desc: "no nonce", tamper: func(c *mockoidc.IDTokenClaims) { c.Nonce = "" }, want: "not for this sign-in"},
		{desc: "another client", tamper: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} },
			want: "did not verify"},
		{desc: "another issuer", tamper: func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example" }, want: "did not verify"},
		{desc: "expired", tamper: func(c *mockoidc.IDTokenClaims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		}, want: "did not verify"},
		{desc: "signed with another key", forge: true, want: "did not verify"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			s.idp.forge.Store(tt.forge)
			defer s.idp.forge.Store(false)
			b := newBrowser(t, s.base)
			name := "u" + strings.ReplaceAll(tt.desc, " ", "-")
			u := named(name, "ops-admins")
			u.tamper = tt.tamper
			code, body, _ := s.sso(b, u, "/")
			refused(t, b, code, body, 401, tt.want)
			if _, err := s.env.Store.GetUser(context.Background(), name); !errors.Is(err, store.ErrUserNotFound) {
				t.Errorf("%s was recorded: %v", name, err)
			}
		})
	}
}

// TestSSOOnlyModeHidesPasswordLogin: with SSO the login page offers it;
// in SSO-only mode the password form is gone and a password post refused.
func TestSSOOnlyModeHidesPasswordLogin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc          string
		set           func(*webui.Options)
		wantSSO       bool
		wantPassword  bool
		wantLoginCode int
	}{
		{"no SSO", func(o *webui.Options) { o.OIDC = config.OIDCConfig{} }, false, true, 303},
		{"SSO and passwords", nil, true, true, 303},
		{"SSO only", func(o *webui.Options) { o.OIDC.Only = true }, true, false, 403},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := setupSSO(t, tt.set)
			addUser(t, s.env, "ada", "ada password", webui.RoleAdmin)
			b := newBrowser(t, s.base)
			code, body, _ := b.do("GET", "/login?next=/runs", nil)
			if code != 200 || strings.Contains(body, `href="/auth/oidc/login?next=%2fruns"`) != tt.wantSSO ||
				strings.Contains(body, `type="password"`) != tt.wantPassword {
				t.Errorf("login page: %d, want SSO button %v and password form %v:\n%s", code, tt.wantSSO, tt.wantPassword, body)
			}
			// The form's token comes from the cookie even when the form is hidden.
			token := strings.Repeat("t", 43)
			b.c.Jar.SetCookies(mustURL(t, s.base+"/login"), []*http.Cookie{{Name: "schetask_login_csrf", Value: token, Path: "/login"}})
			if code, _, _ := b.do("POST", "/login", url.Values{"_csrf": {token}, "username": {"ada"}, "password": {"ada password"}, "next": {"/"}}); code != tt.wantLoginCode {
				t.Errorf("password login: %d, want %d", code, tt.wantLoginCode)
			}
		})
	}
}

// TestSSOProviderDownAtStart: the console starts, and password logins
// work, while the provider is down; a sign-in then says so, and the next
// one, with the provider back, goes through.
func TestSSOProviderDownAtStart(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, nil)
	s.idp.QueueError(&mockoidc.ServerError{Code: 503, Error: "temporarily_unavailable", Description: "down for maintenance"})
	b := newBrowser(t, s.base)
	if code, _, _ := b.do("GET", "/login", nil); code != 200 {
		t.Errorf("login page with the provider down: %d", code)
	}
	code, body, _ := b.do("GET", "/auth/oidc/login?next=/", nil)
	refused(t, b, code, body, 503, "The identity provider can't be reached just now")
	if code, _, _ := s.sso(b, named("pat", "ops"), "/"); code != 303 {
		t.Errorf("sign-in with the provider back: %d, want 303", code)
	}
}

// TestSSOCookie: the sign-in cookie is HttpOnly, SameSite=Lax (Strict
// would lose it on the provider's redirect back), short-lived, sent only
// to /auth/oidc/, and Secure when the console's cookies are.
func TestSSOCookie(t *testing.T) {
	t.Parallel()
	s := setupSSO(t, func(o *webui.Options) { o.SecureCookies = true })
	_, _, h := newBrowser(t, s.base).do("GET", "/auth/oidc/login", nil)
	var got *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "schetask_oidc" {
			got = c
		}
	}
	if got == nil || !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || !got.Secure || got.Path != "/auth/oidc/" ||
		got.MaxAge <= 0 || got.MaxAge > 900 {
		t.Errorf("sign-in cookie: %+v; want HttpOnly, SameSite=Lax, Secure, Path /auth/oidc/, a few minutes", got)
	}
}

// TestCheckOIDC: wrong settings are named; a console with them says so at
// /auth/oidc/ instead of signing anyone in.
func TestCheckOIDC(t *testing.T) {
	t.Parallel()
	good := config.OIDCConfig{Issuer: "https://idp.example", ClientID: "schetask", RedirectURL: "https://console.example/auth/oidc/callback",
		GroupsClaim: "groups", Roles: []string{"cn=ops,ou=groups=operator", " admins = admin "}, DefaultRole: "viewer"}
	for _, tt := range []struct {
		desc string
		set  func(*config.OIDCConfig)
		want string
	}{
		{"right", func(*config.OIDCConfig) {}, ""},
		{"off", func(c *config.OIDCConfig) { *c = config.OIDCConfig{} }, ""},
		{"under a path", func(c *config.OIDCConfig) { c.RedirectURL = "https://example.com/schetask/auth/oidc/callback" }, ""},
		{"a pair without =", func(c *config.OIDCConfig) { c.Roles = []string{"admins"} }, "SCHETASK_OIDC_ROLES"},
		{"an unknown role", func(c *config.OIDCConfig) { c.Roles = []string{"admins=root"} }, "SCHETASK_OIDC_ROLES"},
		{"no group", func(c *config.OIDCConfig) { c.Roles = []string{"=admin"} }, "SCHETASK_OIDC_ROLES"},
		{"an unknown default role", func(c *config.OIDCConfig) { c.DefaultRole = "guest" }, "SCHETASK_OIDC_DEFAULT_ROLE"},
		{"a redirect elsewhere", func(c *config.OIDCConfig) { c.RedirectURL = "https://console.example/callback" }, "SCHETASK_OIDC_REDIRECT_URL"},
		{"a redirect without a host", func(c *config.OIDCConfig) { c.RedirectURL = "/auth/oidc/callback" }, "SCHETASK_OIDC_REDIRECT_URL"},
	} {
		cfg := good
		tt.set(&cfg)
		err := webui.CheckOIDC(cfg)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want an error naming %q", tt.desc, err, tt.want)
		}
	}

	// A console with wrong settings either does not start, naming them,
	// or starts and refuses to sign anyone in.
	s, err := trySSO(t, func(o *webui.Options) { o.OIDC.Roles = []string{"admins=root"} })
	if err != nil {
		if !strings.Contains(err.Error(), "SCHETASK_OIDC_ROLES") {
			t.Errorf("the console refused to start with %v, want the setting named", err)
		}
		return
	}
	b := newBrowser(t, s.base)
	code, body, _ := b.do("GET", "/auth/oidc/login", nil)
	refused(t, b, code, body, 500, "Single sign-on is not set up right")
	if !strings.Contains(s.log.String(), "SCHETASK_OIDC_ROLES") {
		t.Errorf("the log does not say what is wrong:\n%s", s.log.String())
	}
}
