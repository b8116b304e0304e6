package webui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/oauth2"

	"github.com/schetask/schetask/config"
)

// Single sign-on is OpenID Connect's authorization code flow with PKCE:
//
//  1. GET /auth/oidc/login?next=… makes a random state, nonce and PKCE
//     verifier, keeps them (and next) in a short-lived HttpOnly cookie
//     scoped to /auth/oidc/, and sends the browser to the provider with
//     the state, the nonce and the verifier's S256 challenge.
//  2. The provider sends the browser back to GET /auth/oidc/callback with
//     a code and the state. The state must equal the cookie's: a callback
//     this browser did not start (an attacker's code planted through a
//     link) is refused. The code is exchanged, with the client secret and
//     the verifier, for an ID token, which must verify against the
//     provider's keys (JWKS), name this issuer and this client, be
//     unexpired and carry the cookie's nonce.
//  3. The token's user name and groups give a console user and role, and
//     s.logIn starts the session as a password login would.
//
// The cookie is SameSite=Lax, not Strict: the provider's redirect back is
// a top-level navigation from another site, which Strict would strip it
// from. The provider is discovered at the first sign-in, not at start, so
// the console starts (and password logins work) while it is down; a
// failed discovery is tried again at the next sign-in.

const (
	// ssoCookie holds one sign-in's state, nonce, verifier and next.
	ssoCookie = "schetask_oidc"
	// ssoCookieAge is how long a sign-in may take at the provider.
	ssoCookieAge = 10 * time.Minute
	// ssoTimeout bounds each call to the provider: discovery, the code
	// exchange, fetching its keys.
	ssoTimeout = 10 * time.Second
)

// ssoGroupsRefused is what a user in none of the mapped groups reads when
// there is no default role.
const ssoGroupsRefused = "Your account is in none of the groups that may use schetask; ask an admin to add you to one."

// CheckOIDC reports what is wrong with single sign-on's settings, nil when
// it is off or right: every SCHETASK_OIDC_ROLES entry is group=role with a
// known role, SCHETASK_OIDC_DEFAULT_ROLE is empty or a known role, and the
// redirect URL is an http(s) URL ending in /auth/oidc/callback.
func CheckOIDC(cfg config.OIDCConfig) error {
	if !cfg.Enabled() {
		return nil
	}
	if _, err := parseSSORoles(cfg); err != nil {
		return err
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		!strings.HasSuffix(u.Path, oidcPrefix+"callback") {
		return fmt.Errorf("SCHETASK_OIDC_REDIRECT_URL: %q: want the console's https://<host>%scallback", cfg.RedirectURL, oidcPrefix)
	}
	return nil
}

// ssoRoles turns a user's groups into a role.
type ssoRoles struct {
	byGroup map[string]Role
	// fallback is the role of a user in none of the groups; "" refuses.
	fallback Role
}

// parseSSORoles reads SCHETASK_OIDC_ROLES and SCHETASK_OIDC_DEFAULT_ROLE.
// A group name may hold "=" itself (an LDAP DN): the role is after the
// last one.
func parseSSORoles(cfg config.OIDCConfig) (ssoRoles, error) {
	r := ssoRoles{byGroup: map[string]Role{}, fallback: Role(strings.TrimSpace(cfg.DefaultRole))}
	if r.fallback != "" && !r.fallback.Valid() {
		return r, fmt.Errorf("SCHETASK_OIDC_DEFAULT_ROLE: %q: want admin, operator, viewer or nothing", cfg.DefaultRole)
	}
	for _, pair := range cfg.Roles {
		i := strings.LastIndex(pair, "=")
		if i < 0 {
			return r, fmt.Errorf("SCHETASK_OIDC_ROLES: %q: want group=role", pair)
		}
		group, role := strings.TrimSpace(pair[:i]), Role(strings.TrimSpace(pair[i+1:]))
		if group == "" || !role.Valid() {
			return r, fmt.Errorf("SCHETASK_OIDC_ROLES: %q: want group=role with role admin, operator or viewer", pair)
		}
		if have, ok := r.byGroup[group]; !ok || role.Allows(have) {
			r.byGroup[group] = role
		}
	}
	return r, nil
}

// roleOf is the highest role of groups, else the fallback; false when
// that is none.
func (r ssoRoles) roleOf(groups []string) (Role, bool) {
	var best Role
	for _, g := range groups {
		if role, ok := r.byGroup[g]; ok && (best == "" || role.Allows(best)) {
			best = role
		}
	}
	if best == "" {
		best = r.fallback
	}
	return best, best != ""
}

// ssoLogin serves /auth/oidc/ for one console.
type ssoLogin struct {
	s     *Server
	cfg   config.OIDCConfig
	roles ssoRoles
	// client makes every call to the provider, with a deadline.
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
	// failed and failedAt are the last failed discovery: sign-ins that
	// were waiting for it share its answer instead of each trying in
	// turn.
	failed   error
	failedAt time.Time
}

// mountOIDC adds single sign-on's routes under /auth/oidc/, which
// requireLogin lets through without a session and the session CSRF check
// skips (these handlers check state, nonce and PKCE themselves). With
// wrong settings (see CheckOIDC) the routes answer with an error page and
// the reason is logged.
func (s *Server) mountOIDC() {
	if !s.opts.OIDC.Enabled() {
		return
	}
	roles, err := parseSSORoles(s.opts.OIDC)
	if err == nil {
		err = CheckOIDC(s.opts.OIDC)
	}
	if err != nil {
		s.logger.Error("single sign-on is off: its settings are wrong", slog.Any("error", err))
		off := func(c *fiber.Ctx) error {
			return s.ssoFailed(c, fiber.StatusInternalServerError, "Single sign-on is not set up right; the console log says why.", "/")
		}
		s.app.Get(oidcPrefix+"login", off)
		s.app.Get(oidcPrefix+"callback", off)
		return
	}
	l := &ssoLogin{s: s, cfg: s.opts.OIDC, roles: roles, client: &http.Client{Timeout: ssoTimeout}}
	s.app.Get(oidcPrefix+"login", l.start)
	s.app.Get(oidcPrefix+"callback", l.callback)
}

// discover returns the provider's endpoints and token verifier, asking
// the provider at the first call and again after a failed one.
func (l *ssoLogin) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	asked := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.provider != nil {
		return l.oauth, l.verifier, nil
	}
	if l.failed != nil && l.failedAt.After(asked) {
		return nil, nil, l.failed
	}
	p, scopes, err := l.ask(ctx)
	if err != nil {
		l.failed, l.failedAt = fmt.Errorf("discover the identity provider %s: %w", l.cfg.Issuer, err), time.Now()
		return nil, nil, l.failed
	}
	l.provider = p
	l.verifier = p.Verifier(&oidc.Config{ClientID: l.cfg.ClientID})
	l.oauth = &oauth2.Config{ClientID: l.cfg.ClientID, ClientSecret: l.cfg.ClientSecret.Reveal(),
		Endpoint: p.Endpoint(), RedirectURL: l.cfg.RedirectURL, Scopes: scopes}
	return l.oauth, l.verifier, nil
}

// ask reads the provider's discovery document, and chooses the scopes to
// ask for.
func (l *ssoLogin) ask(ctx context.Context) (*oidc.Provider, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, ssoTimeout)
	defer cancel()
	// The provider keeps this client for fetching its keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, l.client), l.cfg.Issuer)
	if err != nil {
		return nil, nil, err
	}
	var meta struct {
		Scopes []string `json:"scopes_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, nil, err
	}
	// Ask for profile, email and groups where the provider has them: some
	// refuse a scope they do not know, and some put the groups claim in
	// the token only when asked.
	scopes := []string{oidc.ScopeOpenID}
	for _, sc := range []string{"profile", "email", "groups"} {
		if slices.Contains(meta.Scopes, sc) || (len(meta.Scopes) == 0 && sc != "groups") {
			scopes = append(scopes, sc)
		}
	}
	return p, scopes, nil
}

// ssoPending is one sign-in between start and callback, kept in ssoCookie.
type ssoPending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
}

// randomToken is 256 random bits, for a state or a nonce.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start sends the browser to the provider.
func (l *ssoLogin) start(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"))
	oc, _, err := l.discover(c.UserContext())
	if err != nil {
		l.s.logger.Error("single sign-on: identity provider unavailable", slog.String("error", truncate(err.Error(), 500)))
		return l.s.ssoFailed(c, fiber.StatusServiceUnavailable,
			"The identity provider can't be reached just now; try again in a moment.", next)
	}
	p := ssoPending{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("single sign-on: %w", err)
	}
	l.s.setCookie(c, ssoCookie, base64.RawURLEncoding.EncodeToString(raw), oidcPrefix, "Lax", int(ssoCookieAge/time.Second))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(oc.AuthCodeURL(p.State, oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)), fiber.StatusSeeOther)
}

// pending reads this browser's sign-in from its cookie.
func pending(c *fiber.Ctx) (ssoPending, bool) {
	var p ssoPending
	raw, err := base64.RawURLEncoding.DecodeString(c.Cookies(ssoCookie))
	if err != nil || json.Unmarshal(raw, &p) != nil || p.State == "" || p.Nonce == "" || p.Verifier == "" {
		return ssoPending{}, false
	}
	return p, true
}

// callback finishes a sign-in the provider sends back.
func (l *ssoLogin) callback(c *fiber.Ctx) error {
	s := l.s
	p, ok := pending(c)
	// The cookie is good for one callback, whatever comes of it.
	s.setCookie(c, ssoCookie, "", oidcPrefix, "Lax", -1)
	stateOK := ok && subtle.ConstantTimeCompare([]byte(c.Query("state")), []byte(p.State)) == 1
	next := "/"
	if stateOK {
		next = safeNext(p.Next)
	}
	if e := c.Query("error"); e != "" {
		s.logger.Warn("single sign-on refused by the identity provider", slog.String("error", truncate(e, 100)),
			slog.String("description", truncate(c.Query("error_description"), 300)))
		msg := "The identity provider did not sign you in"
		if e == "access_denied" {
			msg = "The identity provider denied the sign-in"
		}
		// Its words are shown only for a sign-in this browser started:
		// anyone can make a link with an error and a description.
		if stateOK {
			msg += fmt.Sprintf(" (%s", truncate(e, 100))
			if d := c.Query("error_description"); d != "" {
				msg += ": " + truncate(d, 300)
			}
			msg += ")"
		}
		return s.ssoFailed(c, fiber.StatusForbidden, msg+".", next)
	}
	if !stateOK {
		s.logger.Warn("single sign-on refused", slog.String("why", "state mismatch"), slog.Bool("cookie", ok), slog.String("ip", c.IP()))
		return s.ssoFailed(c, fiber.StatusBadRequest,
			"This sign-in was not started in this browser, or it took too long; start again.", next)
	}
	code := c.Query("code")
	if code == "" {
		return s.ssoFailed(c, fiber.StatusBadRequest, "The identity provider sent no authorization code; start again.", next)
	}
	oc, verifier, err := l.discover(c.UserContext())
	if err != nil {
		s.logger.Error("single sign-on: identity provider unavailable", slog.String("error", truncate(err.Error(), 500)))
		return s.ssoFailed(c, fiber.StatusServiceUnavailable, "The identity provider can't be reached just now; try again in a moment.", next)
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(c.UserContext(), l.client), ssoTimeout)
	defer cancel()
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		s.logger.Warn("single sign-on: code exchange failed", slog.String("error", exchangeError(err)))
		return s.ssoFailed(c, fiber.StatusBadGateway, "The identity provider did not accept the sign-in; start again.", next)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		s.logger.Warn("single sign-on: the token response has no ID token")
		return s.ssoFailed(c, fiber.StatusBadGateway, "The identity provider sent no ID token.", next)
	}
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		s.logger.Warn("single sign-on refused", slog.String("why", "ID token did not verify"), slog.Any("error", err))
		return s.ssoFailed(c, fiber.StatusUnauthorized, "The identity provider's ID token did not verify; start again.", next)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		s.logger.Warn("single sign-on refused", slog.String("why", "nonce mismatch"), slog.String("subject", idt.Subject))
		return s.ssoFailed(c, fiber.StatusUnauthorized, "The identity provider's ID token is not for this sign-in; start again.", next)
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return fmt.Errorf("single sign-on: read the ID token's claims: %w", err)
	}
	name, from := ssoUserName(claims, idt.Subject)
	if !usernamePattern.MatchString(name) {
		s.logger.Warn("single sign-on refused", slog.String("why", "user name unusable"), slog.String("claim", from),
			slog.String("subject", idt.Subject))
		return s.ssoFailed(c, fiber.StatusForbidden, fmt.Sprintf("Your user name from the identity provider (%s %q) can't be a console user name: "+
			"1 to 64 letters, digits and _ . @ -, starting with a letter or digit.", from, truncate(name, 100)), next)
	}
	groups := claimStrings(claims[l.cfg.GroupsClaim])
	role, ok := l.roles.roleOf(groups)
	if !ok {
		s.logger.Warn("single sign-on refused", slog.String("user", name), slog.String("why", "in no mapped group"),
			slog.Any("groups", groups))
		return s.ssoFailed(c, fiber.StatusForbidden, ssoGroupsRefused, next)
	}
	if err := s.logIn(c, name, role); err != nil {
		var fe *fiber.Error
		if errors.As(err, &fe) && fe.Code < 500 {
			return s.ssoFailed(c, fe.Code, "Single sign-on refused: "+fe.Message+".", next)
		}
		return err
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// ssoUserName is the console user name an ID token gives, and the claim it
// came from: preferred_username, else email (unless the provider says it
// is unverified), else sub.
func ssoUserName(claims map[string]json.RawMessage, subject string) (name, claim string) {
	if v := claimString(claims["preferred_username"]); v != "" {
		return v, "preferred_username"
	}
	if v := claimString(claims["email"]); v != "" {
		if verified := claims["email_verified"]; string(verified) != "false" && string(verified) != `"false"` {
			return v, "email"
		}
	}
	return subject, "sub"
}

// claimString is a claim that is a string, else "".
func claimString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// claimStrings is a claim that is a list of strings (its other members
// ignored) or one string.
func claimStrings(raw json.RawMessage) []string {
	if s := claimString(raw); s != "" {
		return []string{s}
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// exchangeError describes a failed code exchange for the log: the
// provider's error code and description, not its whole answer.
func exchangeError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := ""
		if re.Response != nil {
			status = re.Response.Status
		}
		return fmt.Sprintf("%s %s: %s", status, re.ErrorCode, truncate(re.ErrorDescription, 300))
	}
	return err.Error()
}

// truncate cuts s to at most n bytes (and a mark that it did).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

type ssoErrorData struct {
	page
	Status  int
	Message string
	Next    string
}

// ssoFailed answers a sign-in that did not work with a page that says why
// and offers to start again.
func (s *Server) ssoFailed(c *fiber.Ctx, code int, msg, next string) error {
	c.Status(code)
	return s.render(c, "sso_error.html", ssoErrorData{page: s.page(c, "Single sign-on"), Status: code, Message: msg, Next: next})
}
