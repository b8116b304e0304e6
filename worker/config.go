package worker

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/notify"
	"github.com/schetask/schetask/tasktype"
)

// Defaults of the Config fields left zero.
const (
	HeartbeatTimeoutDefault  = 10 * time.Second
	ReapIntervalDefault      = 10 * time.Second
	MaxConcurrentRunsDefault = 100
	TaskUserDefault          = "schetask-task"
	CgroupDefault            = "auto"
	ScheduleIDPrefixDefault  = "task-"
	ChainWaitDefault         = 24 * time.Hour
)

// MinHeartbeatTimeout is the shortest HeartbeatTimeout: the exec activity
// heartbeats every second at most, and must get more than one in.
const MinHeartbeatTimeout = 2 * time.Second

// Config is what a worker reads: its queue and tasks folder, how runs are
// watched, stopped and isolated, where they publish, and the alert
// channels and raiser of the runs' alerts. New fills the zero fields with
// defaults (WithDefaults) and rejects the rest of what is wrong.
type Config struct {
	// TaskQueue is the Temporal task queue the worker polls. Required.
	TaskQueue string
	// TasksDir is the root of the task folders. Required.
	TasksDir string
	// HeartbeatTimeout is how long a run's exec activity may go silent
	// before Temporal declares its worker dead; the activity heartbeats at
	// a third of it, at most once a second.
	HeartbeatTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL; 0 kills at once.
	KillGrace time.Duration
	// Drain is how long a stopping worker lets its running tasks go on
	// before it stops them; 0 stops them at once.
	Drain time.Duration
	// ReapInterval is how often the worker looks for processes orphaned by
	// a dead worker on its host.
	ReapInterval time.Duration
	// MaxConcurrentRuns bounds how many task processes the worker runs at
	// once; more wait in Temporal for a free worker.
	MaxConcurrentRuns int
	// TaskEnv names worker environment variables passed through to tasks,
	// besides the fixed set.
	TaskEnv []string
	// TaskUser is the user tasks run as when the worker can switch users;
	// TaskUsers are the other users a task's run_as may name.
	TaskUser  string
	TaskUsers []string
	// Cgroup is "auto" (each run in a cgroup of its own, where the host
	// lets the worker make one) or "off" (process groups only).
	Cgroup string
	// TaskLimits are the limits of tasks whose row sets none (0 = none).
	TaskLimits tasktype.Limits
	// SecretSources are the files secrets were read from, which the worker
	// warns about at start when a task could read them.
	SecretSources []string
	// PublishTargets are the roots tasks publish to, as name=/folder
	// pairs separated by commas.
	PublishTargets string
	// Channels are the alert channels this worker delivers through.
	Channels notify.Config
	// ScheduleIDPrefix starts the tasks' schedule ids (sync's), which the
	// worker reads the input of chained runs from, and the chain's
	// workflow ids.
	ScheduleIDPrefix string
	// ChainWait is how long a downstream task's gate waits, past its
	// logical date's period, for upstreams that have not reported.
	ChainWait time.Duration
	// Alerts configures the raiser of the runs' alerts. Its TaskQueue
	// defaults to TaskQueue, where this worker runs Notify, and its
	// Channels to Channels.ChannelNames(); NewRaiser gives the rest their
	// defaults.
	Alerts alert.Config
}

// WithDefaults returns c with its zero fields set to their defaults.
// KillGrace, Drain and TaskLimits have none: 0 is a setting of its own.
func (c Config) WithDefaults() Config {
	c.Alerts.TaskQueue = cmp.Or(c.Alerts.TaskQueue, c.TaskQueue)
	if c.Alerts.Channels == nil {
		c.Alerts.Channels = c.Channels.ChannelNames()
	}
	c.HeartbeatTimeout = cmp.Or(c.HeartbeatTimeout, HeartbeatTimeoutDefault)
	c.ReapInterval = cmp.Or(c.ReapInterval, ReapIntervalDefault)
	c.MaxConcurrentRuns = cmp.Or(c.MaxConcurrentRuns, MaxConcurrentRunsDefault)
	c.TaskUser = cmp.Or(c.TaskUser, TaskUserDefault)
	c.Cgroup = cmp.Or(c.Cgroup, CgroupDefault)
	c.ScheduleIDPrefix = cmp.Or(c.ScheduleIDPrefix, ScheduleIDPrefixDefault)
	c.ChainWait = cmp.Or(c.ChainWait, ChainWaitDefault)
	return c
}

// validate reports every field that is wrong, naming it and saying why.
// The task users and limits are checked where the sandbox is made.
func (c Config) validate() error {
	var errs []error
	for _, r := range []struct{ field, val string }{{"TaskQueue", c.TaskQueue}, {"TasksDir", c.TasksDir}} {
		if r.val == "" {
			errs = append(errs, fmt.Errorf("worker config: %s: required", r.field))
		}
	}
	if c.HeartbeatTimeout < MinHeartbeatTimeout {
		errs = append(errs, fmt.Errorf("worker config: HeartbeatTimeout: must be at least %s, got %s", MinHeartbeatTimeout, c.HeartbeatTimeout))
	}
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"KillGrace", c.KillGrace}, {"Drain", c.Drain}} {
		if d.val < 0 {
			errs = append(errs, fmt.Errorf("worker config: %s: must not be negative, got %s", d.field, d.val))
		}
	}
	if c.ReapInterval <= 0 {
		errs = append(errs, fmt.Errorf("worker config: ReapInterval: must be positive, got %s", c.ReapInterval))
	}
	if c.ChainWait < 0 {
		errs = append(errs, fmt.Errorf("worker config: ChainWait: must not be negative, got %s", c.ChainWait))
	}
	if c.MaxConcurrentRuns < 1 {
		errs = append(errs, fmt.Errorf("worker config: MaxConcurrentRuns: must be at least 1, got %d", c.MaxConcurrentRuns))
	}
	if c.Cgroup != "auto" && c.Cgroup != "off" {
		errs = append(errs, fmt.Errorf("worker config: Cgroup: %q: want auto or off", c.Cgroup))
	}
	return errors.Join(errs...)
}
