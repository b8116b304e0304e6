// Package config reads schetask's configuration once, at start, from the
// environment, and validates it. No other package reads the environment.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// load reads every setting through getenv; files, when set, are checked
// for settings nobody read.
func load(getenv func(string) string, files *layered) (Config, error) {
	read := map[string]bool{"SCHETASK_ENV": true, "SCHETASK_CONFIG_DIR": true}
	r := reader{getenv: func(key string) string {
		read[key] = true
		return getenv(key)
	}}
	c := Config{
		Env:               r.str("SCHETASK_ENV", ""),
		DatabaseURL:       r.str("SCHETASK_DATABASE_URL", ""),
		TemporalAddress:   r.str("SCHETASK_TEMPORAL_ADDRESS", "localhost:7233"),
		TemporalNamespace: r.str("SCHETASK_TEMPORAL_NAMESPACE", "default"),
		TemporalUIURL:     r.str("SCHETASK_TEMPORAL_UI_URL", "http://localhost:8233"),
		TaskQueue:         r.str("SCHETASK_TASK_QUEUE", "schetask"),
		ScheduleIDPrefix:  r.str("SCHETASK_SCHEDULE_ID_PREFIX", "task-"),
		TasksDir:          r.str("SCHETASK_TASKS_DIR", "task"),
		ListenAddr:        r.str("SCHETASK_LISTEN", "127.0.0.1:8080"),
		MetricsAddr:       r.str("SCHETASK_METRICS_LISTEN", "127.0.0.1:9464"),
		CatchupWindow:     r.duration("SCHETASK_CATCHUP_WINDOW", time.Minute),
		ResyncInterval:    r.duration("SCHETASK_RESYNC_INTERVAL", 30*time.Second),
		HeartbeatTimeout:  r.duration("SCHETASK_HEARTBEAT_TIMEOUT", 10*time.Second),
		KillGrace:         r.duration("SCHETASK_KILL_GRACE", 5*time.Second),
		WorkerDrain:       r.duration("SCHETASK_WORKER_DRAIN", 10*time.Second),
		MaxRunDuration:    r.duration("SCHETASK_MAX_RUN_DURATION", 24*time.Hour),
		ReapInterval:      r.duration("SCHETASK_REAP_INTERVAL", 10*time.Second),
		MaxConcurrentRuns: r.count("SCHETASK_MAX_CONCURRENT_RUNS", 100),
		SyncConcurrency:   r.count("SCHETASK_SYNC_CONCURRENCY", 8),
		TaskEnv:           r.list("SCHETASK_TASK_ENV"),
		TaskUser:          r.str("SCHETASK_TASK_USER", "schetask-task"),
		TaskUsers:         r.list("SCHETASK_TASK_USERS"),
		Cgroup:            r.str("SCHETASK_CGROUP", "auto"),
		TaskLimits: tasktype.Limits{
			MemoryMB: int64(r.whole("SCHETASK_TASK_MEMORY_LIMIT", 0)),
			CPU:      r.float("SCHETASK_TASK_CPU_LIMIT", 0),
			Pids:     int64(r.whole("SCHETASK_TASK_PIDS_LIMIT", 4096)),
		},
		AlertRepeatInterval:   r.duration("SCHETASK_ALERT_REPEAT_INTERVAL", 30*time.Minute),
		AlertRetryMaxInterval: r.duration("SCHETASK_ALERT_RETRY_MAX_INTERVAL", time.Minute),
		AlertGiveUpAfter:      r.duration("SCHETASK_ALERT_GIVE_UP_AFTER", 24*time.Hour),
		MissedGrace:           r.duration("SCHETASK_MISSED_GRACE", time.Minute),
		MonitorInterval:       r.duration("SCHETASK_MONITOR_INTERVAL", 5*time.Second),
		Slack: SlackConfig{
			Token:      r.secret("SCHETASK_SLACK_TOKEN"),
			WebhookURL: r.secret("SCHETASK_SLACK_WEBHOOK_URL"),
			Channel:    r.str("SCHETASK_SLACK_CHANNEL", ""),
			APIURL:     r.str("SCHETASK_SLACK_API_URL", ""),
		},
		Email: EmailConfig{
			Addr:     r.str("SCHETASK_SMTP_ADDR", ""),
			Username: r.str("SCHETASK_SMTP_USERNAME", ""),
			Password: r.secret("SCHETASK_SMTP_PASSWORD"),
			From:     r.str("SCHETASK_SMTP_FROM", ""),
			TLS:      r.str("SCHETASK_SMTP_TLS", "starttls"),
			CAFile:   r.str("SCHETASK_SMTP_CA_FILE", ""),
			To:       r.list("SCHETASK_ALERT_EMAIL_TO"),
		},
		Webhook: WebhookConfig{
			URL:    r.str("SCHETASK_WEBHOOK_URL", ""),
			Secret: r.secret("SCHETASK_WEBHOOK_SECRET"),
		},
		WebhookAllowPrivate: r.boolean("SCHETASK_WEBHOOK_ALLOW_PRIVATE", false),
		MetricsToken:        r.secret("SCHETASK_METRICS_TOKEN"),
		SessionIdle:         r.duration("SCHETASK_SESSION_IDLE", 12*time.Hour),
		SessionMaxAge:       r.duration("SCHETASK_SESSION_MAX_AGE", 7*24*time.Hour),
		OIDC: OIDCConfig{
			Issuer:       r.str("SCHETASK_OIDC_ISSUER", ""),
			ClientID:     r.str("SCHETASK_OIDC_CLIENT_ID", ""),
			ClientSecret: r.secret("SCHETASK_OIDC_CLIENT_SECRET"),
			RedirectURL:  r.str("SCHETASK_OIDC_REDIRECT_URL", ""),
			GroupsClaim:  r.str("SCHETASK_OIDC_GROUPS_CLAIM", "groups"),
			Roles:        r.list("SCHETASK_OIDC_ROLES"),
			DefaultRole:  r.str("SCHETASK_OIDC_DEFAULT_ROLE", ""),
			Only:         r.boolean("SCHETASK_OIDC_ONLY", false),
		},
		PublishTargets:    r.str("SCHETASK_PUBLISH_TARGETS", ""),
		DataDir:           r.str("SCHETASK_DATA_DIR", ".data"),
		DevPostgresPort:   r.port("SCHETASK_DEV_PG_PORT", 55432),
		DevTemporalPort:   r.port("SCHETASK_DEV_TEMPORAL_PORT", 7233),
		DevTemporalUIPort: r.port("SCHETASK_DEV_TEMPORAL_UI_PORT", 8233),
		TemporalCLI:       r.str("SCHETASK_TEMPORAL_CLI", "bin/temporal"),
		AdminPassword:     r.secret("SCHETASK_ADMIN_PASSWORD"),
		TemporalTLS: TemporalTLS{
			CertFile:   r.str("SCHETASK_TEMPORAL_TLS_CERT", ""),
			KeyFile:    r.str("SCHETASK_TEMPORAL_TLS_KEY", ""),
			CAFile:     r.str("SCHETASK_TEMPORAL_TLS_CA", ""),
			ServerName: r.str("SCHETASK_TEMPORAL_TLS_SERVER_NAME", ""),
		},
		TemporalAPIKey: r.secret("SCHETASK_TEMPORAL_API_KEY"),
	}
	if (c.TemporalTLS.CertFile == "") != (c.TemporalTLS.KeyFile == "") {
		r.errs = append(r.errs, errors.New("SCHETASK_TEMPORAL_TLS_CERT and SCHETASK_TEMPORAL_TLS_KEY: set both for mTLS, or neither"))
	}
	for key, f := range map[string]string{"SCHETASK_TEMPORAL_TLS_CERT": c.TemporalTLS.CertFile,
		"SCHETASK_TEMPORAL_TLS_KEY": c.TemporalTLS.KeyFile, "SCHETASK_TEMPORAL_TLS_CA": c.TemporalTLS.CAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	c.ConsoleURL = strings.TrimRight(r.str("SCHETASK_CONSOLE_URL", "http://"+c.ListenAddr), "/")
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
		{"SCHETASK_ALERT_REPEAT_INTERVAL", c.AlertRepeatInterval},
		{"SCHETASK_ALERT_RETRY_MAX_INTERVAL", c.AlertRetryMaxInterval},
		{"SCHETASK_ALERT_GIVE_UP_AFTER", c.AlertGiveUpAfter},
		{"SCHETASK_MISSED_GRACE", c.MissedGrace},
		{"SCHETASK_MONITOR_INTERVAL", c.MonitorInterval},
		{"SCHETASK_SESSION_IDLE", c.SessionIdle},
		{"SCHETASK_SESSION_MAX_AGE", c.SessionMaxAge},
	} {
		if d.val <= 0 {
			r.errs = append(r.errs, fmt.Errorf("%s: must be positive, got %s", d.key, d.val))
		}
	}
	if c.HeartbeatTimeout < 2*time.Second {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_HEARTBEAT_TIMEOUT: must be at least 2s, got %s", c.HeartbeatTimeout))
	}
	if c.Email.Enabled() && c.Email.From == "" {
		r.errs = append(r.errs, errors.New("SCHETASK_SMTP_FROM: required when SCHETASK_SMTP_ADDR is set"))
	}
	if c.OIDC.Enabled() && (c.OIDC.ClientID == "" || c.OIDC.RedirectURL == "") {
		r.errs = append(r.errs, errors.New("SCHETASK_OIDC_CLIENT_ID and SCHETASK_OIDC_REDIRECT_URL: required when SCHETASK_OIDC_ISSUER is set"))
	}
	if c.OIDC.Only && !c.OIDC.Enabled() {
		r.errs = append(r.errs, errors.New("SCHETASK_OIDC_ONLY: needs SCHETASK_OIDC_ISSUER"))
	}
	if c.SessionMaxAge < c.SessionIdle {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_SESSION_MAX_AGE: %s is shorter than SCHETASK_SESSION_IDLE %s", c.SessionMaxAge, c.SessionIdle))
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
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			r.secretKeys = append(r.secretKeys, "SCHETASK_DATABASE_URL")
		}
	}
	c.SecretSources = r.secretFiles
	if files != nil {
		for _, key := range r.secretKeys {
			if where := files.where(key); where != "" {
				file, _, _ := strings.Cut(where, ":")
				if !slices.Contains(c.SecretSources, file) {
					c.SecretSources = append(c.SecretSources, file)
				}
			}
		}
	}
	if c.KillGrace < 0 {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_KILL_GRACE: must not be negative, got %s", c.KillGrace))
	}
	if c.WorkerDrain < 0 {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_WORKER_DRAIN: must not be negative, got %s", c.WorkerDrain))
	}
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

// TemporalTLS names the PEM files for a TLS connection to Temporal.
type TemporalTLS struct {
	// CertFile and KeyFile are the client certificate and key, for mTLS.
	CertFile, KeyFile string
	// CAFile is the CA that signed the server's certificate; empty uses
	// the system's roots.
	CAFile string
	// ServerName is the name to verify, when it is not the address's host.
	ServerName string
}

// Enabled reports whether any TLS setting is given.
func (t TemporalTLS) Enabled() bool { return t != TemporalTLS{} }

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
	// secretKeys are the secret settings that were set; secretFiles the
	// files named by their _FILE variants.
	secretKeys, secretFiles []string
}

// secret reads key, or the file named by key_FILE (for Docker and
// Kubernetes secrets); setting both is an error.
func (r *reader) secret(key string) Secret {
	v := strings.TrimSpace(r.getenv(key))
	file := strings.TrimSpace(r.getenv(key + "_FILE"))
	switch {
	case v != "" && file != "":
		r.errs = append(r.errs, fmt.Errorf("%s and %s_FILE: set one, not both", key, key))
	case file != "":
		r.secretFiles = append(r.secretFiles, file)
		b, err := os.ReadFile(file)
		if err != nil {
			// The path is not secret; the error says why it cannot be read.
			r.errs = append(r.errs, fmt.Errorf("%s_FILE: %w", key, err))
			return Secret{}
		}
		return NewSecret(strings.TrimSpace(string(b)))
	}
	if v != "" {
		r.secretKeys = append(r.secretKeys, key)
	}
	return NewSecret(v)
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

// boolean reads true/false (also 1/0, yes/no, on/off).
func (r *reader) boolean(key string, def bool) bool {
	switch v := strings.ToLower(strings.TrimSpace(r.getenv(key))); v {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	default:
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", key, v))
		return def
	}
}

// whole reads a whole number that may be 0.
func (r *reader) whole(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a whole number (0 or more)", key, v))
		return def
	}
	return n
}

// float reads a number that may have a fraction and may be 0.
func (r *reader) float(key string, def float64) float64 {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a number (0 or more, like 0.5)", key, v))
		return def
	}
	return f
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

// SlackConfig configures the Slack channel: a bot token (chat.postMessage
// to Channel or the task's slack_channel), or else an incoming webhook.
// notify.NewSlack takes it as it is.
type SlackConfig struct {
	// Token is a bot token, xoxb-… (SCHETASK_SLACK_TOKEN or _FILE).
	Token Secret
	// WebhookURL is an incoming webhook (SCHETASK_SLACK_WEBHOOK_URL or _FILE).
	WebhookURL Secret
	// Channel is the default channel for the bot token (SCHETASK_SLACK_CHANNEL).
	Channel string
	// APIURL replaces Slack's API base URL (SCHETASK_SLACK_API_URL), for
	// proxies and tests.
	APIURL string
}

// Enabled reports whether Slack is configured.
func (c SlackConfig) Enabled() bool { return c.Token.IsSet() || c.WebhookURL.IsSet() }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (SlackConfig) AlertChannel() string { return "slack" }

// EmailConfig configures alert e-mail over SMTP. notify.NewEmail takes it
// as it is.
type EmailConfig struct {
	// Addr is the SMTP server, host:port (SCHETASK_SMTP_ADDR).
	Addr string
	// Username and Password authenticate (SCHETASK_SMTP_USERNAME,
	// SCHETASK_SMTP_PASSWORD or _FILE).
	Username string
	Password Secret
	// From is the sender address (SCHETASK_SMTP_FROM).
	From string
	// TLS is starttls (default, required), tls (implicit) or none (SCHETASK_SMTP_TLS).
	TLS string
	// CAFile is an extra CA certificate to trust, PEM (SCHETASK_SMTP_CA_FILE).
	CAFile string
	// To are the recipients of tasks without e-mail owners (SCHETASK_ALERT_EMAIL_TO).
	To []string
}

// Enabled reports whether e-mail is configured.
func (c EmailConfig) Enabled() bool { return c.Addr != "" }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (EmailConfig) AlertChannel() string { return "email" }

// WebhookConfig configures the generic JSON webhook. notify.NewWebhook
// takes it as it is, with Config.WebhookAllowPrivate beside it.
type WebhookConfig struct {
	// URL receives the POSTs (SCHETASK_WEBHOOK_URL).
	URL string
	// Secret signs each body, HMAC-SHA256 (SCHETASK_WEBHOOK_SECRET or _FILE).
	Secret Secret
}

// Enabled reports whether the webhook is configured.
func (c WebhookConfig) Enabled() bool { return c.URL != "" }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (WebhookConfig) AlertChannel() string { return "webhook" }

// OIDCConfig is single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (SCHETASK_OIDC_ISSUER); its
	// discovery document says the rest.
	Issuer string
	// ClientID and ClientSecret identify the console to the provider
	// (SCHETASK_OIDC_CLIENT_ID, SCHETASK_OIDC_CLIENT_SECRET or _FILE).
	ClientID     string
	ClientSecret Secret
	// RedirectURL is the console's callback, https://<console>/auth/oidc/callback
	// (SCHETASK_OIDC_REDIRECT_URL).
	RedirectURL string
	// GroupsClaim names the ID token claim holding the user's groups
	// (SCHETASK_OIDC_GROUPS_CLAIM, default groups).
	GroupsClaim string
	// Roles map groups to roles, "group=role" pairs; the highest role of
	// a user's groups wins (SCHETASK_OIDC_ROLES).
	Roles []string
	// DefaultRole is the role of a user in none of those groups; "" refuses
	// them (SCHETASK_OIDC_DEFAULT_ROLE).
	DefaultRole string
	// Only turns password logins off (SCHETASK_OIDC_ONLY).
	Only bool
}

// Enabled reports whether single sign-on is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }
