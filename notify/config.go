package notify

import (
	"fmt"
	"net/http"
	"time"

	"github.com/schetask/schetask/config"
)

// Config is what the alert channels are built from: one section per
// channel, a channel being on when its section is enabled, and the
// webhook's address policy. The sections are config's own types, which
// hold their secrets as config.Secret.
type Config struct {
	Slack   config.SlackConfig
	Email   config.EmailConfig
	Webhook config.WebhookConfig
	// WebhookAllowPrivate lets webhooks reach loopback, private,
	// link-local and metadata addresses.
	WebhookAllowPrivate bool
}

// ChannelNames names the channels cfg turns on, in the order FromConfig
// builds them (a test holds the two together); empty, not nil, when none
// is on.
func (cfg Config) ChannelNames() []string {
	names := []string{}
	if cfg.Slack.Enabled() {
		names = append(names, "slack")
	}
	if cfg.Email.Enabled() {
		names = append(names, "email")
	}
	if cfg.Webhook.Enabled() {
		names = append(names, "webhook")
	}
	return names
}

// FromConfig builds the channels the configuration turns on, in the order
// slack, email, webhook. hc is the HTTP client (a 30-second one when nil);
// the webhook keeps its timeout but dials and redirects its own way, as
// WebhookAllowPrivate says.
func FromConfig(cfg Config, hc *http.Client) ([]Channel, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	var chans []Channel
	if cfg.Slack.Enabled() {
		s, err := NewSlack(cfg.Slack, hc)
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		chans = append(chans, s)
	}
	if cfg.Email.Enabled() {
		e, err := NewEmail(cfg.Email)
		if err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
		chans = append(chans, e)
	}
	if cfg.Webhook.Enabled() {
		w, err := NewWebhook(cfg.Webhook, cfg.WebhookAllowPrivate, hc)
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		chans = append(chans, w)
	}
	return chans, nil
}
