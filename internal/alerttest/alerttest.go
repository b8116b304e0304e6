// Package alerttest runs local servers that speak the protocols of the
// alert channels — Slack's Web API and incoming webhooks, SMTP with
// STARTTLS and AUTH, a plain HTTPS-style webhook receiver — so tests
// deliver real messages over real connections.
package alerttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// SlackMessage is one message the Slack server received.
type SlackMessage struct {
	// Via is "api" (chat.postMessage) or "webhook".
	Via     string
	Channel string
	Text    string
	Blocks  json.RawMessage
	// BlocksText is every text and URL found in the blocks, one per line.
	BlocksText string
}

// Slack is a local Slack: the chat.postMessage method of the Web API and
// an incoming webhook.
type Slack struct {
	srv     *httptest.Server
	token   string
	mu      sync.Mutex
	msgs    []SlackMessage
	down    bool
	refused int
}

// NewSlack starts a Slack server for the test.
func NewSlack(t testing.TB) *Slack {
	s := &Slack{token: "xoxb-test-token"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /webhook", s.webhook)
	s.srv = httptest.NewServer(s.gate(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// APIURL is the base URL for slack.OptionAPIURL.
func (s *Slack) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the incoming webhook's URL.
func (s *Slack) WebhookURL() string { return s.srv.URL + "/webhook" }

// Token is the bot token the server accepts.
func (s *Slack) Token() string { return s.token }

// SetDown makes every request fail with 503 while down.
func (s *Slack) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Refused counts the requests refused while down.
func (s *Slack) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Messages returns the messages received so far.
func (s *Slack) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackMessage(nil), s.msgs...)
}

func (s *Slack) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down := s.down
		if down {
			s.refused++
		}
		s.mu.Unlock()
		if down {
			http.Error(w, "slack is down", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Slack) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	w.Header().Set("Content-Type", "application/json")
	if token != s.token {
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	channel := r.PostForm.Get("channel")
	if channel == "" || channel == "#nowhere" {
		_, _ = w.Write([]byte(`{"ok":false,"error":"channel_not_found"}`))
		return
	}
	s.record(SlackMessage{Via: "api", Channel: channel, Text: r.PostForm.Get("text"),
		Blocks: json.RawMessage(r.PostForm.Get("blocks"))})
	_, _ = fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100"}`, channel)
}

func (s *Slack) webhook(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Channel string          `json:"channel"`
		Text    string          `json:"text"`
		Blocks  json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.record(SlackMessage{Via: "webhook", Channel: msg.Channel, Text: msg.Text, Blocks: msg.Blocks})
	_, _ = w.Write([]byte("ok"))
}

func (s *Slack) record(m SlackMessage) {
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	var texts []string
	collectText(v, &texts)
	m.BlocksText = strings.Join(texts, "\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// collectText gathers the "text" and "url" strings of a decoded JSON value.
func collectText(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "text" || k == "url") {
				*out = append(*out, s)
				continue
			}
			collectText(x, out)
		}
	case []any:
		for _, x := range v {
			collectText(x, out)
		}
	}
}

// Delivery is one POST the webhook received.
type Delivery struct {
	Header         http.Header
	Body           []byte
	Payload        map[string]any
	SignatureValid bool
}

// Webhook is a local webhook receiver that checks signatures.
type Webhook struct {
	srv    *httptest.Server
	verify func(body []byte, header string) bool
	mu     sync.Mutex
	got    []Delivery
	status int
}

// NewWebhook starts a receiver; verify checks a body against its
// signature header (notify.VerifySignature with the secret, say).
func NewWebhook(t testing.TB, verify func(body []byte, header string) bool) *Webhook {
	wh := &Webhook{verify: verify, status: http.StatusNoContent}
	wh.srv = httptest.NewServer(http.HandlerFunc(wh.serve))
	t.Cleanup(wh.srv.Close)
	return wh
}

// URL is where to POST.
func (wh *Webhook) URL() string { return wh.srv.URL + "/hook" }

// SetStatus sets the status code the receiver answers with.
func (wh *Webhook) SetStatus(code int) {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	wh.status = code
}

// Deliveries returns the accepted deliveries so far (not those answered
// with an error status).
func (wh *Webhook) Deliveries() []Delivery {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	return append([]Delivery(nil), wh.got...)
}

func (wh *Webhook) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := Delivery{Header: r.Header.Clone(), Body: b,
		SignatureValid: wh.verify != nil && wh.verify(b, r.Header.Get("X-Schetask-Signature-256"))}
	_ = json.Unmarshal(b, &d.Payload)
	wh.mu.Lock()
	status := wh.status
	if status < 300 {
		wh.got = append(wh.got, d)
	}
	wh.mu.Unlock()
	w.WriteHeader(status)
}
