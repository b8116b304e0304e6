package worker

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/notify"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	webhook := notify.Config{Webhook: config.WebhookConfig{URL: "https://hooks.example.com/x"}}
	// KillGrace, Drain and the limits have no default: 0 is a setting.
	got := Config{TaskQueue: "q", TasksDir: "/srv/task", MaxConcurrentRuns: 3, Channels: webhook}.WithDefaults()
	want := Config{TaskQueue: "q", TasksDir: "/srv/task", HeartbeatTimeout: 10 * time.Second, ReapInterval: 10 * time.Second,
		MaxConcurrentRuns: 3, TaskUser: "schetask-task", Cgroup: "auto", Channels: webhook,
		ScheduleIDPrefix: "task-", ChainWait: 24 * time.Hour,
		Alerts: alert.Config{TaskQueue: "q", Channels: []string{"webhook"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc   string
		change func(*Config)
		want   string // "" for no error
	}{
		{desc: "zero fields take defaults", change: func(*Config) {}},
		{desc: "no tasks folder", change: func(c *Config) { c.TasksDir = "" }, want: "worker config: TasksDir: required"},
		{desc: "heartbeat too short", change: func(c *Config) { c.HeartbeatTimeout = time.Second },
			want: "worker config: HeartbeatTimeout: must be at least 2s, got 1s"},
		{desc: "negative drain", change: func(c *Config) { c.Drain = -time.Second }, want: "worker config: Drain: must not be negative, got -1s"},
		{desc: "negative reap interval", change: func(c *Config) { c.ReapInterval = -time.Second },
			want: "worker config: ReapInterval: must be positive, got -1s"},
		{desc: "no runs at once", change: func(c *Config) { c.MaxConcurrentRuns = -1 },
			want: "worker config: MaxConcurrentRuns: must be at least 1, got -1"},
		{desc: "negative chain wait", change: func(c *Config) { c.ChainWait = -time.Second },
			want: "worker config: ChainWait: must not be negative, got -1s"},
		{desc: "unknown cgroup mode", change: func(c *Config) { c.Cgroup = "on" }, want: `worker config: Cgroup: "on": want auto or off`},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := Config{TaskQueue: "q", TasksDir: "/srv/task"}
			tt.change(&cfg)
			err := cfg.WithDefaults().validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("validate: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
