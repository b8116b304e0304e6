package tasksync

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Defaults of the Config fields left zero.
const (
	ScheduleIDPrefixDefault = "task-"
	ResyncIntervalDefault   = 30 * time.Second
	ConcurrencyDefault      = 8
	CatchupWindowDefault    = time.Minute
	HeartbeatTimeoutDefault = 10 * time.Second
	MaxRunDurationDefault   = 24 * time.Hour
)

// MinHeartbeatTimeout is the shortest HeartbeatTimeout: the exec activity
// heartbeats every second at most, and must get more than one in.
const MinHeartbeatTimeout = 2 * time.Second

// Config is what sync reads: where runs go, how schedules are named and
// how often they are checked, and the run settings each schedule carries.
// New fills the zero fields with defaults (WithDefaults) and rejects the
// rest of what is wrong.
type Config struct {
	// TaskQueue is the Temporal task queue the schedules start RunTask on.
	// Required.
	TaskQueue string
	// ScheduleIDPrefix starts every schedule id; a task's schedule is
	// prefix+name, and schedules without the prefix are not sync's.
	ScheduleIDPrefix string
	// ResyncInterval is how often every task is compared with Temporal
	// even when no change was notified.
	ResyncInterval time.Duration
	// Concurrency is how many tasks are reconciled at once.
	Concurrency int
	// CatchupWindow is how late a fire may still start after an outage.
	CatchupWindow time.Duration
	// HeartbeatTimeout, KillGrace and MaxRunDuration go into each run's
	// RunTaskInput: how long the exec activity may go silent, the time
	// between SIGTERM and SIGKILL (0 kills at once), and the backstop of a
	// task without a timeout.
	HeartbeatTimeout time.Duration
	KillGrace        time.Duration
	MaxRunDuration   time.Duration
}

// WithDefaults returns c with its zero fields set to their defaults.
// KillGrace has none: 0 is a setting of its own.
func (c Config) WithDefaults() Config {
	c.ScheduleIDPrefix = cmp.Or(c.ScheduleIDPrefix, ScheduleIDPrefixDefault)
	c.ResyncInterval = cmp.Or(c.ResyncInterval, ResyncIntervalDefault)
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.CatchupWindow = cmp.Or(c.CatchupWindow, CatchupWindowDefault)
	c.HeartbeatTimeout = cmp.Or(c.HeartbeatTimeout, HeartbeatTimeoutDefault)
	c.MaxRunDuration = cmp.Or(c.MaxRunDuration, MaxRunDurationDefault)
	return c
}

// validate reports every field that is wrong, naming it and saying why.
func (c Config) validate() error {
	var errs []error
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("sync config: TaskQueue: required"))
	}
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"ResyncInterval", c.ResyncInterval}, {"CatchupWindow", c.CatchupWindow}, {"MaxRunDuration", c.MaxRunDuration}} {
		if d.val <= 0 {
			errs = append(errs, fmt.Errorf("sync config: %s: must be positive, got %s", d.field, d.val))
		}
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("sync config: Concurrency: must be at least 1, got %d", c.Concurrency))
	}
	if c.HeartbeatTimeout < MinHeartbeatTimeout {
		errs = append(errs, fmt.Errorf("sync config: HeartbeatTimeout: must be at least %s, got %s", MinHeartbeatTimeout, c.HeartbeatTimeout))
	}
	if c.KillGrace < 0 {
		errs = append(errs, fmt.Errorf("sync config: KillGrace: must not be negative, got %s", c.KillGrace))
	}
	return errors.Join(errs...)
}
