package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc    string
		env     map[string]string
		want    [3]int
		wantErr string
	}{
		{desc: "defaults", want: [3]int{0, 30, 365}},
		{desc: "set", env: map[string]string{"SCHETASK_KEEP_RUNS": "5", "SCHETASK_KEEP_DAYS": "0", "SCHETASK_KEEP_AUDIT_DAYS": "90"}, want: [3]int{5, 0, 90}},
		{desc: "negative", env: map[string]string{"SCHETASK_KEEP_RUNS": "-1"}, wantErr: "SCHETASK_KEEP_RUNS"},
		{desc: "not a number", env: map[string]string{"SCHETASK_KEEP_DAYS": "month"}, wantErr: "SCHETASK_KEEP_DAYS"},
		{desc: "zero interval", env: map[string]string{"SCHETASK_JANITOR_INTERVAL": "0s"}, wantErr: "SCHETASK_JANITOR_INTERVAL"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Load = %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := [3]int{c.KeepRuns, c.KeepDays, c.KeepAuditDays}; got != tt.want || c.JanitorInterval != time.Minute {
				t.Errorf("keep runs, days, audit days = %v, interval %s; want %v, 1m", got, c.JanitorInterval, tt.want)
			}
		})
	}
}
