// Command schetask is the one binary of schetask:
//
//	schetask dev       start a private Postgres and a Temporal dev server
//	                   under .data/, migrate, and run sync, worker and console
//	schetask all       run sync, worker and console against configured services
//	schetask worker    run tasks (any number of workers may share a queue)
//	schetask sync      reconcile t_task_list into Temporal schedules
//	schetask web       serve the console
//	schetask migrate   apply database migrations
//	schetask healthcheck <url>  exit 0 when url answers 200 (container health checks)
//	schetask notify    (inside a task) raise the task's own alert
//	schetask publish   (inside a task) publish publish/ to targets
//
// and the command-line client of the console's API (cli.go; SCHETASK_URL,
// SCHETASK_TOKEN): task list|get|apply|export|delete, run, kill, pause,
// resume, backfill, runs, logs, completion.
//
// Configuration comes from SCHETASK_* environment variables (see README).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if isCLICommand(os.Args[1:]) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runCLI(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	if len(os.Args) == 3 && os.Args[1] == "healthcheck" {
		// For container health checks: the image has no curl.
		if err := healthcheck(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "schetask healthcheck: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "notify" || os.Args[1] == "publish") {
		// Inside a task: plain messages on stderr, for the task's log.
		if err := runHelperCommand(context.Background(), os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "schetask %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], logger); err != nil {
		logger.Error("schetask failed", slog.Any("error", err))
		stop()
		os.Exit(1)
	}
}

var commands = map[string]func(ctx context.Context, logger *slog.Logger) error{
	"dev":     runDev,
	"all":     func(ctx context.Context, l *slog.Logger) error { return runServices(ctx, l, "sync", "worker", "web") },
	"worker":  func(ctx context.Context, l *slog.Logger) error { return runServices(ctx, l, "worker") },
	"sync":    func(ctx context.Context, l *slog.Logger) error { return runServices(ctx, l, "sync") },
	"web":     func(ctx context.Context, l *slog.Logger) error { return runServices(ctx, l, "web") },
	"migrate": runMigrate,
}

const usage = `usage: schetask <command>

commands:
  dev       start a private Postgres and Temporal dev server under .data/, migrate,
            and run sync, worker and console (what make run does)
  all       run sync, worker and console against the configured services
  worker    run tasks
  sync      reconcile t_task_list into Temporal schedules
  web       serve the console
  migrate   apply database migrations
  healthcheck <url>      exit 0 when url answers 200 (for container health checks)

inside a task (they use the run's SCHETASK_HELPER_SOCKET):
  notify <message>       raise the task's own alert to its owners
  publish <target>...    copy the run's publish/ folder to the targets

the console's API (SCHETASK_URL, SCHETASK_TOKEN; see schetask --help):
  task list|get|apply|export|delete, run, kill, pause, resume, backfill,
  runs, logs, completion bash|zsh|fish
`

func run(ctx context.Context, args []string, logger *slog.Logger) error {
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("want exactly one command")
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(ctx, logger)
}

// healthcheck GETs url and fails unless it answers 200 within 5 s.
func healthcheck(url string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
