// Package worker wires RunTask, ChainGate, Notify and their activities to a Temporal
// task queue and, on each host, kills the processes that a dead worker
// left behind. Any number of workers may poll the same queue; Temporal
// shares the runs and the alert deliveries.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sys/unix"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/notify"
	"github.com/schetask/schetask/proc"
	"github.com/schetask/schetask/publish"
	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskhelper"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// Worker runs tasks for one process.
type Worker struct {
	cfg        Config
	store      *store.Store
	logger     *slog.Logger
	host       string
	activities *activities.Activities
	worker     sdkworker.Worker
	helperDir  string
}

// New builds a worker of cfg, its zero fields set to their defaults; it
// fails when cfg is wrong, naming the field.
func New(cfg Config, st *store.Store, c client.Client, logger *slog.Logger) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	alerts, err := alert.NewRaiser(cfg.Alerts, st, c, logger)
	if err != nil {
		return nil, fmt.Errorf("worker config: Alerts: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	ticks, err := proc.StartTicks(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("worker identity: %w", err)
	}
	targets, err := publish.ParseTargets(cfg.PublishTargets)
	if err != nil {
		return nil, fmt.Errorf("SCHETASK_PUBLISH_TARGETS: %w", err)
	}
	channels, err := notify.FromConfig(cfg.Channels, nil)
	if err != nil {
		return nil, err
	}
	// Tasks run as another user and must not read this process's memory
	// or environment (/proc/<pid>/environ), even as the same user.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("make the worker non-dumpable: %w", err)
	}
	sb, err := sandbox.New(sandbox.Options{User: cfg.TaskUser, Users: cfg.TaskUsers, Cgroup: cfg.Cgroup,
		Defaults: cfg.TaskLimits, Logger: logger.With(slog.String("component", "sandbox"))})
	if err != nil {
		return nil, fmt.Errorf("task isolation: %w", err)
	}
	metrics.SetHealth("isolation", sb.Describe())
	warnReadableByTasks(logger, sb, cfg)
	// Task helper sockets and the Node helper live in a folder of this
	// worker's own, removed when it stops. Tasks may pass through it (to
	// their own run's folder and the helper) but not list it.
	helperDir, err := os.MkdirTemp("", "schetask-worker-")
	if err != nil {
		return nil, fmt.Errorf("task helper folder: %w", err)
	}
	if err := os.Chmod(helperDir, 0o711); err != nil {
		return nil, fmt.Errorf("task helper folder: %w", err)
	}
	nodePath, err := taskhelper.InstallNode(helperDir)
	if err != nil {
		return nil, err
	}
	acts := &activities.Activities{
		Store:             st,
		Layout:            tasktype.Layout{Root: cfg.TasksDir},
		Host:              host,
		WorkerPID:         os.Getpid(),
		WorkerStartTicks:  ticks,
		KillGrace:         cfg.KillGrace,
		Drain:             cfg.Drain,
		HeartbeatInterval: min(time.Second, cfg.HeartbeatTimeout/3),
		TaskEnv:           cfg.TaskEnv,
		Alerts:            alerts,
		HelperDir:         helperDir,
		Sandbox:           sb,
		NodePath:          nodePath,
		PublishTargets:    targets,
		Temporal:          c,
		TaskQueue:         cfg.TaskQueue,
		ScheduleIDPrefix:  cfg.ScheduleIDPrefix,
		ChainWait:         cfg.ChainWait,
		Logger:            logger.With(slog.String("component", "activities")),
	}
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{
		// Cancellation reaches an activity with its heartbeat's answer:
		// send heartbeats at once so a kill lands within a second or two.
		MaxHeartbeatThrottleInterval:     time.Second,
		DefaultHeartbeatThrottleInterval: time.Second,
		// Running tasks get the drain time, then SIGTERM and the grace
		// period; then their results still go to Temporal.
		WorkerStopTimeout:                  cfg.Drain + cfg.KillGrace + 5*time.Second,
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentRuns,
		// The SDK's two pollers each fetch one workflow task at a time:
		// with 100 tasks due at one second the last run's row was written
		// 5.4 s after its fire (p99, n=100); with eight, 2.7 s.
		MaxConcurrentWorkflowTaskPollers: 8,
		MaxConcurrentActivityTaskPollers: 4,
	})
	w.RegisterWorkflow(workflows.RunTask)
	w.RegisterWorkflow(workflows.ChainGate)
	w.RegisterWorkflowWithOptions(notify.Workflow, workflow.RegisterOptions{Name: alert.NotifyWorkflow})
	w.RegisterActivity(acts)
	w.RegisterActivity(&notify.Deliverer{Channels: channels, Store: st, Logger: logger.With(slog.String("component", "notify"))})
	var names []string
	for _, ch := range channels {
		names = append(names, ch.Name())
	}
	logger.Info("alert channels", slog.Any("channels", names), slog.Any("publish_targets", targets.Names()))
	return &Worker{cfg: cfg, store: st, logger: logger.With(slog.String("component", "worker")),
		host: host, activities: acts, worker: w, helperDir: helperDir}, nil
}

// OfferCLI gives tasks the schetask binary as SCHETASK_BIN, so any
// language can run `"$SCHETASK_BIN" notify <message>`.
func (w *Worker) OfferCLI(path string) { w.activities.Executable = path }

// Run kills orphans left on this host, then polls for work until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	defer os.RemoveAll(w.helperDir)
	if _, err := w.ReapOrphans(ctx); err != nil {
		w.logger.Error("reap orphans", slog.Any("error", err))
	}
	if err := w.worker.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.worker.Stop()
	w.logger.Info("worker polling", slog.String("task_queue", w.cfg.TaskQueue), slog.String("host", w.host))
	t := time.NewTicker(w.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := w.ReapOrphans(ctx); err != nil {
				w.logger.Error("reap orphans", slog.Any("error", err))
			}
		}
	}
}
