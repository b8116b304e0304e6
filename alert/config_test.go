package alert_test

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	// The links and channels have no default: empty says something.
	got := alert.Config{TaskQueue: "q", RepeatEvery: time.Hour}.WithDefaults()
	want := alert.Config{TaskQueue: "q", WorkflowIDPrefix: "task-", RepeatEvery: time.Hour,
		RetryMaxInterval: time.Minute, GiveUpAfter: 24 * time.Hour, Namespace: "default"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}

func TestNewRaiserRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc   string
		change func(*alert.Config)
		want   string // "" for no error
	}{
		{desc: "zero fields take defaults", change: func(*alert.Config) {}},
		{desc: "no channel is a setting", change: func(c *alert.Config) { c.Channels = []string{} }},
		{desc: "no task queue", change: func(c *alert.Config) { c.TaskQueue = "" }, want: "alert config: TaskQueue: required"},
		{desc: "negative repeat limit", change: func(c *alert.Config) { c.RepeatEvery = -time.Minute },
			want: "alert config: RepeatEvery: must be positive, got -1m0s"},
		{desc: "negative give-up time", change: func(c *alert.Config) { c.GiveUpAfter = -time.Hour },
			want: "alert config: GiveUpAfter: must be positive, got -1h0m0s"},
		{desc: "unknown channel", change: func(c *alert.Config) { c.Channels = []string{"webhook", "pager"} },
			want: `alert config: Channels: "pager" is not a channel`},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := alert.Config{TaskQueue: "q"}
			tt.change(&cfg)
			_, err := alert.NewRaiser(cfg, nil, nil, slog.New(slog.DiscardHandler))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("NewRaiser: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("NewRaiser: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
