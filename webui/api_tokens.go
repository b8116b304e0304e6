package webui

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
)

// The console's API tokens screen: every logged-in user makes and revokes
// their own personal API tokens there, an admin anybody's. A token is
// shown once, when made; only its SHA-256 is kept.

// tokenNamePattern is t_api_token's api_token_name_plain constraint.
var tokenNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// maxTokenDays bounds a token's expiry, in days (ten years).
const maxTokenDays = 3650

// mountTokens adds the API tokens screen.
func (s *Server) mountTokens() {
	s.app.Get("/tokens", s.tokensPage)
	s.app.Post("/tokens", s.createToken)
	s.app.Post("/tokens/:id<int>/revoke", s.revokeToken)
}

type tokensData struct {
	page
	Tokens []store.APIToken
	// All says the list is every user's (an admin's view).
	All bool
	// Roles are the roles the user may give a token: theirs or lower.
	Roles []Role
	// Error and Notice report the last action.
	Error, Notice string
	// Shown is a token just made, shown this once.
	Shown *shownToken
	// New is the form, kept as typed after an error.
	New newTokenForm
	Now time.Time
	// Flash is the message a redirect left (a revocation's).
	Flash *flash
}

type shownToken struct{ Name, Token string }

type newTokenForm struct {
	Name string
	Role Role
	Days string
}

// tokenAudit is what the audit keeps of a token: never the token or its hash.
func tokenAudit(t store.APIToken) map[string]any {
	m := map[string]any{"token": t.Name, "user": t.Username, "role": t.Role}
	if t.ExpiresAt != nil {
		m["expires_at"] = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if t.RevokedAt != nil {
		m["revoked_at"] = t.RevokedAt.UTC().Format(time.RFC3339)
	}
	return m
}

// rolesUpTo are the roles at most r, from most to least allowed.
func rolesUpTo(r Role) []Role {
	var out []Role
	for _, x := range roles {
		if r.Allows(x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) renderTokens(c *fiber.Ctx, code int, d tokensData) error {
	u, _ := c.Locals("user").(currentUser)
	owner := u.Name
	if u.Role.Allows(RoleAdmin) {
		owner, d.All = "", true
	}
	var err error
	if d.Tokens, err = s.store.ListTokens(c.UserContext(), owner); err != nil {
		return err
	}
	d.page, d.Roles, d.Now, d.Flash = s.page(c, "API tokens"), rolesUpTo(u.Role), time.Now(), s.takeFlash(c)
	if d.New.Role == "" {
		d.New.Role = RoleViewer
	}
	c.Status(code)
	return s.render(c, "tokens.html", d)
}

func (s *Server) tokensPage(c *fiber.Ctx) error {
	return s.renderTokens(c, fiber.StatusOK, tokensData{})
}

// createToken makes a token for the logged-in user with a role at most
// theirs, and shows it once.
func (s *Server) createToken(c *fiber.Ctx) error {
	u, _ := c.Locals("user").(currentUser)
	form := newTokenForm{Name: strings.TrimSpace(c.FormValue("name")), Role: Role(c.FormValue("role")),
		Days: strings.TrimSpace(c.FormValue("expires_days"))}
	refuse := func(code int, msg string) error {
		return s.renderTokens(c, code, tokensData{Error: msg, New: form})
	}
	if !tokenNamePattern.MatchString(form.Name) {
		return refuse(fiber.StatusUnprocessableEntity, "name: 1 to 64 letters, digits and _ . @ -, starting with a letter or digit")
	}
	if !form.Role.Valid() {
		return refuse(fiber.StatusUnprocessableEntity, fmt.Sprintf("role: %q is not one of admin, operator, viewer", form.Role))
	}
	if !u.Role.Allows(form.Role) {
		return refuse(fiber.StatusForbidden, fmt.Sprintf("role: a token may have your role (%s) or a lower one, not %s", u.Role, form.Role))
	}
	t := store.APIToken{Name: form.Name, Username: u.Name, Role: string(form.Role)}
	if form.Days != "" {
		days, err := strconv.Atoi(form.Days)
		if err != nil || days < 1 || days > maxTokenDays {
			return refuse(fiber.StatusUnprocessableEntity, fmt.Sprintf("expires in: a whole number of days from 1 to %d, or empty for never", maxTokenDays))
		}
		t.ExpiresAt = new(time.Now().Add(time.Duration(days) * 24 * time.Hour))
	}
	row, plain, err := s.store.CreateToken(c.UserContext(), t)
	if errors.Is(err, store.ErrTokenExists) {
		return refuse(fiber.StatusConflict, fmt.Sprintf("you already have a token named %q; revoked tokens keep their names", form.Name))
	}
	if err != nil {
		return err
	}
	if err := s.store.AddAudit(c.UserContext(), u.Name, "token.create", "", nil, tokenAudit(row)); err != nil {
		return err
	}
	s.logger.Info("api token created", slog.String("user", u.Name), slog.String("token", row.Name), slog.String("role", row.Role))
	return s.renderTokens(c, fiber.StatusOK, tokensData{Notice: fmt.Sprintf("Token %s created.", row.Name),
		Shown: &shownToken{Name: row.Name, Token: plain}})
}

// revokeToken revokes one of the user's tokens (an admin: anybody's); it
// stops working at its next request.
func (s *Server) revokeToken(c *fiber.Ctx) error {
	u, _ := c.Locals("user").(currentUser)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such token")
	}
	owner := u.Name
	if u.Role.Allows(RoleAdmin) {
		owner = ""
	}
	before, after, err := s.store.RevokeToken(c.UserContext(), id, owner)
	if errors.Is(err, store.ErrTokenNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "no such token")
	}
	if err != nil {
		return err
	}
	if before.RevokedAt == nil {
		if err := s.store.AddAudit(c.UserContext(), u.Name, "token.revoke", "", tokenAudit(before), tokenAudit(after)); err != nil {
			return err
		}
		s.logger.Info("api token revoked", slog.String("by", u.Name), slog.String("user", after.Username), slog.String("token", after.Name))
	}
	s.setFlash(c, flashOK, fmt.Sprintf("Revoked %s's token %s: it is refused from its next request on.", after.Username, after.Name))
	return c.Redirect("/tokens", fiber.StatusSeeOther)
}

// State says whether a listed token works: active, expired or revoked.
func (d tokensData) State(t store.APIToken) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case !t.Active(d.Now):
		return "expired"
	}
	return "active"
}
