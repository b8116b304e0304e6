package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
)

// WebhookConfig configures the JSON webhook.
type WebhookConfig struct {
	URL    string
	Secret config.Secret
}

// Webhook POSTs each alert as JSON, signed with HMAC-SHA256.
type Webhook struct {
	cfg WebhookConfig
	hc  *http.Client
}

// Headers of a webhook delivery.
const (
	HeaderSignature = "X-Schetask-Signature-256"
	HeaderDelivery  = "X-Schetask-Delivery"
	HeaderEvent     = "X-Schetask-Event"
)

// WebhookPayload is the JSON body of a webhook delivery.
type WebhookPayload struct {
	ID         int64        `json:"id"`
	Kind       alert.Kind   `json:"kind"`
	Severity   string       `json:"severity"`
	Task       string       `json:"task"`
	Title      string       `json:"title"`
	Text       string       `json:"text,omitempty"`
	ExitCode   *int         `json:"exit_code,omitempty"`
	Excerpt    []string     `json:"excerpt,omitempty"`
	Repeat     bool         `json:"repeat"`
	Suppressed int          `json:"suppressed"`
	Run        *WebhookRun  `json:"run,omitempty"`
	Links      []alert.Link `json:"links,omitempty"`
	At         time.Time    `json:"at"`
}

// WebhookRun identifies the run in a webhook payload.
type WebhookRun struct {
	ID            int64     `json:"id"`
	Version       string    `json:"version"`
	WorkflowID    string    `json:"workflow_id"`
	RunID         string    `json:"run_id"`
	ScheduledTime time.Time `json:"scheduled_time"`
}

// NewWebhook checks the configuration and makes the channel.
func NewWebhook(cfg WebhookConfig, hc *http.Client) (*Webhook, error) {
	if err := checkHTTPURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("webhook url: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Webhook{cfg: cfg, hc: hc}, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http(s) URL")
	}
	return nil
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send POSTs the alert to the task's webhook_url, or the configured URL.
func (w *Webhook) Send(ctx context.Context, a alert.Alert) error {
	target := w.cfg.URL
	if a.Route.WebhookURL != "" {
		target = a.Route.WebhookURL
	}
	p := WebhookPayload{ID: a.ID, Kind: a.Kind, Severity: a.Kind.Severity(), Task: a.TaskName, Title: a.Title,
		Text: a.Text, ExitCode: a.ExitCode, Excerpt: a.Excerpt, Repeat: a.Repeat, Suppressed: a.Suppressed,
		Links: a.Links, At: a.At}
	if a.Run != nil {
		p.Run = &WebhookRun{ID: a.Run.ID, Version: a.Run.Version, WorkflowID: a.Run.WorkflowID, RunID: a.Run.RunID,
			ScheduledTime: a.Run.ScheduledTime}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "schetask")
	req.Header.Set(HeaderDelivery, strconv.FormatInt(a.ID, 10))
	req.Header.Set(HeaderEvent, string(a.Kind))
	if w.cfg.Secret.IsSet() {
		req.Header.Set(HeaderSignature, Sign([]byte(w.cfg.Secret.Reveal()), body))
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		// The URL may carry a token: say what failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook: answered %s", resp.Status)
	}
	return Permanent(fmt.Errorf("webhook: answered %s", resp.Status))
}

// Sign is the signature header value of body: "sha256=" and the hex
// HMAC-SHA256 of the body with the secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports, in constant time, whether header signs body.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}
