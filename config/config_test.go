package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) string
		wantErr []string
	}{
		{name: "defaults", env: nil, check: func(c Config) string {
			if c.TaskQueue != "schetask" || c.ScheduleIDPrefix != "task-" || c.CatchupWindow != time.Minute ||
				c.HeartbeatTimeout != 10*time.Second || !strings.HasSuffix(c.TasksDir, "/task") || c.TemporalAddress != "localhost:7233" {
				return "unexpected defaults"
			}
			return ""
		}},
		{name: "overrides", env: map[string]string{"SCHETASK_TASK_QUEUE": "q", "SCHETASK_CATCHUP_WINDOW": "5m",
			"SCHETASK_TASK_ENV": " A, B ,,", "SCHETASK_TASKS_DIR": "/srv/tasks"}, check: func(c Config) string {
			if c.TaskQueue != "q" || c.CatchupWindow != 5*time.Minute || len(c.TaskEnv) != 2 || c.TaskEnv[1] != "B" || c.TasksDir != "/srv/tasks" {
				return "overrides not applied"
			}
			return ""
		}},
		{name: "bad values are all reported", env: map[string]string{"SCHETASK_CATCHUP_WINDOW": "soon",
			"SCHETASK_HEARTBEAT_TIMEOUT": "1s", "SCHETASK_DEV_PG_PORT": "99999", "SCHETASK_RESYNC_INTERVAL": "-1s"},
			wantErr: []string{`SCHETASK_CATCHUP_WINDOW: "soon" is not a duration`, "SCHETASK_HEARTBEAT_TIMEOUT: must be at least 2s",
				`SCHETASK_DEV_PG_PORT: "99999" is not a port`, "SCHETASK_RESYNC_INTERVAL: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("%s: %+v", msg, c)
			}
		})
	}
}

func TestRequireDatabase(t *testing.T) {
	t.Parallel()
	if err := (Config{}).RequireDatabase(); err == nil || !strings.Contains(err.Error(), "SCHETASK_DATABASE_URL") {
		t.Errorf("RequireDatabase without a URL = %v", err)
	}
}
