package notify

import (
	"fmt"
	"net/http"
	"time"

	"github.com/schetask/schetask/config"
)

// FromConfig builds the channels the configuration turns on, in the order
// slack, email, webhook. hc is the HTTP client (a 30-second one when nil);
// the webhook keeps its timeout but dials and redirects its own way, as
// SCHETASK_WEBHOOK_ALLOW_PRIVATE says.
func FromConfig(cfg config.Config, hc *http.Client) ([]Channel, error) {
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
