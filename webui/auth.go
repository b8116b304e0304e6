package webui

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
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

// Allows reports whether r may do what needs need.
func (r Role) Allows(need Role) bool { return roleRank[r] >= roleRank[need] && roleRank[need] > 0 }

// HashPassword hashes a password with bcrypt.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("password: at least 8 characters")
	}
	if len(password) > 72 {
		return "", errors.New("password: at most 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// EnsureAdmin creates the first admin, "admin", when there is no user at
// all: with password when given, else with a generated one written once to
// out. It reports whether it created the user.
func EnsureAdmin(ctx context.Context, st *store.Store, password string, out io.Writer) (bool, error) {
	generated := password == ""
	if generated {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return false, fmt.Errorf("first admin: %w", err)
		}
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	hash, err := HashPassword(password)
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

// Session keys.
const (
	sessUser = "user"
	sessRole = "role"
)

// currentUser is the logged-in user of a request.
type currentUser struct {
	Name string
	Role Role
}

// requireLogin lets requests with a session through; others get the login
// page (GET) or 401.
func (s *Server) requireLogin(c *fiber.Ctx) error {
	switch c.Path() {
	case "/login", "/healthz", "/static/app.css", "/static/app.js":
		return c.Next()
	}
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	name, _ := sess.Get(sessUser).(string)
	role, _ := sess.Get(sessRole).(string)
	if name == "" {
		if c.Method() == fiber.MethodGet && !strings.HasPrefix(c.Get(fiber.HeaderAccept), "application/json") {
			return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		return fiber.NewError(fiber.StatusUnauthorized, "log in first")
	}
	c.Locals("user", currentUser{Name: name, Role: Role(role)})
	return c.Next()
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

type loginData struct {
	page
	Next  string
	Error string
}

func (s *Server) loginForm(c *fiber.Ctx) error {
	return s.render(c, "login.html", loginData{page: s.page(c, "Log in"), Next: safeNext(c.Query("next"))})
}

func (s *Server) login(c *fiber.Ctx) error {
	name, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	u, err := s.store.GetUser(c.Context(), name)
	if err == nil && !u.Disabled && bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil {
		sess, err := s.sessions.Get(c)
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		// A new session id at login: a planted cookie is worth nothing.
		if err := sess.Regenerate(); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		sess.Set(sessUser, u.Username)
		sess.Set(sessRole, u.Role)
		if err := sess.Save(); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		s.logger.Info("console login", slog.String("user", u.Username))
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	if err != nil && !errors.Is(err, store.ErrUserNotFound) {
		return err
	}
	s.logger.Warn("console login refused", slog.String("user", name), slog.String("ip", c.IP()))
	c.Status(fiber.StatusUnauthorized)
	return s.render(c, "login.html", loginData{page: s.page(c, "Log in"), Next: next, Error: "Wrong user name or password."})
}

func (s *Server) logout(c *fiber.Ctx) error {
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := sess.Destroy(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}
