package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/janitor"
	"github.com/schetask/schetask/leader"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/monitor"
	"github.com/schetask/schetask/store"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/temporalclient"
	"github.com/schetask/schetask/webui"
	"github.com/schetask/schetask/worker"
)

func runMigrate(ctx context.Context, logger *slog.Logger) error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	if err := migrate(ctx, cfg); err != nil {
		return err
	}
	logger.Info("database migrated")
	return nil
}

// openStore connects to the configured database.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	if err := cfg.RequireDatabase(); err != nil {
		return nil, err
	}
	return store.Open(ctx, cfg.DatabaseURL)
}

// migrate applies the migrations to the configured database.
func migrate(ctx context.Context, cfg config.Config) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

func runServices(ctx context.Context, logger *slog.Logger, services ...string) error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	logger.Info("configuration", slog.String("env", cfg.Env), slog.Any("files", cfg.Files))
	return startServices(ctx, cfg, logger, services...)
}

// startServices runs the named services (sync, worker, web) in this
// process until ctx ends or one of them fails.
func startServices(ctx context.Context, cfg config.Config, logger *slog.Logger, services ...string) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	opts, err := temporalclient.Options(cfg, logger)
	if err != nil {
		return err
	}
	// Sync and workers cannot start without Temporal; the console can, and
	// connects when someone first runs or kills a task.
	dial := client.NewLazyClient
	for _, s := range services {
		if s != "web" {
			dial = client.Dial
		}
	}
	c, err := dial(opts)
	if err != nil {
		return fmt.Errorf("connect to temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()
	g, ctx := errgroup.WithContext(ctx)
	if cfg.MetricsAddr != "off" && cfg.MetricsAddr != "" {
		metrics.SetToken(cfg.MetricsToken.Reveal())
		g.Go(func() error { return metrics.Serve(ctx, cfg.MetricsAddr, logger) })
	}
	for _, name := range services {
		switch name {
		case "sync":
			// Sync also runs the monitor: both read t_task_list, and both
			// are needed once per installation.
			raiser, err := alert.NewRaiser(serviceconfig.Alert(cfg), st, c, logger)
			if err != nil {
				return err
			}
			s, err := tasksync.New(serviceconfig.Sync(cfg), st, c, logger)
			if err != nil {
				return err
			}
			s.OnTaskDeleted, s.OnRunClosed = raiser.TaskDeleted, raiser.RunEnded
			m, err := monitor.New(serviceconfig.Monitor(cfg), st, raiser, logger)
			if err != nil {
				return err
			}
			// Several sync processes may run; one leads at a time.
			e := &leader.Elector{Pool: st.Pool(), Name: "sync", Logger: logger}
			g.Go(func() error {
				return e.Run(ctx, func(ctx context.Context) error {
					lg, ctx := errgroup.WithContext(ctx)
					lg.Go(func() error { return s.Run(ctx) })
					lg.Go(func() error { return m.Run(ctx) })
					return lg.Wait()
				})
			})
		case "worker":
			w, err := worker.New(serviceconfig.Worker(cfg), st, c, logger)
			if err != nil {
				return err
			}
			if exe, err := os.Executable(); err == nil {
				w.OfferCLI(exe)
			}
			g.Go(func() error { return w.Run(ctx) })
			// The janitor runs beside the workers, which own the task
			// folder's logs and history; one at a time across them.
			jan, err := janitor.New(serviceconfig.Janitor(cfg), st, logger)
			if err != nil {
				return err
			}
			je := &leader.Elector{Pool: st.Pool(), Name: "janitor", Logger: logger}
			g.Go(func() error { return je.Run(ctx, jan.Run) })
		case "web":
			if _, err := webui.EnsureAdmin(ctx, st, cfg.AdminPassword.Reveal(), os.Stderr); err != nil {
				return err
			}
			srv, err := webui.New(st, logger, webui.Options{TemporalUIURL: cfg.TemporalUIURL,
				Namespace: cfg.TemporalNamespace, TasksDir: cfg.TasksDir, SecureCookies: strings.HasPrefix(cfg.ConsoleURL, "https://"),
				SessionIdle: cfg.SessionIdle, SessionMaxAge: cfg.SessionMaxAge, OIDC: cfg.OIDC,
				Control:   &control.Control{Store: st, Client: c, ScheduleIDPrefix: cfg.ScheduleIDPrefix},
				Retention: tasktype.Retention{KeepRuns: cfg.KeepRuns, KeepDays: cfg.KeepDays},
				APIRate:   cfg.APIRate, BackfillMax: cfg.BackfillMax})
			if err != nil {
				return err
			}
			g.Go(func() error { return srv.Run(ctx, cfg.ListenAddr) })
		default:
			return fmt.Errorf("unknown service %q", name)
		}
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
