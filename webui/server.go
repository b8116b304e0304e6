// Package webui is the Fiber console. For now it serves a read-only
// overview of tasks and their latest runs, and a health check; the full
// console (login, task editing, logs, history) builds on it.
package webui

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

//go:embed templates/*.html
var templates embed.FS

// Server is the console's HTTP server.
type Server struct {
	app    *fiber.App
	store  *store.Store
	logger *slog.Logger
	tmpl   *template.Template
	// TemporalUIURL links runs to Temporal Web.
	TemporalUIURL string
	// Namespace is the Temporal namespace, for links.
	Namespace string
}

// New builds the console.
func New(st *store.Store, logger *slog.Logger, temporalUIURL, namespace string) (*Server, error) {
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"ts": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
	}).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	s := &Server{store: st, logger: logger.With(slog.String("component", "webui")), tmpl: tmpl,
		TemporalUIURL: temporalUIURL, Namespace: namespace}
	s.app = fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 30 * time.Second})
	s.app.Use(func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Content-Security-Policy", "default-src 'self'")
		return c.Next()
	})
	s.app.Get("/healthz", s.health)
	s.app.Get("/", s.overview)
	return s, nil
}

// App returns the Fiber app, for tests.
func (s *Server) App() *fiber.App { return s.app }

// Run serves on addr until ctx ends.
func (s *Server) Run(ctx context.Context, addr string) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listen(addr) }()
	s.logger.Info("console listening", slog.String("url", "http://"+addr))
	select {
	case err := <-errc:
		return fmt.Errorf("serve console: %w", err)
	case <-ctx.Done():
		return s.app.ShutdownWithTimeout(5 * time.Second)
	}
}

func (s *Server) health(c *fiber.Ctx) error {
	if err := s.store.Pool().Ping(c.Context()); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("database: " + err.Error())
	}
	return c.SendString("ok")
}

type overviewData struct {
	Tasks       []tasktype.Task
	Runs        []tasktype.Run
	TemporalURL string
	Namespace   string
}

func (s *Server) overview(c *fiber.Ctx) error {
	tasks, err := s.store.ListTasks(c.Context())
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	runs, err := s.store.ListRuns(c.Context(), "", 50)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	c.Type("html", "utf-8")
	return s.tmpl.ExecuteTemplate(c, "overview.html", overviewData{Tasks: tasks, Runs: runs,
		TemporalURL: s.TemporalUIURL, Namespace: s.Namespace})
}
