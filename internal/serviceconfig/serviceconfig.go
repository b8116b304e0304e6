// Package serviceconfig gives each service the part of the process
// configuration it reads. config.Load reads and validates the whole once;
// sync, monitor, janitor, alert, worker and notify each take a Config of their own
// holding only their settings, so none of them imports config for its
// values, and a test or a benchmark can make one without the rest.
//
// This is the one place that knows both sides: the commands, the
// benchmark and the tests map config.Config through it, so a new setting
// reaches every caller of a service at once.
package serviceconfig

import (
	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/janitor"
	"github.com/schetask/schetask/monitor"
	"github.com/schetask/schetask/notify"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/worker"
)

// Sync is the configuration of the reconciler (tasksync.New).
func Sync(c config.Config) tasksync.Config {
	return tasksync.Config{
		TaskQueue:        c.TaskQueue,
		ScheduleIDPrefix: c.ScheduleIDPrefix,
		ResyncInterval:   c.ResyncInterval,
		Concurrency:      c.SyncConcurrency,
		CatchupWindow:    c.CatchupWindow,
		HeartbeatTimeout: c.HeartbeatTimeout,
		KillGrace:        c.KillGrace,
		MaxRunDuration:   c.MaxRunDuration,
	}
}

// Monitor is the configuration of the missed-run monitor (monitor.New).
func Monitor(c config.Config) monitor.Config {
	return monitor.Config{Interval: c.MonitorInterval, Grace: c.MissedGrace, CatchupWindow: c.CatchupWindow}
}

// Janitor is the configuration of the retention janitor (janitor.New).
func Janitor(c config.Config) janitor.Config {
	return janitor.Config{
		TasksDir:      c.TasksDir,
		Interval:      c.JanitorInterval,
		KeepRuns:      c.KeepRuns,
		KeepDays:      c.KeepDays,
		KeepAuditDays: c.KeepAuditDays,
	}
}

// Alert is the configuration of an alert raiser (alert.NewRaiser), with
// the channels the workers build from c.
func Alert(c config.Config) alert.Config {
	return alert.Config{
		TaskQueue:        c.TaskQueue,
		WorkflowIDPrefix: c.ScheduleIDPrefix,
		RepeatEvery:      c.AlertRepeatInterval,
		RetryMaxInterval: c.AlertRetryMaxInterval,
		GiveUpAfter:      c.AlertGiveUpAfter,
		ConsoleURL:       c.ConsoleURL,
		TemporalUIURL:    c.TemporalUIURL,
		Namespace:        c.TemporalNamespace,
		Channels:         Notify(c).ChannelNames(),
	}
}

// Notify is the configuration of the alert channels (notify.FromConfig).
func Notify(c config.Config) notify.Config {
	return notify.Config{Slack: c.Slack, Email: c.Email, Webhook: c.Webhook, WebhookAllowPrivate: c.WebhookAllowPrivate}
}

// Worker is the configuration of a worker (worker.New), with its alert
// channels and raiser.
func Worker(c config.Config) worker.Config {
	return worker.Config{
		TaskQueue:         c.TaskQueue,
		TasksDir:          c.TasksDir,
		HeartbeatTimeout:  c.HeartbeatTimeout,
		KillGrace:         c.KillGrace,
		Drain:             c.WorkerDrain,
		ReapInterval:      c.ReapInterval,
		MaxConcurrentRuns: c.MaxConcurrentRuns,
		TaskEnv:           c.TaskEnv,
		TaskUser:          c.TaskUser,
		TaskUsers:         c.TaskUsers,
		Cgroup:            c.Cgroup,
		TaskLimits:        c.TaskLimits,
		SecretSources:     c.SecretSources,
		PublishTargets:    c.PublishTargets,
		ScheduleIDPrefix:  c.ScheduleIDPrefix,
		ChainWait:         c.ChainWait,
		Channels:          Notify(c),
		Alerts:            Alert(c),
	}
}
