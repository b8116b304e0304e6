package config

import (
	"errors"
	"time"
)

// loadAlerts reads how alerts are paced and delivered, and how the
// monitor finds missed runs.
func loadAlerts(r *reader, c *Config) {
	c.AlertRepeatInterval = r.duration("SCHETASK_ALERT_REPEAT_INTERVAL", 30*time.Minute)
	c.AlertRetryMaxInterval = r.duration("SCHETASK_ALERT_RETRY_MAX_INTERVAL", time.Minute)
	c.AlertGiveUpAfter = r.duration("SCHETASK_ALERT_GIVE_UP_AFTER", 24*time.Hour)
	c.MissedGrace = r.duration("SCHETASK_MISSED_GRACE", time.Minute)
	c.MonitorInterval = r.duration("SCHETASK_MONITOR_INTERVAL", 5*time.Second)
	r.positive("SCHETASK_ALERT_REPEAT_INTERVAL", c.AlertRepeatInterval)
	r.positive("SCHETASK_ALERT_RETRY_MAX_INTERVAL", c.AlertRetryMaxInterval)
	r.positive("SCHETASK_ALERT_GIVE_UP_AFTER", c.AlertGiveUpAfter)
	r.positive("SCHETASK_MISSED_GRACE", c.MissedGrace)
	r.positive("SCHETASK_MONITOR_INTERVAL", c.MonitorInterval)
}

// loadChannels reads the alert channels, each on when its address is
// set, and whether webhooks may reach private addresses.
func loadChannels(r *reader, c *Config) {
	c.Slack = SlackConfig{
		Token:      r.secret("SCHETASK_SLACK_TOKEN"),
		WebhookURL: r.secret("SCHETASK_SLACK_WEBHOOK_URL"),
		Channel:    r.str("SCHETASK_SLACK_CHANNEL", ""),
		APIURL:     r.str("SCHETASK_SLACK_API_URL", ""),
	}
	c.Email = EmailConfig{
		Addr:     r.str("SCHETASK_SMTP_ADDR", ""),
		Username: r.str("SCHETASK_SMTP_USERNAME", ""),
		Password: r.secret("SCHETASK_SMTP_PASSWORD"),
		From:     r.str("SCHETASK_SMTP_FROM", ""),
		TLS:      r.str("SCHETASK_SMTP_TLS", "starttls"),
		CAFile:   r.str("SCHETASK_SMTP_CA_FILE", ""),
		To:       r.list("SCHETASK_ALERT_EMAIL_TO"),
	}
	c.Webhook = WebhookConfig{
		URL:    r.str("SCHETASK_WEBHOOK_URL", ""),
		Secret: r.secret("SCHETASK_WEBHOOK_SECRET"),
	}
	c.WebhookAllowPrivate = r.boolean("SCHETASK_WEBHOOK_ALLOW_PRIVATE", false)
	if c.Email.Enabled() && c.Email.From == "" {
		r.errs = append(r.errs, errors.New("SCHETASK_SMTP_FROM: required when SCHETASK_SMTP_ADDR is set"))
	}
}

// SlackConfig configures the Slack channel: a bot token (chat.postMessage
// to Channel or the task's slack_channel), or else an incoming webhook.
// notify.NewSlack takes it as it is.
type SlackConfig struct {
	// Token is a bot token, xoxb-… (SCHETASK_SLACK_TOKEN or _FILE).
	Token Secret
	// WebhookURL is an incoming webhook (SCHETASK_SLACK_WEBHOOK_URL or _FILE).
	WebhookURL Secret
	// Channel is the default channel for the bot token (SCHETASK_SLACK_CHANNEL).
	Channel string
	// APIURL replaces Slack's API base URL (SCHETASK_SLACK_API_URL), for
	// proxies and tests.
	APIURL string
}

// Enabled reports whether Slack is configured.
func (c SlackConfig) Enabled() bool { return c.Token.IsSet() || c.WebhookURL.IsSet() }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (SlackConfig) AlertChannel() string { return "slack" }

// EmailConfig configures alert e-mail over SMTP. notify.NewEmail takes it
// as it is.
type EmailConfig struct {
	// Addr is the SMTP server, host:port (SCHETASK_SMTP_ADDR).
	Addr string
	// Username and Password authenticate (SCHETASK_SMTP_USERNAME,
	// SCHETASK_SMTP_PASSWORD or _FILE).
	Username string
	Password Secret
	// From is the sender address (SCHETASK_SMTP_FROM).
	From string
	// TLS is starttls (default, required), tls (implicit) or none (SCHETASK_SMTP_TLS).
	TLS string
	// CAFile is an extra CA certificate to trust, PEM (SCHETASK_SMTP_CA_FILE).
	CAFile string
	// To are the recipients of tasks without e-mail owners (SCHETASK_ALERT_EMAIL_TO).
	To []string
}

// Enabled reports whether e-mail is configured.
func (c EmailConfig) Enabled() bool { return c.Addr != "" }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (EmailConfig) AlertChannel() string { return "email" }

// WebhookConfig configures the generic JSON webhook. notify.NewWebhook
// takes it as it is, with Config.WebhookAllowPrivate beside it.
type WebhookConfig struct {
	// URL receives the POSTs (SCHETASK_WEBHOOK_URL).
	URL string
	// Secret signs each body, HMAC-SHA256 (SCHETASK_WEBHOOK_SECRET or _FILE).
	Secret Secret
}

// Enabled reports whether the webhook is configured.
func (c WebhookConfig) Enabled() bool { return c.URL != "" }

// AlertChannel is the name of the channel this section configures, as
// tasktype.AlertChannelNames lists it.
func (WebhookConfig) AlertChannel() string { return "webhook" }
