// Package activities holds a run's side effects, each a Temporal activity:
// the start hook (StartRun), the task's process (ExecTask) with its log
// capture and task helper, the end hook (FinishRun) with the publish
// archive, and the alerts of a run's outcome. The
// workflows package calls them only through Temporal.
package activities

import (
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/publish"
	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// Activities holds what the activities need. Register one value with the
// worker; workflows refer to its methods through a nil *Activities.
type Activities struct {
	Store  *store.Store
	Layout tasktype.Layout
	// Host names this machine in run rows, for finding orphans.
	Host string
	// WorkerPID and WorkerStartTicks identify this worker process.
	WorkerPID        int
	WorkerStartTicks uint64
	// KillGrace is the time between SIGTERM and SIGKILL.
	KillGrace time.Duration
	// Drain is how long a running task may go on after its worker is asked
	// to stop, before it is stopped.
	Drain time.Duration
	// HeartbeatInterval is how often ExecTask heartbeats.
	HeartbeatInterval time.Duration
	// TaskEnv names worker environment variables passed through to tasks.
	TaskEnv []string
	// Getenv reads the worker's environment for TaskEnv (os.Getenv when nil).
	Getenv func(string) string
	// Alerts raises the alerts of runs; nil logs them only.
	Alerts AlertRaiser
	// HelperDir holds the runs' task helper sockets; "" turns the helper off.
	HelperDir string
	// NodePath is put first on a task's NODE_PATH (the Node helper's folder).
	NodePath string
	// Executable is the schetask binary, offered to tasks as SCHETASK_BIN
	// for `"$SCHETASK_BIN" notify ...` from any language.
	Executable string
	// Sandbox makes each run's boundary: its user, cgroup and limits.
	Sandbox *sandbox.Sandbox
	// PublishTargets are the roots a task may publish to.
	PublishTargets publish.Targets
	// Temporal starts chained runs and signals chain gates; TaskQueue is
	// where the gates run, ScheduleIDPrefix starts the tasks' schedule ids
	// (and the chain's workflow ids).
	Temporal         client.Client
	TaskQueue        string
	ScheduleIDPrefix string
	// ChainWait is how long a gate waits past its logical date's period
	// for upstreams that have not reported (DefaultChainWait when 0).
	ChainWait time.Duration
	Logger    *slog.Logger
}

func (a *Activities) getenv(key string) string {
	if a.Getenv != nil {
		return a.Getenv(key)
	}
	return os.Getenv(key)
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
