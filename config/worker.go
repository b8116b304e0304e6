package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// loadWorker reads how a worker runs tasks: the tasks folder (made
// absolute), how runs are watched, bounded and stopped, what they see of
// the worker's environment, and where they publish.
func loadWorker(r *reader, c *Config) {
	c.TasksDir = r.str("SCHETASK_TASKS_DIR", "task")
	if abs, err := filepath.Abs(c.TasksDir); err == nil {
		c.TasksDir = abs
	}
	c.HeartbeatTimeout = r.duration("SCHETASK_HEARTBEAT_TIMEOUT", 10*time.Second)
	c.KillGrace = r.duration("SCHETASK_KILL_GRACE", 5*time.Second)
	c.WorkerDrain = r.duration("SCHETASK_WORKER_DRAIN", 10*time.Second)
	c.MaxRunDuration = r.duration("SCHETASK_MAX_RUN_DURATION", 24*time.Hour)
	c.ReapInterval = r.duration("SCHETASK_REAP_INTERVAL", 10*time.Second)
	c.ChainWait = r.duration("SCHETASK_CHAIN_WAIT", 24*time.Hour)
	c.MaxConcurrentRuns = r.count("SCHETASK_MAX_CONCURRENT_RUNS", 100)
	c.TaskEnv = r.list("SCHETASK_TASK_ENV")
	c.PublishTargets = r.str("SCHETASK_PUBLISH_TARGETS", "")
	r.positive("SCHETASK_HEARTBEAT_TIMEOUT", c.HeartbeatTimeout)
	r.positive("SCHETASK_MAX_RUN_DURATION", c.MaxRunDuration)
	r.positive("SCHETASK_REAP_INTERVAL", c.ReapInterval)
	r.positive("SCHETASK_CHAIN_WAIT", c.ChainWait)
	if c.HeartbeatTimeout < 2*time.Second {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_HEARTBEAT_TIMEOUT: must be at least 2s, got %s", c.HeartbeatTimeout))
	}
	r.notNegative("SCHETASK_KILL_GRACE", c.KillGrace)
	r.notNegative("SCHETASK_WORKER_DRAIN", c.WorkerDrain)
}

// loadIsolation reads how runs are kept apart: the users tasks run as,
// cgroups, and the default limits.
func loadIsolation(r *reader, c *Config) {
	c.TaskUser = r.str("SCHETASK_TASK_USER", "schetask-task")
	c.TaskUsers = r.list("SCHETASK_TASK_USERS")
	c.Cgroup = r.str("SCHETASK_CGROUP", "auto")
	c.TaskLimits = tasktype.Limits{
		MemoryMB: int64(r.whole("SCHETASK_TASK_MEMORY_LIMIT", 0)),
		CPU:      r.float("SCHETASK_TASK_CPU_LIMIT", 0),
		Pids:     int64(r.whole("SCHETASK_TASK_PIDS_LIMIT", 4096)),
	}
	if c.Cgroup != "auto" && c.Cgroup != "off" {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_CGROUP: %q: want auto or off", c.Cgroup))
	}
	if err := tasktype.ValidateUserName(c.TaskUser); err != nil {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_TASK_USER: %w", err))
	}
	for _, u := range c.TaskUsers {
		if err := tasktype.ValidateUserName(u); err != nil {
			r.errs = append(r.errs, fmt.Errorf("SCHETASK_TASK_USERS: %w", err))
		}
	}
	if err := c.TaskLimits.Validate(); err != nil {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_TASK_MEMORY_LIMIT, SCHETASK_TASK_CPU_LIMIT, SCHETASK_TASK_PIDS_LIMIT: %w", err))
	}
}
