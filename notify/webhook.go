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
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/store"
)

// Webhook POSTs each alert as JSON, signed with HMAC-SHA256. It follows
// no redirect and, unless made with allowPrivate, connects to public
// addresses only.
type Webhook struct {
	cfg config.WebhookConfig
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

// NewWebhook checks the configuration and makes the channel. Of hc it
// keeps the timeout and TLS settings; its dialer, proxy and redirect
// policy are replaced by the webhook's own (see webhookClient).
//
// cfg.URL receives the alerts of tasks without a webhook_url of their
// own, signed with cfg.Secret; a task's own URL is signed with the task's
// own secret instead (see SendToTask). allowPrivate
// (SCHETASK_WEBHOOK_ALLOW_PRIVATE) lets deliveries reach loopback,
// private, link-local (cloud metadata), CGNAT and other internal
// addresses. Off, every connection is checked when it is dialled, on the
// address actually dialled, so a host name that resolves (or re-resolves)
// inside is refused too. The rule is the same for cfg.URL and for tasks'
// own URLs: a receiver on the internal network needs it on, and then
// tasks' URLs may reach the internal network as well.
func NewWebhook(cfg config.WebhookConfig, allowPrivate bool, hc *http.Client) (*Webhook, error) {
	if err := checkHTTPURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("webhook url: %w", err)
	}
	return &Webhook{cfg: cfg, hc: webhookClient(hc, allowPrivate)}, nil
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

// webhookClient is the client deliveries go through: a dialer that checks
// each address it connects to (unless allowPrivate), and no redirects,
// since a 307 or 308 would carry the signed body wherever the receiver
// points. Without allowPrivate no proxy is used either: through a proxy
// the check would see the proxy's address, not the receiver's.
func webhookClient(hc *http.Client, allowPrivate bool) *http.Client {
	timeout := 30 * time.Second
	var tr *http.Transport
	if hc != nil {
		if hc.Timeout > 0 {
			timeout = hc.Timeout
		}
		if t, ok := hc.Transport.(*http.Transport); ok {
			tr = t.Clone()
		}
	}
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = refusePrivateAddress
		tr.Proxy = nil
	}
	tr.DialContext, tr.DialTLSContext = dialer.DialContext, nil
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send POSTs the alert to the configured URL, signed with the configured
// secret. Alerts of a task with its own webhook go through SendToTask.
func (w *Webhook) Send(ctx context.Context, a alert.Alert) error {
	return w.post(ctx, a, w.cfg.URL, w.cfg.Secret)
}

// SendToTask POSTs the alert to its task's own webhook, signed with the
// task's own secret; the Deliverer reads both from the database.
func (w *Webhook) SendToTask(ctx context.Context, a alert.Alert, hook store.TaskWebhook) error {
	if !hook.Secret.IsSet() {
		return Permanent(errors.New("webhook: the task has no signing secret of its own (deleted before tasks had one); not sent"))
	}
	if err := checkHTTPURL(hook.URL); err != nil {
		return Permanent(fmt.Errorf("webhook: the task's webhook_url: %w", err))
	}
	return w.post(ctx, a, hook.URL, hook.Secret)
}

func (w *Webhook) post(ctx context.Context, a alert.Alert, target string, secret config.Secret) error {
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
		// The URL may carry a token: say what failed without it.
		return Permanent(errors.New("webhook: the URL cannot be used"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "schetask")
	req.Header.Set(HeaderDelivery, strconv.FormatInt(a.ID, 10))
	req.Header.Set(HeaderEvent, string(a.Kind))
	if secret.IsSet() {
		req.Header.Set(HeaderSignature, Sign([]byte(secret.Reveal()), body))
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return connectionFailure(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return Permanent(fmt.Errorf("webhook: answered %s; redirects are not followed", resp.Status))
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook: answered %s", resp.Status)
	}
	return Permanent(fmt.Errorf("webhook: answered %s", resp.Status))
}

// deliveryError is a failed delivery as Temporal Web, the alert's row and
// the console show it: what went wrong, without the address, port or
// resolver's words, which would let whoever sets a task's URL map the
// internal network from the error. It does not unwrap (Temporal records
// a chain of causes); the worker's log gets the detail (ErrorDetail).
type deliveryError struct {
	msg    string
	detail error
}

func (e *deliveryError) Error() string { return e.msg }

// ErrorDetail is err with, for a failed webhook delivery, the underlying
// error (addresses and all), for the worker's log only.
func ErrorDetail(err error) error {
	var de *deliveryError
	if errors.As(err, &de) && de.detail != nil {
		return fmt.Errorf("%v (%w)", err, de.detail)
	}
	return err
}

// errAddressNotAllowed is the dialer's refusal of an internal address.
var errAddressNotAllowed = errors.New("address not allowed (private network)")

// connectionFailure says why a POST got no answer: refused by the address
// check (permanent: only a new URL or SCHETASK_WEBHOOK_ALLOW_PRIVATE can
// change that), timed out, or failed.
func connectionFailure(err error) error {
	// The URL may carry a token: the detail is the error without it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, errAddressNotAllowed):
		return Permanent(&deliveryError{msg: "webhook: refused: " + errAddressNotAllowed.Error(), detail: err})
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &deliveryError{msg: "webhook: timed out", detail: err}
	}
	return &deliveryError{msg: "webhook: connection failed", detail: err}
}

// refusePrivateAddress is the dialer's Control: it runs once the name is
// resolved, on the address about to be connected to, so DNS rebinding
// (public when checked, internal when used) cannot get past it.
func refusePrivateAddress(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || privateAddress(ap.Addr()) {
		return fmt.Errorf("%w: %s %s", errAddressNotAllowed, network, address)
	}
	return nil
}

// internalPrefixes are the ranges privateAddress refuses besides those
// netip classifies (loopback, RFC 1918 and fc00::/7, link-local,
// multicast, unspecified).
var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network": 0.0.0.0 reaches the host itself
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, often internal
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation: never a public receiver
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking, used inside networks
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Prefixes of IPv6 addresses that carry an IPv4 address which a gateway
// on the way will reach: NAT64 (the last 32 bits) and 6to4 (bits 16-47).
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// privateAddress reports whether a webhook may not connect to a without
// SCHETASK_WEBHOOK_ALLOW_PRIVATE: loopback, private (RFC 1918, fc00::/7),
// link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
// unspecified, multicast, CGNAT (100.64.0.0/10), reserved, and those
// written as IPv4-mapped, NAT64 or 6to4 IPv6 addresses. An invalid
// address counts as private.
func privateAddress(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return privateAddress(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return privateAddress(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return false
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
