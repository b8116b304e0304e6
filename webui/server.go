// Package webui is the Fiber console: log in, tasks, runs and their alerts,
// the users and their API tokens, and the REST API under /api/v1 (api.go).
// Every page but the login page, the health check and single sign-on
// needs a session; every state change carries a CSRF token; sessions live
// in Postgres, are checked against their user on every request, and are
// stored only at a successful login. The API takes bearer tokens instead,
// never a session or a cookie.
package webui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/session"
	"golang.org/x/crypto/bcrypt"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static/app.css
var appCSS []byte

//go:embed static/app.js
var appJS []byte

// Options configure the console.
type Options struct {
	// TemporalUIURL and Namespace build links to Temporal Web.
	TemporalUIURL string
	Namespace     string
	// SecureCookies marks the cookies Secure (serve the console over HTTPS).
	SecureCookies bool
	// SessionIdle ends a session unused this long (12h when zero).
	SessionIdle time.Duration
	// SessionTTL is the former name of SessionIdle, used when SessionIdle
	// is zero.
	SessionTTL time.Duration
	// SessionMaxAge ends a session this long after its login, however
	// busy (7 days when zero).
	SessionMaxAge time.Duration
	// OIDC is single sign-on (oidc.go); off when its Issuer is empty. Its
	// Only turns password logins off.
	OIDC config.OIDCConfig
	// TasksDir is the tasks root, where logs and history are read.
	TasksDir string
	// Control runs and kills tasks; nil leaves those actions out.
	Control *control.Control
	// Retention is the global keep_runs and keep_days, which the task
	// page shows for tasks that set none.
	Retention tasktype.Retention
	// APIRate is how many requests an API token may make a minute
	// (SCHETASK_API_RATE; 600 when zero).
	APIRate int
	// BackfillMax is the most fires one backfill may start
	// (SCHETASK_BACKFILL_MAX; 1000 when zero).
	BackfillMax int
}

// Server is the console's HTTP server.
type Server struct {
	app      *fiber.App
	store    *store.Store
	logger   *slog.Logger
	tmpl     *template.Template
	opts     Options
	sessions *session.Store
	// comparePassword is bcrypt's compare; a seam for tests that count
	// compares.
	comparePassword func(hash, password []byte) error
	// stop is closed when Run ends, to end live log tails.
	stop chan struct{}
	// tails counts the open live log tails (stream.go).
	tails tailCounts
	// apiDoc is the API's OpenAPI document (api.go), made at start.
	apiDoc []byte
}

// New builds the console.
func New(st *store.Store, logger *slog.Logger, opts Options) (*Server, error) {
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = opts.SessionTTL
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 12 * time.Hour
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = 7 * 24 * time.Hour
	}
	if opts.APIRate <= 0 {
		opts.APIRate = defaultAPIRate
	}
	if opts.BackfillMax <= 0 {
		opts.BackfillMax = defaultBackfillMax
	}
	// Bad single sign-on settings stop the start rather than every sign-in.
	if err := CheckOIDC(opts.OIDC); err != nil {
		return nil, fmt.Errorf("single sign-on: %w", err)
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		// delivery says what became of an alert: held back, not sent (no
		// channel), or sent and failed per channel.
		"delivery": alert.DeliveryState,
		"ts": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"list": func(v ...string) []string { return v },
		"dur": func(r tasktype.Run) string {
			if r.ID == 0 {
				return ""
			}
			return shortDuration(runDuration(r, time.Now()))
		},
		"changes": auditChanges,
		// cpu and bytes print a run's usage figures, "—" when unknown.
		"cpu": func(s *float64) string {
			if s == nil {
				return "—"
			}
			return cpuSeconds(*s)
		},
		"bytes": func(n *int64) string {
			if n == nil {
				return "—"
			}
			return humanBytes(*n)
		},
		// workflowURL is the run's page in Temporal Web, or "".
		"workflowURL": func(r tasktype.Run) string {
			if opts.TemporalUIURL == "" || r.WorkflowID == "" {
				return ""
			}
			return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(opts.TemporalUIURL, "/"),
				url.PathEscape(opts.Namespace), url.PathEscape(r.WorkflowID), url.PathEscape(r.RunID))
		},
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	}).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	s := &Server{store: st, logger: logger.With(slog.String("component", "webui")), tmpl: tmpl, opts: opts,
		stop: make(chan struct{}), comparePassword: bcrypt.CompareHashAndPassword}
	s.sessions = session.New(session.Config{
		Storage: st.Sessions(), Expiration: opts.SessionIdle, KeyLookup: "cookie:" + sessionCookie,
		CookieHTTPOnly: true, CookieSameSite: "Lax", CookieSecure: opts.SecureCookies,
	})
	s.app = fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 30 * time.Second, ErrorHandler: s.errorPage})
	s.app.Use(countRequests, recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}), securityHeaders)
	s.app.Get("/healthz", s.health)
	s.app.Get("/static/app.css", staticFile("css", appCSS))
	s.app.Get("/static/app.js", staticFile("js", appJS))
	// The API authenticates with tokens, not sessions: it is mounted
	// before the session and CSRF middlewares and answers every path
	// under its prefix itself.
	if err := s.mountAPI(); err != nil {
		return nil, err
	}
	s.app.Use(s.requireLogin)
	s.app.Use(csrf.New(csrf.Config{
		Next: s.skipCSRF, Session: s.sessions, SessionKey: csrfSessionKey, Extractor: csrfFromFormOrHeader, CookieName: csrfCookie,
		CookieHTTPOnly: true, CookieSameSite: "Lax", CookieSecure: opts.SecureCookies,
		Expiration: opts.SessionIdle, ContextKey: "csrf",
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			return fiber.NewError(fiber.StatusForbidden, "refused: the form's CSRF token is missing or stale; reload the page and try again")
		},
	}))
	s.app.Get("/login", s.loginForm)
	s.app.Post("/login", s.login)
	s.app.Post("/logout", s.logout)
	s.app.Get("/", s.overview)
	s.app.Get("/api/rule", s.ruleAPI)
	s.app.Get("/create", requireRole(RoleAdmin), s.newTaskForm)
	s.app.Post("/create", requireRole(RoleAdmin), s.createTask)
	s.app.Get("/tasks/:name", s.taskPage)
	s.app.Get("/tasks/:name/edit", requireRole(RoleAdmin), s.editTaskForm)
	s.app.Post("/tasks/:name/edit", requireRole(RoleAdmin), s.updateTask)
	s.app.Post("/tasks/:name/delete", requireRole(RoleAdmin), s.deleteTask)
	s.app.Get("/tasks/:name/history", s.historyPage)
	s.app.Get("/tasks/:name/diff", s.diffPage)
	s.app.Get("/tasks/:name/chain", s.chainPage)
	s.app.Get("/runs", s.runsPage)
	s.app.Get("/runs/:id<int>", s.runPage)
	s.app.Get("/runs/:id<int>/log", s.downloadLog)
	s.app.Get("/runs/:id<int>/stream", s.streamLog)
	s.app.Get("/runs/:id<int>/file", s.filePage)
	s.app.Post("/tasks/:name/:action", requireRole(RoleOperator), s.taskAction)
	s.mountUsers()
	s.mountTokens()
	s.mountOIDC()
	return s, nil
}

// The console's cookies: the session id, and the session-bound CSRF token
// of a logged-in browser (the login form has its own, loginCSRFCookie).
const (
	sessionCookie = "schetask_session"
	csrfCookie    = "schetask_csrf"
)

// logPanic logs a handler's panic with the request's path; the recover
// middleware then answers 500 through errorPage.
func (s *Server) logPanic(c *fiber.Ctx, v any) {
	s.logger.Error("console handler panicked", slog.String("method", c.Method()), slog.String("path", c.Path()),
		slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
}

// countRequests counts each request by method and final status code.
func countRequests(c *fiber.Ctx) error {
	err := c.Next()
	code := c.Response().StatusCode()
	if err != nil {
		code = fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code = fe.Code
		}
	}
	metrics.ConsoleRequests.WithLabelValues(c.Method(), strconv.Itoa(code)).Inc()
	return err
}

// staticFile serves an embedded asset.
func staticFile(kind string, body []byte) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Type(kind, "utf-8")
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		return c.Send(body)
	}
}

func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	return c.Next()
}

// App returns the Fiber app, for tests.
func (s *Server) App() *fiber.App { return s.app }

// Run serves on addr until ctx ends, removing expired sessions and stale
// login failure counts now and then.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve console: %w", err)
	}
	return s.RunListener(ctx, ln)
}

// RunListener is Run on a listener the caller opened.
func (s *Server) RunListener(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	s.logger.Info("console listening", slog.String("url", "http://"+ln.Addr().String()))
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve console: %w", err)
		case <-t.C:
			if _, err := s.store.DeleteExpiredSessions(ctx); err != nil {
				s.logger.Warn("delete expired sessions", slog.Any("error", err))
			}
			if _, err := s.store.DeleteStaleLoginFailures(ctx, max(userThrottle.Forget, ipThrottle.Forget)); err != nil {
				s.logger.Warn("delete stale login failures", slog.Any("error", err))
			}
		case <-ctx.Done():
			close(s.stop)
			return s.app.ShutdownWithTimeout(5 * time.Second)
		}
	}
}

// page is what every page's template gets.
type page struct {
	Title string
	User  string
	Role  Role
	// SSOUser says the user signed in through single sign-on (and has no
	// password to change here).
	SSOUser     bool
	CSRF        string
	TemporalURL string
	Namespace   string
}

func (s *Server) page(c *fiber.Ctx, title string) page {
	u, _ := c.Locals("user").(currentUser)
	token, _ := c.Locals("csrf").(string)
	return page{Title: title, User: u.Name, Role: u.Role, SSOUser: u.SSO, CSRF: token,
		TemporalURL: strings.TrimRight(s.opts.TemporalUIURL, "/"), Namespace: s.opts.Namespace}
}

func (s *Server) render(c *fiber.Ctx, name string, data any) error {
	c.Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.tmpl.ExecuteTemplate(c, name, data)
}

type errorData struct {
	page
	Status  int
	Message string
}

// errorPage answers errors as a page (or plain text for non-HTML clients)
// without leaking internals.
func (s *Server) errorPage(c *fiber.Ctx, err error) error {
	code, msg := fiber.StatusInternalServerError, "something went wrong; the console log has the details"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
	} else {
		s.logger.Error("console request failed", slog.String("path", c.Path()), slog.Any("error", err))
	}
	c.Status(code)
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/html") {
		return c.SendString(msg)
	}
	return s.render(c, "error.html", errorData{page: s.page(c, "Error"), Status: code, Message: msg})
}

func (s *Server) health(c *fiber.Ctx) error {
	if err := s.store.Pool().Ping(c.UserContext()); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ok")
}
