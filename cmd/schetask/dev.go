package main

import (
	"context"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/metrics"
)

// runDev starts the private Postgres and Temporal dev server under the
// data dir, migrates, and runs every service in this process. Postgres or
// Temporal dying is mended by a restart. Ctrl-C stops the services first,
// then Temporal, then Postgres; the data stays.
func runDev(ctx context.Context, logger *slog.Logger) error {
	cfg, err := config.Load(nil)
	if err != nil {
		return err
	}
	// Tasks run as another user and must not read the stack's data.
	if err := devstack.PrivateDataDir(cfg.DataDir); err != nil {
		return err
	}
	pgDir := filepath.Join(cfg.DataDir, "postgres")
	if err := devstack.CheckReachable(pgDir); err != nil {
		return err
	}
	// A password, so that other local users (tasks among them) cannot
	// connect as the superuser and run programs through COPY … TO PROGRAM.
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: pgDir, Port: cfg.DevPostgresPort, Database: "schetask", Durable: true, Logger: logger,
		PasswordFile: filepath.Join(cfg.DataDir, "postgres-password"),
	})
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("stopping postgres")
		if err := pg.Stop(); err != nil {
			logger.Error("stop postgres", slog.Any("error", err))
		}
	}()
	temporal, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		CLI: cfg.TemporalCLI, Port: cfg.DevTemporalPort, UIPort: cfg.DevTemporalUIPort,
		DBFile: filepath.Join(cfg.DataDir, "temporal.db"), LogFile: filepath.Join(cfg.DataDir, "temporal.log"),
		Logger: logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("stopping temporal")
		if err := temporal.Stop(); err != nil {
			logger.Error("stop temporal", slog.Any("error", err))
		}
	}()
	// The URL carries the password: it goes to the services, never to the log.
	psql := "psql " + redactedDatabaseURL(cfg.DatabaseURL)
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = pg.URL()
		psql = pg.PsqlCommand()
	}
	if cfg.PublishTargets == "" {
		// The seed's pre and prod roots, kept under .data/ for a try-out.
		cfg.PublishTargets = "pre=" + filepath.Join(cfg.DataDir, "publish", "pre") +
			",prod=" + filepath.Join(cfg.DataDir, "publish", "prod")
	}
	cfg.TemporalAddress = temporal.Address()
	cfg.TemporalUIURL = temporal.UIURL()
	if err := migrate(ctx, cfg); err != nil {
		return err
	}
	logger.Info("schetask dev stack is up",
		slog.String("console", "http://"+cfg.ListenAddr),
		slog.String("temporal_web", cfg.TemporalUIURL),
		slog.String("psql", psql),
		slog.String("tasks", cfg.TasksDir))
	return superviseAndServe(ctx, cfg, logger, pg, temporal)
}

// superviseAndServe runs the services while Postgres and Temporal are
// watched: one that dies is restarted on its data, and /healthz says so;
// one that keeps dying ends the services with an error naming it. The
// watch ends before the caller stops the servers, so that none restarts
// during a shutdown.
func superviseAndServe(ctx context.Context, cfg config.Config, logger *slog.Logger, pg *devstack.Postgres, temporal *devstack.Temporal) error {
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	g, gctx := errgroup.WithContext(watchCtx)
	g.Go(func() error {
		defer stopWatching()
		return startServices(gctx, cfg, logger, "sync", "worker", "web")
	})
	g.Go(func() error { return pg.Supervise(gctx, superviseOptions("postgres", logger)) })
	g.Go(func() error { return temporal.Supervise(gctx, superviseOptions("temporal", logger)) })
	return g.Wait()
}

// superviseOptions reports a server's state on /healthz under its name.
func superviseOptions(name string, logger *slog.Logger) devstack.SuperviseOptions {
	return devstack.SuperviseOptions{Logger: logger, Report: func(state string, up bool) {
		if up {
			metrics.SetHealth(name, state)
		} else {
			metrics.SetHealthDown(name, state)
		}
	}}
}

// redactedDatabaseURL returns a configured database URL fit for the log:
// its password, in the user part or the query, replaced by "xxxxx".
func redactedDatabaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		// A key=value connection string may hold a password anywhere.
		return "(SCHETASK_DATABASE_URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return strconv.Quote(u.Redacted())
}
