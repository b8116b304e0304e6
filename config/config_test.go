package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

func TestSecretsComeFromEnvOrFileAndAreNeverPrinted(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SCHETASK_SLACK_TOKEN_FILE": file, "SCHETASK_WEBHOOK_SECRET": "hmac-s3cret",
		"SCHETASK_WEBHOOK_URL": "https://hooks.example/x", "SCHETASK_SMTP_ADDR": "mail:587",
		"SCHETASK_SMTP_FROM": "schetask@example.com", "SCHETASK_SMTP_PASSWORD": "smtp-s3cret"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.Token.Reveal() != "xoxb-from-file" || c.Webhook.Secret.Reveal() != "hmac-s3cret" || c.Email.Password.Reveal() != "smtp-s3cret" {
		t.Fatalf("secrets not read: %q %q %q", c.Slack.Token.Reveal(), c.Webhook.Secret.Reveal(), c.Email.Password.Reveal())
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c, "token", c.Slack.Token)
	j, _ := json.Marshal(c)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", c, c, c), logged.String(), string(j)} {
		for _, secret := range []string{"xoxb-from-file", "hmac-s3cret", "smtp-s3cret"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q printed in %s", secret, out)
			}
		}
	}

	_, err = Load(func(k string) string {
		return map[string]string{"SCHETASK_SLACK_TOKEN": "a", "SCHETASK_SLACK_TOKEN_FILE": file,
			"SCHETASK_WEBHOOK_SECRET_FILE": "/nonexistent/secret", "SCHETASK_SMTP_ADDR": "mail:25"}[k]
	})
	for _, want := range []string{"SCHETASK_SLACK_TOKEN and SCHETASK_SLACK_TOKEN_FILE: set one", "SCHETASK_WEBHOOK_SECRET_FILE:", "SCHETASK_SMTP_FROM: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestAPISettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name              string
		env               map[string]string
		wantRate, wantMax int
		wantErr           string
	}{
		{name: "defaults", wantRate: 600, wantMax: 1000},
		{name: "set", env: map[string]string{"SCHETASK_API_RATE": "30", "SCHETASK_BACKFILL_MAX": "24"}, wantRate: 30, wantMax: 24},
		{name: "zero rate", env: map[string]string{"SCHETASK_API_RATE": "0"}, wantErr: `SCHETASK_API_RATE: "0" is not a positive whole number`},
		{name: "bad cap", env: map[string]string{"SCHETASK_BACKFILL_MAX": "lots"}, wantErr: `SCHETASK_BACKFILL_MAX: "lots" is not a positive whole number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.APIRate != tt.wantRate || c.BackfillMax != tt.wantMax {
				t.Errorf("APIRate %d, BackfillMax %d; want %d, %d", c.APIRate, c.BackfillMax, tt.wantRate, tt.wantMax)
			}
		})
	}
}
