// Package config reads schetask's configuration once, at start, from the
// environment, and validates it. No other package reads the environment.
//
// Load reads it section by section, one function each: the database's
// here, the others in the file named for them (temporal.go, sync.go,
// worker.go with isolation, console.go with metrics, alerts.go with the
// channels, retention.go, dev.go). Every error names the variable and
// says why. The services do not take Config itself: each has a Config of
// its own, which internal/serviceconfig fills from this one.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// Config is everything a schetask process needs to know about its world.
type Config struct {
	// Env names the environment whose file was read (SCHETASK_ENV).
	Env string
	// Files are the environment files read, in order.
	Files []string

	// DatabaseURL is the Postgres connection string (SCHETASK_DATABASE_URL).
	DatabaseURL string
	// TemporalAddress is the Temporal frontend host:port (SCHETASK_TEMPORAL_ADDRESS).
	TemporalAddress string
	// TemporalNamespace is the Temporal namespace (SCHETASK_TEMPORAL_NAMESPACE).
	TemporalNamespace string
	// TemporalUIURL is the base URL of Temporal Web, for links (SCHETASK_TEMPORAL_UI_URL).
	TemporalUIURL string
	// TemporalTLS connects to Temporal over TLS, with a client certificate
	// for mTLS (SCHETASK_TEMPORAL_TLS_*).
	TemporalTLS TemporalTLS
	// TemporalAPIKey authenticates to Temporal Cloud; it implies TLS
	// (SCHETASK_TEMPORAL_API_KEY or _FILE).
	TemporalAPIKey Secret
	// TaskQueue is the Temporal task queue the workers poll (SCHETASK_TASK_QUEUE).
	TaskQueue string
	// ScheduleIDPrefix starts every schedule id; a task's schedule is
	// prefix+name (SCHETASK_SCHEDULE_ID_PREFIX, default "task-").
	ScheduleIDPrefix string
	// TasksDir is the root of the task folders (SCHETASK_TASKS_DIR), absolute.
	TasksDir string
	// ListenAddr is where the console listens (SCHETASK_LISTEN).
	ListenAddr string
	// MetricsAddr is where every process serves Prometheus metrics on
	// /metrics (SCHETASK_METRICS_LISTEN; "off" serves none).
	MetricsAddr string

	// CatchupWindow is how late a fire may still start after an outage
	// (SCHETASK_CATCHUP_WINDOW); Temporal's own default is a year.
	CatchupWindow time.Duration
	// ResyncInterval is how often sync compares every task with Temporal
	// even when no change was notified (SCHETASK_RESYNC_INTERVAL).
	ResyncInterval time.Duration
	// SyncConcurrency is how many tasks sync reconciles at once
	// (SCHETASK_SYNC_CONCURRENCY).
	SyncConcurrency int
	// HeartbeatTimeout is how long a run's exec activity may go silent
	// before Temporal declares its worker dead (SCHETASK_HEARTBEAT_TIMEOUT).
	HeartbeatTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL (SCHETASK_KILL_GRACE).
	KillGrace time.Duration
	// WorkerDrain is how long a stopping worker (SIGTERM, Ctrl-C) lets its
	// running tasks go on before it stops them (SCHETASK_WORKER_DRAIN).
	WorkerDrain time.Duration
	// MaxRunDuration bounds a run whose task has no timeout; it is the
	// workflow-level backstop (SCHETASK_MAX_RUN_DURATION).
	MaxRunDuration time.Duration
	// ReapInterval is how often a worker looks for processes orphaned by a
	// dead worker on its host (SCHETASK_REAP_INTERVAL).
	ReapInterval time.Duration
	// ChainWait is how long a task that runs after others waits, past its
	// logical date's period, for upstreams that have not reported before
	// it says it will not run (SCHETASK_CHAIN_WAIT, default 24h).
	ChainWait time.Duration
	// MaxConcurrentRuns bounds how many task processes one worker runs at
	// once; more wait in Temporal for a free worker (SCHETASK_MAX_CONCURRENT_RUNS).
	MaxConcurrentRuns int
	// TaskEnv names worker environment variables passed through to tasks,
	// besides the fixed set (SCHETASK_TASK_ENV, comma separated).
	TaskEnv []string
	// TaskUser is the user tasks run as when the worker can switch users
	// (SCHETASK_TASK_USER, default schetask-task).
	TaskUser string
	// TaskUsers are the other users a task's run_as may name
	// (SCHETASK_TASK_USERS, comma separated).
	TaskUsers []string
	// Cgroup is "auto" (each run in a cgroup of its own, where the host
	// lets the worker make one) or "off" (process groups only) (SCHETASK_CGROUP).
	Cgroup string
	// TaskLimits are the limits of tasks whose row sets none
	// (SCHETASK_TASK_MEMORY_LIMIT in MiB, SCHETASK_TASK_CPU_LIMIT in cores,
	// SCHETASK_TASK_PIDS_LIMIT; 0 = none).
	TaskLimits tasktype.Limits
	// SecretSources are the files secrets were read from (environment
	// files that set one, and *_FILE files), which tasks must not read.
	SecretSources []string

	// ConsoleURL is the console's public base URL, for links in alerts
	// (SCHETASK_CONSOLE_URL, default http://<SCHETASK_LISTEN>).
	ConsoleURL string
	// AlertRepeatInterval is the repeat limit: at most one alert per task
	// and topic per this long (SCHETASK_ALERT_REPEAT_INTERVAL).
	AlertRepeatInterval time.Duration
	// AlertRetryMaxInterval caps the wait between two delivery tries of a
	// channel (SCHETASK_ALERT_RETRY_MAX_INTERVAL).
	AlertRetryMaxInterval time.Duration
	// AlertGiveUpAfter is how long a channel is retried before its
	// delivery is given up (SCHETASK_ALERT_GIVE_UP_AFTER).
	AlertGiveUpAfter time.Duration
	// KeepRuns is how many newest runs a task keeps when its row says
	// nothing (SCHETASK_KEEP_RUNS; 0, the default, is no count limit).
	KeepRuns int
	// KeepDays is how many days of runs a task keeps when its row says
	// nothing (SCHETASK_KEEP_DAYS, default 30; 0 is no age limit).
	KeepDays int
	// KeepAuditDays is how many days of console audit rows are kept
	// (SCHETASK_KEEP_AUDIT_DAYS, default 365; 0 keeps them all).
	KeepAuditDays int
	// JanitorInterval is how often the janitor deletes what retention
	// lets go (SCHETASK_JANITOR_INTERVAL).
	JanitorInterval time.Duration
	// MissedGrace is how late a run may start before it counts as missed
	// (SCHETASK_MISSED_GRACE).
	MissedGrace time.Duration
	// MonitorInterval is how often the missed-run check runs
	// (SCHETASK_MONITOR_INTERVAL).
	MonitorInterval time.Duration
	// Slack, Email and Webhook are the alert channels; a channel is on
	// when its address is set.
	Slack   SlackConfig
	Email   EmailConfig
	Webhook WebhookConfig
	// AdminPassword is the password of the console's first admin, created
	// when there is no user yet (SCHETASK_ADMIN_PASSWORD or _FILE); when
	// unset, one is generated and printed once.
	AdminPassword Secret
	// WebhookAllowPrivate lets webhooks reach loopback, private, link-local
	// and metadata addresses (SCHETASK_WEBHOOK_ALLOW_PRIVATE; off by default).
	WebhookAllowPrivate bool
	// MetricsToken, when set, is the bearer token /metrics asks for
	// (SCHETASK_METRICS_TOKEN or _FILE); /healthz stays open.
	MetricsToken Secret
	// SessionIdle ends a console session unused this long
	// (SCHETASK_SESSION_IDLE); SessionMaxAge ends any session this long
	// after its login, used or not (SCHETASK_SESSION_MAX_AGE).
	SessionIdle, SessionMaxAge time.Duration
	// OIDC is single sign-on with an OpenID Connect provider; on when
	// its issuer is set.
	OIDC OIDCConfig
	// APIRate is how many requests one API token may make a minute
	// (SCHETASK_API_RATE, default 600); more are answered 429.
	APIRate int
	// BackfillMax is the most fires one backfill may start
	// (SCHETASK_BACKFILL_MAX, default 1000); a longer range is refused
	// with its count.
	BackfillMax int
	// PublishTargets are the roots tasks publish to, as name=/folder pairs
	// (SCHETASK_PUBLISH_TARGETS, e.g. "pre=/resources/pre,prod=/resources/autostatic").
	PublishTargets string

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

// Load reads the configuration and validates it. With getenv nil it reads
// the process environment over the environment files that
// SCHETASK_CONFIG_DIR (default deploy/config) and SCHETASK_ENV select:
// default.env, then <SCHETASK_ENV>.env; with getenv set, only getenv.
// Errors name the variable (and the file line) and say why.
func Load(getenv func(string) string) (Config, error) {
	if getenv != nil {
		return load(getenv, nil)
	}
	files, err := loadFiles(os.LookupEnv)
	if files == nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, lerr := loadLayered(files)
	if err != nil || lerr != nil {
		return Config{}, fmt.Errorf("config: %w", errors.Join(err, lerr))
	}
	return c, nil
}

// loadLayered loads from environment files under the environment.
func loadLayered(files *layered) (Config, error) { return load(files.get, files) }

// sections read the configuration, each its own settings and the checks
// on them; a setting whose default comes from another (the console URL
// from the listen address) is read in that setting's section.
var sections = []func(r *reader, c *Config){
	loadDatabase, loadTemporal, loadSync, loadWorker, loadIsolation,
	loadConsole, loadMetrics, loadAlerts, loadChannels, loadRetention, loadDevStack,
}

// load reads every setting through getenv; files, when set, are checked
// for settings nobody read.
func load(getenv func(string) string, files *layered) (Config, error) {
	read := map[string]bool{"SCHETASK_ENV": true, "SCHETASK_CONFIG_DIR": true}
	r := &reader{getenv: func(key string) string {
		read[key] = true
		return getenv(key)
	}}
	c := Config{Env: r.str("SCHETASK_ENV", "")}
	for _, section := range sections {
		section(r, &c)
	}
	c.SecretSources = r.secretSources(files)
	if files != nil {
		c.Files = files.files
		// Say which file line a bad value came from.
		for i, err := range r.errs {
			key, _, _ := strings.Cut(err.Error(), ":")
			if where := files.where(key); where != "" {
				r.errs[i] = fmt.Errorf("%s: %w", where, err)
			}
		}
		if err := files.unknown(read); err != nil {
			r.errs = append(r.errs, err)
		}
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// loadDatabase reads the Postgres connection string. A password in it
// makes the file that sets it a secret source.
func loadDatabase(r *reader, c *Config) {
	c.DatabaseURL = r.str("SCHETASK_DATABASE_URL", "")
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			r.secretKeys = append(r.secretKeys, "SCHETASK_DATABASE_URL")
		}
	}
}

// RequireDatabase reports an error when no database URL is configured.
func (c Config) RequireDatabase() error {
	if c.DatabaseURL == "" {
		return errors.New("config: SCHETASK_DATABASE_URL: not set (or use `schetask dev`, which starts its own Postgres)")
	}
	return nil
}

// secretSources are the files secrets were read from: the *_FILE files,
// then the environment files that set a secret.
func (r *reader) secretSources(files *layered) []string {
	out := r.secretFiles
	if files == nil {
		return out
	}
	for _, key := range r.secretKeys {
		if where := files.where(key); where != "" {
			file, _, _ := strings.Cut(where, ":")
			if !slices.Contains(out, file) {
				out = append(out, file)
			}
		}
	}
	return out
}
