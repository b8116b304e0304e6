package monitor

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	got := Config{Grace: 2 * time.Second}.WithDefaults()
	want := Config{Interval: 5 * time.Second, Grace: 2 * time.Second, Lookback: 24 * time.Hour, Settle: 5 * time.Second}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		cfg  Config
		want string // "" for no error
	}{
		{desc: "zero fields take defaults", cfg: Config{}},
		{desc: "negative interval", cfg: Config{Interval: -time.Second}, want: "monitor config: Interval: must be positive, got -1s"},
		{desc: "negative grace", cfg: Config{Grace: -time.Minute}, want: "monitor config: Grace: must be positive, got -1m0s"},
		{desc: "negative lookback", cfg: Config{Lookback: -time.Hour}, want: "monitor config: Lookback: must be positive, got -1h0m0s"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, nil, nil, slog.New(slog.DiscardHandler))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
