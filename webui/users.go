package webui

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
)

// usernamePattern is t_web_user's username_plain constraint.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// mountUsers adds the user screen (admins) and the change-password page
// (everyone logged in).
func (s *Server) mountUsers() {
	admin := requireRole(RoleAdmin)
	s.app.Get("/users", admin, s.usersPage)
	s.app.Post("/users", admin, s.createUser)
	s.app.Post("/users/:name/role", admin, s.setUserRole)
	s.app.Post("/users/:name/disable", admin, s.setUserDisabled(true))
	s.app.Post("/users/:name/enable", admin, s.setUserDisabled(false))
	s.app.Post("/users/:name/reset-password", admin, s.resetUserPassword)
	s.app.Get(passwordPage, s.passwordForm)
	s.app.Post(passwordPage, s.changePassword)
}

type usersData struct {
	page
	Users []store.User
	Audit []store.AuditEntry
	Roles []Role
	// Error and Notice report the last action.
	Error, Notice string
	// Shown is a password shown this once: generated for a new user, or
	// set by a reset.
	Shown *shownPassword
	// New is the add-user form, kept as typed after an error.
	New newUserForm
}

type shownPassword struct{ User, Password string }

type newUserForm struct {
	Name string
	Role Role
}

// userAudit is what the audit keeps of a user: never the password hash.
func userAudit(u store.User) map[string]any {
	return map[string]any{"user": u.Username, "role": u.Role, "disabled": u.Disabled,
		"must_change_password": u.MustChangePassword, "sso": u.SSO}
}

// renderUsers shows the user screen with code and d's messages.
func (s *Server) renderUsers(c *fiber.Ctx, code int, d usersData) error {
	var err error
	if d.Users, err = s.store.ListUsers(c.UserContext()); err != nil {
		return err
	}
	if d.Audit, err = s.store.UserAudit(c.UserContext(), 50); err != nil {
		return err
	}
	d.page, d.Roles = s.page(c, "Users"), roles
	if d.New.Role == "" {
		d.New.Role = RoleViewer
	}
	c.Status(code)
	return s.render(c, "users.html", d)
}

func (s *Server) usersPage(c *fiber.Ctx) error {
	return s.renderUsers(c, fiber.StatusOK, usersData{})
}

// createUser adds a user with the password the admin typed, or a
// generated one shown once; either way the user must choose their own at
// first login.
func (s *Server) createUser(c *fiber.Ctx) error {
	admin, _ := c.Locals("user").(currentUser)
	form := newUserForm{Name: strings.TrimSpace(c.FormValue("username")), Role: Role(c.FormValue("role"))}
	refuse := func(code int, msg string) error {
		return s.renderUsers(c, code, usersData{Error: msg, New: form})
	}
	if !usernamePattern.MatchString(form.Name) {
		return refuse(fiber.StatusUnprocessableEntity, "user name: 1 to 64 letters, digits and _ . @ -, starting with a letter or digit")
	}
	if !form.Role.Valid() {
		return refuse(fiber.StatusUnprocessableEntity, fmt.Sprintf("role: %q is not one of admin, operator, viewer", form.Role))
	}
	password, generated := c.FormValue("password"), false
	if password == "" {
		var err error
		if password, err = generatePassword(); err != nil {
			return err
		}
		generated = true
	}
	hash, err := hashUserPassword(form.Name, password)
	if err != nil {
		return refuse(fiber.StatusUnprocessableEntity, err.Error())
	}
	u := store.User{Username: form.Name, PasswordHash: hash, Role: string(form.Role), MustChangePassword: true}
	if err := s.store.CreateUser(c.UserContext(), u); errors.Is(err, store.ErrUserExists) {
		return refuse(fiber.StatusConflict, fmt.Sprintf("there is already a user %q", form.Name))
	} else if err != nil {
		return err
	}
	if err := s.store.AddAudit(c.UserContext(), admin.Name, "user.create", "", nil, userAudit(u)); err != nil {
		return err
	}
	s.logger.Info("console user created", slog.String("by", admin.Name), slog.String("user", u.Username), slog.String("role", u.Role))
	if !generated {
		return c.Redirect("/users", fiber.StatusSeeOther)
	}
	return s.renderUsers(c, fiber.StatusOK, usersData{Notice: fmt.Sprintf("%s created.", u.Username),
		Shown: &shownPassword{User: u.Username, Password: password}})
}

// changeUser applies change to the user named in the path and audits it
// as action; the store ends the user's sessions when the change calls for
// it. A failure goes to userChangeFailed.
func (s *Server) changeUser(c *fiber.Ctx, action string, change func(*store.User) error) (store.User, error) {
	admin, _ := c.Locals("user").(currentUser)
	before, after, err := s.store.ChangeUser(c.UserContext(), c.Params("name"), change)
	if err != nil {
		return after, err
	}
	if err := s.store.AddAudit(c.UserContext(), admin.Name, action, "", userAudit(before), userAudit(after)); err != nil {
		return after, err
	}
	s.logger.Info("console user changed", slog.String("by", admin.Name), slog.String("user", after.Username), slog.String("action", action))
	return after, nil
}

// userChangeFailed answers a change that did not happen.
func (s *Server) userChangeFailed(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	switch {
	case errors.Is(err, store.ErrUserNotFound):
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("there is no user %q", c.Params("name")))
	case errors.Is(err, store.ErrLastAdmin):
		return s.renderUsers(c, fiber.StatusConflict, usersData{Error: fmt.Sprintf(
			"%s is the last enabled admin, who can be neither disabled nor demoted: make another user admin first.", c.Params("name"))})
	case errors.As(err, &fe):
		return fe
	}
	return err
}

func (s *Server) setUserRole(c *fiber.Ctx) error {
	role := Role(c.FormValue("role"))
	if !role.Valid() {
		return s.renderUsers(c, fiber.StatusUnprocessableEntity, usersData{Error: fmt.Sprintf("role: %q is not one of admin, operator, viewer", role)})
	}
	if _, err := s.changeUser(c, "user.role", func(u *store.User) error {
		u.Role = string(role)
		return nil
	}); err != nil {
		return s.userChangeFailed(c, err)
	}
	return c.Redirect("/users", fiber.StatusSeeOther)
}

func (s *Server) setUserDisabled(disabled bool) fiber.Handler {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return func(c *fiber.Ctx) error {
		if _, err := s.changeUser(c, action, func(u *store.User) error {
			u.Disabled = disabled
			return nil
		}); err != nil {
			return s.userChangeFailed(c, err)
		}
		return c.Redirect("/users", fiber.StatusSeeOther)
	}
}

// errSSOPassword refuses a password for a single sign-on user.
var errSSOPassword = fiber.NewError(fiber.StatusConflict, "this user signs in through single sign-on, which keeps their password")

// resetUserPassword sets a generated temporary password, shown once, that
// the user must replace at their next login.
func (s *Server) resetUserPassword(c *fiber.Ctx) error {
	password, err := generatePassword()
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	u, err := s.changeUser(c, "user.password_reset", func(u *store.User) error {
		if u.SSO {
			return errSSOPassword
		}
		u.PasswordHash, u.MustChangePassword = hash, true
		return nil
	})
	if err != nil {
		return s.userChangeFailed(c, err)
	}
	return s.renderUsers(c, fiber.StatusOK, usersData{
		Notice: fmt.Sprintf("%s's password was reset and their sessions ended; they must choose a new one at their next login.", u.Username),
		Shown:  &shownPassword{User: u.Username, Password: password}})
}

type passwordData struct {
	page
	Error string
	// Forced says the user may do nothing else until they change it.
	Forced bool
}

func (s *Server) renderPassword(c *fiber.Ctx, code int, msg string) error {
	u, _ := c.Locals("user").(currentUser)
	if u.SSO {
		return errSSOPassword
	}
	c.Status(code)
	return s.render(c, "userpassword.html", passwordData{page: s.page(c, "Change your password"), Error: msg, Forced: u.MustChangePassword})
}

func (s *Server) passwordForm(c *fiber.Ctx) error {
	return s.renderPassword(c, fiber.StatusOK, "")
}

// changePassword lets a logged-in user change their own password, the
// current one required. Their other sessions end; this one goes on under
// a new id.
func (s *Server) changePassword(c *fiber.Ctx) error {
	cu, _ := c.Locals("user").(currentUser)
	if cu.SSO {
		return errSSOPassword
	}
	ctx := c.UserContext()
	current, password, confirm := c.FormValue("current"), c.FormValue("password"), c.FormValue("confirm")
	// Guessing the current password from a stolen session counts as a
	// failed login of the user.
	_, userKey := throttleKeys(c, cu.Name)
	if wait, err := s.store.LoginBlocked(ctx, userKey); err != nil {
		return err
	} else if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return s.renderPassword(c, fiber.StatusTooManyRequests, fmt.Sprintf("Too many wrong passwords: try again in %s.", time.Duration(secs)*time.Second))
	}
	u, err := s.store.GetUser(ctx, cu.Name)
	if err != nil {
		return err
	}
	if s.comparePassword([]byte(u.PasswordHash), []byte(current)) != nil {
		if _, err := s.store.RecordLoginFailure(ctx, userKey, userThrottle); err != nil {
			return err
		}
		return s.renderPassword(c, fiber.StatusUnprocessableEntity, "The current password is wrong.")
	}
	if password != confirm {
		return s.renderPassword(c, fiber.StatusUnprocessableEntity, "The new password and its confirmation differ.")
	}
	if password == current {
		return s.renderPassword(c, fiber.StatusUnprocessableEntity, "The new password must differ from the current one.")
	}
	hash, err := hashUserPassword(u.Username, password)
	if err != nil {
		return s.renderPassword(c, fiber.StatusUnprocessableEntity, err.Error())
	}
	before, after, err := s.store.ChangeUser(ctx, u.Username, func(x *store.User) error {
		if x.PasswordHash != u.PasswordHash {
			return fiber.NewError(fiber.StatusConflict, "your password was changed meanwhile; log in again")
		}
		x.PasswordHash, x.MustChangePassword = hash, false
		return nil
	})
	if err != nil {
		return s.userChangeFailed(c, err)
	}
	if err := s.store.AddAudit(ctx, u.Username, "user.password", "", userAudit(before), userAudit(after)); err != nil {
		return err
	}
	if err := s.startSession(c, after, false); err != nil {
		return err
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}
