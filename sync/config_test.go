package tasksync_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	tasksync "github.com/schetask/schetask/sync"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	// Concurrency is set and kept; KillGrace has no default, 0 kills at once.
	got := tasksync.Config{TaskQueue: "q", Concurrency: 3}.WithDefaults()
	want := tasksync.Config{TaskQueue: "q", ScheduleIDPrefix: "task-", ResyncInterval: 30 * time.Second, Concurrency: 3,
		CatchupWindow: time.Minute, HeartbeatTimeout: 10 * time.Second, MaxRunDuration: 24 * time.Hour}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc   string
		change func(*tasksync.Config)
		want   string // "" for no error
	}{
		{desc: "zero fields take defaults", change: func(*tasksync.Config) {}},
		{desc: "no task queue", change: func(c *tasksync.Config) { c.TaskQueue = "" }, want: "sync config: TaskQueue: required"},
		{desc: "negative resync interval", change: func(c *tasksync.Config) { c.ResyncInterval = -time.Second },
			want: "sync config: ResyncInterval: must be positive, got -1s"},
		{desc: "negative concurrency", change: func(c *tasksync.Config) { c.Concurrency = -1 },
			want: "sync config: Concurrency: must be at least 1, got -1"},
		{desc: "heartbeat too short", change: func(c *tasksync.Config) { c.HeartbeatTimeout = time.Second },
			want: "sync config: HeartbeatTimeout: must be at least 2s, got 1s"},
		{desc: "negative kill grace", change: func(c *tasksync.Config) { c.KillGrace = -time.Second },
			want: "sync config: KillGrace: must not be negative, got -1s"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := tasksync.Config{TaskQueue: "q"}
			tt.change(&cfg)
			_, err := tasksync.New(cfg, nil, nil, slog.New(slog.DiscardHandler))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
