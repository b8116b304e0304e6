package notify

import (
	"context"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// channelSettings turn on one alert channel each, keyed by its name. A
// channel added to tasktype.AlertChannelNames, config.Config or Config and
// not here fails TestEveryAlertChannelIsWiredThrough (see docs/extending.md).
var channelSettings = map[string]func(*Config){
	"slack": func(c *Config) {
		c.Slack = config.SlackConfig{Token: config.NewSecret("xoxb-test"), Channel: "#ops"}
	},
	"email": func(c *Config) {
		c.Email = config.EmailConfig{Addr: "127.0.0.1:2525", From: "schetask@example.com", To: []string{"ops@example.com"}}
	},
	"webhook": func(c *Config) {
		c.Webhook = config.WebhookConfig{URL: "https://hooks.example.com/schetask", Secret: config.NewSecret("s3cret")}
	},
}

// channelSection is a section of config.Config (and of Config) that
// configures an alert channel.
type channelSection interface {
	AlertChannel() string
	Enabled() bool
}

// channelConfigs maps the channel each section of cfg (a config.Config or
// a Config) configures to whether it is on.
func channelConfigs(cfg any) map[string]bool {
	out := map[string]bool{}
	v := reflect.ValueOf(cfg)
	for i := range v.NumField() {
		if s, ok := v.Field(i).Interface().(channelSection); ok {
			out[s.AlertChannel()] = s.Enabled()
		}
	}
	return out
}

// TestEveryAlertChannelIsWiredThrough walks tasktype.AlertChannelNames:
// config.Config and Config each have one section per name and no other,
// the section turns the channel on, FromConfig builds a channel of that
// name from it, and ChannelNames names it. (That serviceconfig.Notify
// copies each section over is tested there.)
func TestEveryAlertChannelIsWiredThrough(t *testing.T) {
	t.Parallel()
	want := slices.Clone(tasktype.AlertChannelNames)
	slices.Sort(want)
	for what, cfg := range map[string]any{"config.Config": config.Config{}, "notify.Config": Config{}} {
		var sections []string
		for name := range channelConfigs(cfg) {
			sections = append(sections, name)
		}
		slices.Sort(sections)
		if !slices.Equal(sections, want) {
			t.Errorf("%s configures channels %q; tasktype.AlertChannelNames has %q", what, sections, want)
		}
	}
	for name := range channelSettings {
		if !slices.Contains(tasktype.AlertChannelNames, name) {
			t.Errorf("channelSettings has %q, which tasktype.AlertChannelNames lacks", name)
		}
	}
	var all Config
	for _, name := range tasktype.AlertChannelNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			enable, ok := channelSettings[name]
			if !ok {
				t.Fatalf("channel %q: no setting turns it on: add it to config.Config, Config and channelSettings", name)
			}
			var cfg Config
			enable(&cfg)
			var on []string
			for section, enabled := range channelConfigs(cfg) {
				if enabled {
					on = append(on, section)
				}
			}
			if !slices.Equal(on, []string{name}) {
				t.Errorf("channelSettings[%q] turns on the config sections of %q, want only its own", name, on)
			}
			chans, err := FromConfig(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(chans) != 1 || chans[0].Name() != name {
				var built []string
				for _, c := range chans {
					built = append(built, c.Name())
				}
				t.Errorf("FromConfig builds %q, want [%s]", built, name)
			}
			if got := cfg.ChannelNames(); !slices.Equal(got, []string{name}) {
				t.Errorf("ChannelNames = %q, want [%s]", got, name)
			}
		})
		if enable, ok := channelSettings[name]; ok {
			enable(&all)
		}
	}
	// All on: built in the order tasktype lists them.
	chans, err := FromConfig(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, c := range chans {
		built = append(built, c.Name())
	}
	if !slices.Equal(built, tasktype.AlertChannelNames) {
		t.Errorf("FromConfig with every channel on builds %q, want %q", built, tasktype.AlertChannelNames)
	}
}

// TestDatabaseAcceptsExactlyTheAlertChannels: the alert_channels_known
// check of t_task_list names exactly tasktype.AlertChannelNames, and a task
// can limit its alerts to every one of them.
func TestDatabaseAcceptsExactlyTheAlertChannels(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	var def string
	if err := env.Store.Pool().QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 't_task_list'::regclass AND conname = 'alert_channels_known'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(def, -1) {
		got = append(got, m[1])
	}
	want := slices.Clone(tasktype.AlertChannelNames)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alert_channels_known accepts %q; tasktype.AlertChannelNames has %q: add a migration", got, want)
	}
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "* * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip,
		AlertChannels: tasktype.AlertChannelNames}); err != nil {
		t.Errorf("a task limited to every channel: %v", err)
	}
}
