package notify

import (
	"slices"
	"testing"

	"github.com/schetask/schetask/config"
)

// TestChannelNamesMatchFromConfig: the alert raiser decides that no
// channel would carry an alert from Config.ChannelNames; it must name
// exactly the channels FromConfig builds, for every mix of settings.
func TestChannelNamesMatchFromConfig(t *testing.T) {
	t.Parallel()
	for mask := range 8 {
		var cfg Config
		if mask&1 != 0 {
			cfg.Slack = config.SlackConfig{Token: config.NewSecret("xoxb-test"), Channel: "#ops"}
		}
		if mask&2 != 0 {
			cfg.Email = config.EmailConfig{Addr: "127.0.0.1:2525", From: "schetask@example.com", To: []string{"ops@example.com"}}
		}
		if mask&4 != 0 {
			cfg.Webhook = config.WebhookConfig{URL: "https://hooks.example.com/schetask", Secret: config.NewSecret("s3cret")}
		}
		chans, err := FromConfig(cfg, nil)
		if err != nil {
			t.Fatalf("mask %03b: %v", mask, err)
		}
		var built []string
		for _, c := range chans {
			built = append(built, c.Name())
		}
		if got := cfg.ChannelNames(); !slices.Equal(got, built) && !(len(got) == 0 && len(built) == 0) {
			t.Errorf("mask %03b: ChannelNames = %q, FromConfig builds %q", mask, got, built)
		}
	}
}
