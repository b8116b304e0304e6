// Package config reads schetask's configuration once, at start, from the
// environment, and validates it. No other package reads the environment.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything a schetask process needs to know about its world.
type Config struct {
	// DatabaseURL is the Postgres connection string (SCHETASK_DATABASE_URL).
	DatabaseURL string
	// TemporalAddress is the Temporal frontend host:port (SCHETASK_TEMPORAL_ADDRESS).
	TemporalAddress string
	// TemporalNamespace is the Temporal namespace (SCHETASK_TEMPORAL_NAMESPACE).
	TemporalNamespace string
	// TemporalUIURL is the base URL of Temporal Web, for links (SCHETASK_TEMPORAL_UI_URL).
	TemporalUIURL string
	// TaskQueue is the Temporal task queue the workers poll (SCHETASK_TASK_QUEUE).
	TaskQueue string
	// ScheduleIDPrefix starts every schedule id; a task's schedule is
	// prefix+name (SCHETASK_SCHEDULE_ID_PREFIX, default "task-").
	ScheduleIDPrefix string
	// TasksDir is the root of the task folders (SCHETASK_TASKS_DIR), absolute.
	TasksDir string
	// ListenAddr is where the console listens (SCHETASK_LISTEN).
	ListenAddr string

	// CatchupWindow is how late a fire may still start after an outage
	// (SCHETASK_CATCHUP_WINDOW); Temporal's own default is a year.
	CatchupWindow time.Duration
	// ResyncInterval is how often sync compares every task with Temporal
	// even when no change was notified (SCHETASK_RESYNC_INTERVAL).
	ResyncInterval time.Duration
	// HeartbeatTimeout is how long a run's exec activity may go silent
	// before Temporal declares its worker dead (SCHETASK_HEARTBEAT_TIMEOUT).
	HeartbeatTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL (SCHETASK_KILL_GRACE).
	KillGrace time.Duration
	// MaxRunDuration bounds a run whose task has no timeout; it is the
	// workflow-level backstop (SCHETASK_MAX_RUN_DURATION).
	MaxRunDuration time.Duration
	// ReapInterval is how often a worker looks for processes orphaned by a
	// dead worker on its host (SCHETASK_REAP_INTERVAL).
	ReapInterval time.Duration
	// MaxConcurrentRuns bounds how many task processes one worker runs at
	// once; more wait in Temporal for a free worker (SCHETASK_MAX_CONCURRENT_RUNS).
	MaxConcurrentRuns int
	// TaskEnv names worker environment variables passed through to tasks,
	// besides the fixed set (SCHETASK_TASK_ENV, comma separated).
	TaskEnv []string

	// DataDir holds the dev stack's Postgres cluster and Temporal database
	// (SCHETASK_DATA_DIR, dev only).
	DataDir string
	// DevPostgresPort and DevTemporalPort, DevTemporalUIPort are the dev
	// stack's ports (SCHETASK_DEV_PG_PORT, SCHETASK_DEV_TEMPORAL_PORT,
	// SCHETASK_DEV_TEMPORAL_UI_PORT).
	DevPostgresPort, DevTemporalPort, DevTemporalUIPort int
	// TemporalCLI is the temporal binary the dev stack runs (SCHETASK_TEMPORAL_CLI).
	TemporalCLI string
}

// Load reads the configuration from the environment via getenv (os.Getenv
// when nil) and validates it. Errors name the variable and say why.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	r := reader{getenv: getenv}
	c := Config{
		DatabaseURL:       r.str("SCHETASK_DATABASE_URL", ""),
		TemporalAddress:   r.str("SCHETASK_TEMPORAL_ADDRESS", "localhost:7233"),
		TemporalNamespace: r.str("SCHETASK_TEMPORAL_NAMESPACE", "default"),
		TemporalUIURL:     r.str("SCHETASK_TEMPORAL_UI_URL", "http://localhost:8233"),
		TaskQueue:         r.str("SCHETASK_TASK_QUEUE", "schetask"),
		ScheduleIDPrefix:  r.str("SCHETASK_SCHEDULE_ID_PREFIX", "task-"),
		TasksDir:          r.str("SCHETASK_TASKS_DIR", "task"),
		ListenAddr:        r.str("SCHETASK_LISTEN", "127.0.0.1:8080"),
		CatchupWindow:     r.duration("SCHETASK_CATCHUP_WINDOW", time.Minute),
		ResyncInterval:    r.duration("SCHETASK_RESYNC_INTERVAL", 30*time.Second),
		HeartbeatTimeout:  r.duration("SCHETASK_HEARTBEAT_TIMEOUT", 10*time.Second),
		KillGrace:         r.duration("SCHETASK_KILL_GRACE", 5*time.Second),
		MaxRunDuration:    r.duration("SCHETASK_MAX_RUN_DURATION", 24*time.Hour),
		ReapInterval:      r.duration("SCHETASK_REAP_INTERVAL", 10*time.Second),
		MaxConcurrentRuns: r.count("SCHETASK_MAX_CONCURRENT_RUNS", 100),
		TaskEnv:           r.list("SCHETASK_TASK_ENV"),
		DataDir:           r.str("SCHETASK_DATA_DIR", ".data"),
		DevPostgresPort:   r.port("SCHETASK_DEV_PG_PORT", 55432),
		DevTemporalPort:   r.port("SCHETASK_DEV_TEMPORAL_PORT", 7233),
		DevTemporalUIPort: r.port("SCHETASK_DEV_TEMPORAL_UI_PORT", 8233),
		TemporalCLI:       r.str("SCHETASK_TEMPORAL_CLI", "bin/temporal"),
	}
	if abs, err := filepath.Abs(c.TasksDir); err == nil {
		c.TasksDir = abs
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{
		{"SCHETASK_CATCHUP_WINDOW", c.CatchupWindow},
		{"SCHETASK_RESYNC_INTERVAL", c.ResyncInterval},
		{"SCHETASK_HEARTBEAT_TIMEOUT", c.HeartbeatTimeout},
		{"SCHETASK_MAX_RUN_DURATION", c.MaxRunDuration},
		{"SCHETASK_REAP_INTERVAL", c.ReapInterval},
	} {
		if d.val <= 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: must be positive, got %s", d.key, d.val))
		}
	}
	if c.HeartbeatTimeout < 2*time.Second {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_HEARTBEAT_TIMEOUT: must be at least 2s, got %s", c.HeartbeatTimeout))
	}
	if c.KillGrace < 0 {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_KILL_GRACE: must not be negative, got %s", c.KillGrace))
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// RequireDatabase reports an error when no database URL is configured.
func (c Config) RequireDatabase() error {
	if c.DatabaseURL == "" {
		return errors.New("config: SCHETASK_DATABASE_URL: not set (or use `schetask dev`, which starts its own Postgres)")
	}
	return nil
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a duration like 30s or 5m", key, v))
		return def
	}
	return d
}

func (r *reader) port(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a port number", key, v))
		return def
	}
	return n
}

func (r *reader) count(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive whole number", key, v))
		return def
	}
	return n
}

func (r *reader) list(key string) []string {
	var out []string
	for _, s := range strings.Split(r.getenv(key), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
