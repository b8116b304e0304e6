package webui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/gofiber/fiber/v2/middleware/session"
	"golang.org/x/crypto/bcrypt"

	"github.com/schetask/schetask/store"
)

// Role is what a console user may do.
type Role string

// The roles, from most to least allowed.
const (
	// RoleAdmin may do everything: edit tasks and users.
	RoleAdmin Role = "admin"
	// RoleOperator may run, kill, pause and resume tasks.
	RoleOperator Role = "operator"
	// RoleViewer may read.
	RoleViewer Role = "viewer"
)

var roleRank = map[Role]int{RoleViewer: 1, RoleOperator: 2, RoleAdmin: 3}

// roles lists the roles from most to least allowed, for forms.
var roles = []Role{RoleAdmin, RoleOperator, RoleViewer}

// Allows reports whether r may do what needs need.
func (r Role) Allows(need Role) bool { return roleRank[r] >= roleRank[need] && roleRank[need] > 0 }

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// knownPasswords are example, default and top-of-the-list passwords: the
// first ones an attacker tries. They are compared in lower case.
var knownPasswords = map[string]bool{
	"password": true, "password1": true, "password12": true, "password123": true, "passw0rd": true,
	"changeme": true, "change-me": true, "change-me-too": true, "changeit": true, "letmein1": true,
	"admin123": true, "admin1234": true, "administrator": true, "adminadmin": true, "root1234": true,
	"schetask": true, "schetask1": true, "schetask123": true, "secret123": true, "welcome1": true,
	"12345678": true, "123456789": true, "1234567890": true, "87654321": true, "11111111": true,
	"00000000": true, "qwertyui": true, "qwerty123": true, "qwertyuiop": true, "iloveyou": true,
	"trustno1": true, "abcd1234": true, "abc12345": true, "sunshine": true, "football": true,
	"correct horse battery staple": true, "correcthorsebatterystaple": true,

	// deploy/.env.example's placeholder.
	"change-me-first-admin-password": true,
}

// CheckPassword says why password may not be username's password: too
// short, too long for bcrypt, a well-known example, or the user name.
func CheckPassword(username, password string) error {
	if len(password) < 8 {
		return errors.New("password: at least 8 characters")
	}
	if len(password) > 72 {
		return errors.New("password: at most 72 bytes (bcrypt's limit)")
	}
	if knownPasswords[strings.ToLower(strings.TrimSpace(password))] {
		return errors.New("password: a well-known example password, the first an attacker tries; choose another")
	}
	if username != "" && strings.EqualFold(strings.TrimSpace(password), username) {
		return errors.New("password: the same as the user name; choose another")
	}
	return nil
}

// HashPassword hashes a password with bcrypt, refusing one CheckPassword
// refuses.
func HashPassword(password string) (string, error) {
	if err := CheckPassword("", password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// hashUserPassword is HashPassword that also refuses the user's name.
func hashUserPassword(username, password string) (string, error) {
	if err := CheckPassword(username, password); err != nil {
		return "", err
	}
	return HashPassword(password)
}

// dummyHash is compared against when the user does not exist (or has no
// password), so that a login takes as long for a name that exists as for
// one that does not.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), bcrypt.DefaultCost)
	if err != nil {
		panic(fmt.Sprintf("dummy password hash: %v", err))
	}
	return h
})

// generatePassword makes a password to show once (first admin, reset).
func generatePassword() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// EnsureAdmin creates the first admin, "admin", when there is no user at
// all: with password when given, else with a generated one written once to
// out. It reports whether it created the user.
func EnsureAdmin(ctx context.Context, st *store.Store, password string, out io.Writer) (bool, error) {
	generated := password == ""
	if generated {
		var err error
		if password, err = generatePassword(); err != nil {
			return false, fmt.Errorf("first admin: %w", err)
		}
	}
	hash, err := hashUserPassword("admin", password)
	if err != nil {
		return false, fmt.Errorf("first admin: SCHETASK_ADMIN_PASSWORD: %w", err)
	}
	created, err := st.CreateUserIfNone(ctx, store.User{Username: "admin", PasswordHash: hash, Role: string(RoleAdmin)})
	if err != nil || !created || !generated {
		return created, err
	}
	fmt.Fprintf(out, "\n  schetask console: first admin created\n    user:     admin\n    password: %s\n"+
		"  It is shown only this once. Set SCHETASK_ADMIN_PASSWORD(_FILE) to choose it instead.\n\n", password)
	return true, nil
}

// A session holds who logged in, when, and what their account was at that
// moment; requireLogin compares that with the account as it is now on
// every request, so a change made by another console process, or straight
// in SQL, ends the session too.
const (
	sessUser    = "user"
	sessRole    = "role"
	sessEpoch   = "epoch"    // t_web_user.session_epoch at login
	sessPass    = "pass"     // passwordMark of the password hash at login
	sessLoginAt = "login_at" // unix milliseconds
	sessSSO     = "sso"      // logged in through single sign-on
)

// passwordMark is a short digest of a password hash: enough to see that
// the password changed, worthless to anyone who reads the session.
func passwordMark(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:8])
}

// currentUser is the logged-in user of a request.
type currentUser struct {
	Name string
	Role Role
	// SSO users signed in through single sign-on and have no password.
	SSO bool
	// MustChangePassword keeps the user on /account/password.
	MustChangePassword bool
}

// oidcPrefix is where single sign-on lives (oidc.go): no session is needed
// there, and those handlers protect themselves (state, nonce, PKCE).
const oidcPrefix = "/auth/oidc/"

// passwordPage is the one page (with logout) open to a user who must
// change their password.
const passwordPage = "/account/password"

// withoutSession reports whether a path is served without a session.
func withoutSession(path string) bool {
	switch path {
	case "/login", "/healthz", "/static/app.css", "/static/app.js":
		return true
	}
	return strings.HasPrefix(path, oidcPrefix) && !strings.Contains(path, "..")
}

// requireLogin lets requests with a valid session through; others get the
// login page (GET) or 401. A session is valid while its user exists, is
// enabled, has the role, password and session epoch they had at login,
// and the login is younger than SessionMaxAge; otherwise it is destroyed.
func (s *Server) requireLogin(c *fiber.Ctx) error {
	if withoutSession(c.Path()) {
		return c.Next()
	}
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	c.Locals(sessionLocal, sess)
	name, _ := sess.Get(sessUser).(string)
	if name == "" {
		if c.Cookies(sessionCookie) != "" {
			// The browser has a session the server no longer has: a
			// change to the user deleted it, or it expired.
			return toLogin(c, "ended")
		}
		return toLogin(c, "")
	}
	u, why, err := s.checkSession(c.UserContext(), sess)
	if err != nil {
		return err
	}
	if why != "" {
		s.logger.Info("console session ended", slog.String("user", name), slog.String("why", why))
		if err := sess.Destroy(); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		return toLogin(c, "ended")
	}
	c.Locals("user", currentUser{Name: u.Username, Role: Role(u.Role), SSO: u.SSO, MustChangePassword: u.MustChangePassword})
	if u.MustChangePassword && c.Path() != passwordPage && c.Path() != "/logout" {
		if c.Method() == fiber.MethodGet {
			return c.Redirect(passwordPage, fiber.StatusSeeOther)
		}
		return fiber.NewError(fiber.StatusForbidden, "choose a new password first, at "+passwordPage)
	}
	return c.Next()
}

// checkSession loads the session's user and says why the session may no
// longer be used ("" when it may).
func (s *Server) checkSession(ctx context.Context, sess *session.Session) (store.User, string, error) {
	name, _ := sess.Get(sessUser).(string)
	u, err := s.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrUserNotFound) {
		return u, "the user no longer exists", nil
	}
	if err != nil {
		return u, "", err
	}
	role, _ := sess.Get(sessRole).(string)
	epoch, _ := sess.Get(sessEpoch).(int64)
	pass, _ := sess.Get(sessPass).(string)
	loginAt, _ := sess.Get(sessLoginAt).(int64)
	sso, _ := sess.Get(sessSSO).(bool)
	switch {
	case u.Disabled:
		return u, "the user is disabled", nil
	case u.Role != role:
		return u, "the user's role changed", nil
	case u.SessionEpoch != epoch || passwordMark(u.PasswordHash) != pass || u.SSO != sso:
		return u, "the user's password or account changed", nil
	case time.Since(time.UnixMilli(loginAt)) > s.opts.SessionMaxAge:
		return u, "the session reached its maximum age", nil
	}
	return u, "", nil
}

// loginReasons are the messages the login page shows for ?why=.
var loginReasons = map[string]string{
	"ended": "Your session has ended; please log in again.",
}

// toLogin sends a request without a valid session to the login page.
func toLogin(c *fiber.Ctx, why string) error {
	if c.Method() == fiber.MethodGet && !strings.HasPrefix(c.Get(fiber.HeaderAccept), "application/json") {
		q := url.Values{"next": {c.OriginalURL()}}
		if why != "" {
			q.Set("why", why)
		}
		return c.Redirect("/login?"+q.Encode(), fiber.StatusSeeOther)
	}
	return fiber.NewError(fiber.StatusUnauthorized, "log in first")
}

// requireRole refuses users below need.
func requireRole(need Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, _ := c.Locals("user").(currentUser)
		if !u.Role.Allows(need) {
			return fiber.NewError(fiber.StatusForbidden, fmt.Sprintf("this needs the %s role", need))
		}
		return c.Next()
	}
}

// csrfFromFormOrHeader takes the token from the form field _csrf or the
// X-CSRF-Token header.
func csrfFromFormOrHeader(c *fiber.Ctx) (string, error) {
	if t := c.FormValue("_csrf"); t != "" {
		return t, nil
	}
	if t := c.Get("X-CSRF-Token"); t != "" {
		return t, nil
	}
	return "", csrf.ErrTokenNotFound
}

// sessionCSRF skips the session-bound CSRF check where there is no
// session to bind to: the login form (see loginCSRFCookie) and single
// sign-on. Running it there would store a session for every anonymous
// visit.
func sessionCSRF(c *fiber.Ctx) (skip bool) {
	return c.Path() == "/login" || strings.HasPrefix(c.Path(), oidcPrefix)
}

// sessionLocal is where requireLogin leaves the request's session.
const sessionLocal = "session"

// csrfRefresh is how often a page view may write its session: fiber's CSRF
// middleware saves the session (a database write, and a commit) on every
// request to slide the token's and the session's expiry; that made every
// page view a write. A read-only request whose token is valid and younger
// than this reuses it without the middleware, so a session is written at
// most once a minute while in use, and its idle timeout is exact to a minute.
const csrfRefresh = time.Minute

// skipCSRF is the CSRF middleware's Next: sessionCSRF's cases, and safe
// requests whose session already holds a fresh token matching the cookie
// (the token is put where the middleware would put it).
func (s *Server) skipCSRF(c *fiber.Ctx) bool {
	if sessionCSRF(c) {
		return true
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead:
	default:
		return false
	}
	sess, ok := c.Locals(sessionLocal).(*session.Session)
	if !ok {
		return false
	}
	var tok csrf.Token
	switch v := sess.Get(csrfSessionKey).(type) {
	case csrf.Token:
		tok = v
	case *csrf.Token:
		tok = *v
	default:
		return false
	}
	cookie := c.Cookies(csrfCookie)
	if cookie == "" || tok.Key != cookie || time.Until(tok.Expiration) < s.opts.SessionIdle-csrfRefresh {
		return false
	}
	c.Locals("csrf", cookie)
	return true
}

// csrfSessionKey is where fiber's CSRF middleware keeps the token in the
// session (its default SessionKey).
const csrfSessionKey = "fiber.csrf.token"

// loginCSRFCookie carries the login form's CSRF token. The form has no
// session to keep a token in (a session is stored only at a successful
// login, so anonymous visits cost no database rows), so it uses a double
// submit: GET /login puts one random token in this cookie and in the form,
// and POST /login needs both, equal. A page on another site can make a
// browser post the form but can neither read this cookie nor set it (it
// is HttpOnly, host-only and SameSite=Strict). As a second line, a POST
// whose Sec-Fetch-Site says it came from another site is refused. (The
// Origin header is not compared with Host: reverse proxies often rewrite
// Host.) Once logged in, the session-bound token takes over, and this one
// is cleared.
const loginCSRFCookie = "schetask_login_csrf"

// loginCSRFToken returns the browser's login token, or a new one.
func loginCSRFToken(c *fiber.Ctx) string {
	if t := c.Cookies(loginCSRFCookie); len(t) == 43 {
		if _, err := base64.RawURLEncoding.DecodeString(t); err == nil {
			return t
		}
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkLoginCSRF refuses a login post without the form's token and its
// cookie, or sent from another site.
func checkLoginCSRF(c *fiber.Ctx) error {
	refused := fiber.NewError(fiber.StatusForbidden, "refused: the form's CSRF token is missing or stale; reload the page and try again")
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return refused
	}
	form, cookie := c.FormValue("_csrf"), c.Cookies(loginCSRFCookie)
	if form == "" || cookie == "" || subtle.ConstantTimeCompare([]byte(form), []byte(cookie)) != 1 {
		return refused
	}
	return nil
}

// setCookie sets (or with maxAge < 0, clears) one of the console's cookies.
func (s *Server) setCookie(c *fiber.Ctx, name, value, path, sameSite string, maxAge int) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: path, HTTPOnly: true, SameSite: sameSite,
		Secure: s.opts.SecureCookies, MaxAge: maxAge}
	if maxAge < 0 {
		ck.Expires = time.Unix(1, 0)
	}
	c.Cookie(ck)
}

// Failed logins are held back per user name (5 tries, then 1 s, 2 s, 4 s …
// up to 15 min) and per client address (20 tries: an address may be a
// NAT or a proxy that many people share). The counts live in Postgres, so
// every console process sees the same ones.
var (
	userThrottle = store.LoginThrottle{After: 5, FirstDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: 15 * time.Minute}
	ipThrottle   = store.LoginThrottle{After: 20, FirstDelay: time.Second, MaxDelay: 15 * time.Minute, Forget: 15 * time.Minute}
)

// throttleKeys are the keys a login by name from c counts against.
func throttleKeys(c *fiber.Ctx, name string) (ipKey, userKey string) {
	if len(name) > 100 {
		name = name[:100]
	}
	return "ip:" + c.IP(), "user:" + name
}

type loginData struct {
	page
	Next  string
	Error string
	// SSO says single sign-on is set up; PasswordLogin that the password
	// form is offered (not in SSO-only mode).
	SSO           bool
	PasswordLogin bool
}

func (s *Server) loginData(c *fiber.Ctx, next, msg string) loginData {
	return loginData{page: s.page(c, "Log in"), Next: next, Error: msg,
		SSO: s.opts.OIDC.Enabled(), PasswordLogin: !s.opts.OIDC.Only}
}

// loginForm shows the login form. It stores nothing on the server: the
// form's CSRF token travels in a cookie (see loginCSRFCookie).
func (s *Server) loginForm(c *fiber.Ctx) error {
	token := loginCSRFToken(c)
	s.setCookie(c, loginCSRFCookie, token, "/login", "Strict", 3600)
	c.Locals("csrf", token)
	return s.render(c, "login.html", s.loginData(c, safeNext(c.Query("next")), loginReasons[c.Query("why")]))
}

// loginRefused shows the login form again with a message.
func (s *Server) loginRefused(c *fiber.Ctx, code int, next, msg string) error {
	c.Locals("csrf", c.Cookies(loginCSRFCookie))
	c.Status(code)
	return s.render(c, "login.html", s.loginData(c, next, msg))
}

func (s *Server) login(c *fiber.Ctx) error {
	if err := checkLoginCSRF(c); err != nil {
		return err
	}
	ctx := c.UserContext()
	name, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	if s.opts.OIDC.Only {
		return s.loginRefused(c, fiber.StatusForbidden, next, "Password logins are off here: log in with single sign-on.")
	}
	ipKey, userKey := throttleKeys(c, name)
	wait, err := s.store.LoginBlocked(ctx, ipKey, userKey)
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		s.logger.Warn("console login held back", slog.String("user", name), slog.String("ip", c.IP()), slog.Int("retry_after_s", secs))
		return s.loginRefused(c, fiber.StatusTooManyRequests, next,
			fmt.Sprintf("Too many failed logins for this user or from this address: try again in %s.", time.Duration(secs)*time.Second))
	}
	u, err := s.store.GetUser(ctx, name)
	if err != nil && !errors.Is(err, store.ErrUserNotFound) {
		return err
	}
	// Every attempt runs one bcrypt compare, whether the user exists or
	// not: the time a refusal takes says nothing about the name.
	hash, usable := dummyHash(), err == nil && !u.SSO && u.PasswordHash != ""
	if usable {
		hash = []byte(u.PasswordHash)
	}
	if s.comparePassword(hash, []byte(password)) == nil && usable && !u.Disabled {
		if err := s.store.ClearLoginFailures(ctx, userKey); err != nil {
			return err
		}
		if err := s.startSession(c, u, false); err != nil {
			return err
		}
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	for _, k := range []struct {
		key string
		p   store.LoginThrottle
	}{{ipKey, ipThrottle}, {userKey, userThrottle}} {
		if _, err := s.store.RecordLoginFailure(ctx, k.key, k.p); err != nil {
			return err
		}
	}
	s.logger.Warn("console login refused", slog.String("user", name), slog.String("ip", c.IP()))
	return s.loginRefused(c, fiber.StatusUnauthorized, next, "Wrong user name or password.")
}

// logIn starts a session for username with role as a password login does,
// for single sign-on (oidc.go), once the identity provider has vouched for
// the user. SSO users are kept in t_web_user too, marked sso and without a
// password (store.EnsureSSOUser): created at their first sign-in, their
// role brought up to date at each one, so requireLogin checks their
// sessions as it checks everyone's, and an admin can see and disable them.
// A local user of the same name is not taken over (409), and a disabled
// SSO user is refused (403). The caller redirects afterwards.
func (s *Server) logIn(c *fiber.Ctx, username string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("single sign-on: unknown role %q", role)
	}
	u, err := s.store.EnsureSSOUser(c.UserContext(), username, string(role))
	if errors.Is(err, store.ErrLocalUser) {
		return fiber.NewError(fiber.StatusConflict, fmt.Sprintf("the user name %q belongs to a local console user; ask an admin", username))
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		s.logger.Warn("console login refused", slog.String("user", username), slog.String("why", "disabled"), slog.Bool("sso", true))
		return fiber.NewError(fiber.StatusForbidden, "this account is disabled")
	}
	return s.startSession(c, u, true)
}

// startSession logs u in: a new session id with nothing carried over from
// before (a planted cookie, or a CSRF token issued before the login, is
// worth nothing after it), the account's state at this moment for
// requireLogin to compare, the login time for SessionMaxAge, and the
// user's last login.
func (s *Server) startSession(c *fiber.Ctx, u store.User, sso bool) error {
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := sess.Reset(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	sess.Set(sessUser, u.Username)
	sess.Set(sessRole, u.Role)
	sess.Set(sessEpoch, u.SessionEpoch)
	sess.Set(sessPass, passwordMark(u.PasswordHash))
	sess.Set(sessLoginAt, time.Now().UnixMilli())
	sess.Set(sessSSO, sso)
	id := sess.ID()
	if err := sess.Save(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	ctx := c.UserContext()
	if err := s.store.SetSessionUser(ctx, id, u.Username); err != nil {
		return err
	}
	if err := s.store.RecordLogin(ctx, u.Username); err != nil {
		return err
	}
	s.setCookie(c, loginCSRFCookie, "", "/login", "Strict", -1)
	s.setCookie(c, csrfCookie, "", "/", "Lax", -1)
	s.logger.Info("console login", slog.String("user", u.Username), slog.Bool("sso", sso))
	return nil
}

func (s *Server) logout(c *fiber.Ctx) error {
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := sess.Destroy(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.setCookie(c, csrfCookie, "", "/", "Lax", -1)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site, as a path and query
// rebuilt from their parsed parts, so that the Location header carries a
// path and nothing else: no control bytes (raw or percent-encoded), no
// backslash (browsers read it as a slash), no scheme, host or user, and
// one leading slash, not two. Anything else becomes "/".
func safeNext(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || hasUnsafeByte(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || hasUnsafeByte(u.Path) {
		return "/"
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "/"
	}
	for k, vs := range query {
		for _, v := range append(vs, k) {
			if hasUnsafeByte(v) {
				return "/"
			}
		}
	}
	out := (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: query.Encode()}).RequestURI()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

// hasUnsafeByte reports a control byte or a backslash in s.
func hasUnsafeByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return true
		}
	}
	return false
}
