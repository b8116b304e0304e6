package notify

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/alerttest"
	"github.com/schetask/schetask/store"
)

// These tests deliver real messages to local servers speaking Slack's
// Web API, SMTP with STARTTLS and AUTH, and HTTP.

func sampleAlert() alert.Alert {
	code := 3
	return alert.Alert{ID: 41, Kind: alert.KindFailed, TaskName: "gold", Title: "run #7 failed with exit code 3",
		Text: "the <upstream> said no & gave up", ExitCode: &code, Excerpt: []string{"Error: db connection refused", "  at main (index.js:7)"},
		Suppressed: 2, Run: &alert.RunRef{ID: 7, Version: "202611/25/101010", WorkflowID: "task-gold-1", RunID: "r1",
			ScheduledTime: time.Date(2026, 11, 25, 10, 10, 10, 0, time.UTC)},
		Links:  []alert.Link{{Label: "Run in the console", URL: "http://console.test/runs/7"}, {Label: "Run in Temporal Web", URL: "http://temporal.test/x"}},
		Owners: []string{"alice@example.com", "U0ALICE", "@bob"}, At: time.Now()}
}

func TestSlack(t *testing.T) {
	t.Parallel()
	fake := alerttest.NewSlack(t)
	ctx := context.Background()
	bot, err := NewSlack(config.SlackConfig{Token: config.NewSecret(fake.Token()), APIURL: fake.APIURL(), Channel: "#ops"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	routed := sampleAlert()
	routed.Route.SlackChannel = "#gold"
	if err := bot.Send(ctx, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	if err := bot.Send(ctx, routed); err != nil {
		t.Fatal(err)
	}
	hook, err := NewSlack(config.SlackConfig{WebhookURL: config.NewSecret(fake.WebhookURL())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := hook.Send(ctx, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	for i, want := range []struct{ via, channel string }{{"api", "#ops"}, {"api", "#gold"}, {"webhook", ""}} {
		m := msgs[i]
		if m.Via != want.via || m.Channel != want.channel {
			t.Errorf("message %d via %s to %q, want %s to %q", i, m.Via, m.Channel, want.via, want.channel)
		}
		if m.Text != "[schetask] gold: run #7 failed with exit code 3" {
			t.Errorf("message %d fallback text %q", i, m.Text)
		}
		for _, s := range []string{"db connection refused", "<@U0ALICE>", "<@bob>", "http://console.test/runs/7",
			"http://temporal.test/x", "exit code 3", "2 alerts of this task were suppressed", "&lt;upstream&gt; said no &amp; gave up"} {
			if !strings.Contains(m.BlocksText, s) {
				t.Errorf("message %d blocks lack %q:\n%s", i, s, m.BlocksText)
			}
		}
	}

	tests := []struct {
		name      string
		cfg       config.SlackConfig
		route     string
		down      bool
		permanent bool
	}{
		{name: "revoked token", cfg: config.SlackConfig{Token: config.NewSecret("xoxb-revoked"), APIURL: fake.APIURL(), Channel: "#ops"}, permanent: true},
		{name: "unknown channel", cfg: config.SlackConfig{Token: config.NewSecret(fake.Token()), APIURL: fake.APIURL(), Channel: "#ops"}, route: "#nowhere", permanent: true},
		{name: "no channel at all", cfg: config.SlackConfig{Token: config.NewSecret(fake.Token()), APIURL: fake.APIURL()}, permanent: true},
		{name: "slack down", cfg: config.SlackConfig{Token: config.NewSecret(fake.Token()), APIURL: fake.APIURL(), Channel: "#ops"}, down: true},
		{name: "webhook down", cfg: config.SlackConfig{WebhookURL: config.NewSecret(fake.WebhookURL())}, down: true},
	}
	for _, tt := range tests {
		s, err := NewSlack(tt.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		fake.SetDown(tt.down)
		a := sampleAlert()
		a.Route.SlackChannel = tt.route
		err = s.Send(ctx, a)
		fake.SetDown(false)
		if err == nil || IsPermanent(err) != tt.permanent {
			t.Errorf("%s: error %v, permanent %v; want an error, permanent %v", tt.name, err, IsPermanent(err), tt.permanent)
		}
		if err != nil && (strings.Contains(err.Error(), "xoxb") || strings.Contains(err.Error(), fake.WebhookURL())) {
			t.Errorf("%s: error %q shows a secret", tt.name, err)
		}
	}
	if _, err := NewSlack(config.SlackConfig{}, nil); err == nil {
		t.Error("NewSlack without token or webhook: no error")
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	fake := alerttest.NewSMTP(t)
	ctx := context.Background()
	cfg := config.EmailConfig{Addr: fake.Addr(), Username: fake.Username(), Password: config.NewSecret(fake.Password()),
		From: "schetask@example.com", CAFile: fake.CAFile(), To: []string{"oncall@example.com"}}
	e, err := NewEmail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Send(ctx, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	ownerless := sampleAlert()
	ownerless.Owners = []string{"U0ALICE"}
	if err := e.Send(ctx, ownerless); err != nil {
		t.Fatal(err)
	}
	mails := fake.Mails()
	if len(mails) != 2 {
		t.Fatalf("got %d mails, want 2", len(mails))
	}
	if !slices.Equal(mails[0].To, []string{"alice@example.com"}) || !slices.Equal(mails[1].To, []string{"oncall@example.com"}) {
		t.Errorf("recipients %v and %v, want the owner, then the default", mails[0].To, mails[1].To)
	}
	m := mails[0]
	if m.Subject != "[schetask] gold: run #7 failed with exit code 3" || m.Header.Get("X-Schetask-Alert-Id") != "41" {
		t.Errorf("subject %q, alert id header %q", m.Subject, m.Header.Get("X-Schetask-Alert-Id"))
	}
	for _, s := range []string{"Exit code: 3", "db connection refused", "http://console.test/runs/7", "2 alerts of this task were suppressed"} {
		if !strings.Contains(m.Body, s) {
			t.Errorf("mail body lacks %q:\n%s", s, m.Body)
		}
	}

	tests := []struct {
		name      string
		change    func(*config.EmailConfig)
		alert     func(*alert.Alert)
		permanent bool
	}{
		{name: "wrong password", change: func(c *config.EmailConfig) { c.Password = config.NewSecret("not-it") }, permanent: true},
		{name: "no recipient", change: func(c *config.EmailConfig) { c.To = nil }, alert: func(a *alert.Alert) { a.Owners = nil }, permanent: true},
		{name: "server unreachable", change: func(c *config.EmailConfig) { c.Addr = "127.0.0.1:1" }},
		// STARTTLS is verified: a server whose certificate is not trusted gets nothing.
		{name: "untrusted certificate", change: func(c *config.EmailConfig) { c.CAFile = "" }},
	}
	for _, tt := range tests {
		c := cfg
		tt.change(&c)
		e, err := NewEmail(c)
		if err != nil {
			t.Fatal(err)
		}
		a := sampleAlert()
		if tt.alert != nil {
			tt.alert(&a)
		}
		err = e.Send(ctx, a)
		if err == nil || IsPermanent(err) != tt.permanent {
			t.Errorf("%s: error %v, permanent %v; want an error, permanent %v", tt.name, err, IsPermanent(err), tt.permanent)
		}
		if err != nil && strings.Contains(err.Error(), fake.Password()) {
			t.Errorf("%s: error shows the password", tt.name)
		}
	}
	if len(fake.Mails()) != 2 {
		t.Errorf("failed sends delivered mail: %d mails", len(fake.Mails()))
	}
	for _, bad := range []config.EmailConfig{{Addr: "nohost", From: "a@b.c"}, {Addr: "h:25", From: "not an address"},
		{Addr: "h:25", From: "a@b.c", TLS: "maybe"}, {Addr: "h:25", From: "a@b.c", To: []string{"x"}}} {
		if _, err := NewEmail(bad); err == nil {
			t.Errorf("NewEmail(%+v): no error", bad)
		}
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	const secret, taskSecret = "hmac-secret", "task-secret"
	verifier := func(secret string) func([]byte, string) bool {
		return func(body []byte, sig string) bool { return VerifySignature([]byte(secret), body, sig) }
	}
	main, other := alerttest.NewWebhook(t, verifier(secret)), alerttest.NewWebhook(t, verifier(taskSecret))
	ctx := context.Background()
	// The receivers are on 127.0.0.1.
	w, err := NewWebhook(config.WebhookConfig{URL: main.URL(), Secret: config.NewSecret(secret)}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(ctx, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	if err := w.SendToTask(ctx, sampleAlert(), store.TaskWebhook{URL: other.URL(), Secret: config.NewSecret(taskSecret)}); err != nil {
		t.Fatal(err)
	}
	if len(main.Deliveries()) != 1 || len(other.Deliveries()) != 1 {
		t.Fatalf("deliveries: main %d, task's own %d; want 1 and 1", len(main.Deliveries()), len(other.Deliveries()))
	}
	if !other.Deliveries()[0].SignatureValid {
		t.Error("the task's own webhook: signature does not verify with the task's secret")
	}
	d := main.Deliveries()[0]
	if !d.SignatureValid || d.Header.Get(HeaderDelivery) != "41" || d.Header.Get(HeaderEvent) != "failed" {
		t.Errorf("signature valid %v, delivery %q, event %q", d.SignatureValid, d.Header.Get(HeaderDelivery), d.Header.Get(HeaderEvent))
	}
	p := d.Payload
	run, _ := p["run"].(map[string]any)
	if p["task"] != "gold" || p["exit_code"] != float64(3) || p["suppressed"] != float64(2) || run["workflow_id"] != "task-gold-1" {
		t.Errorf("payload %v", p)
	}
	if VerifySignature([]byte("other"), d.Body, d.Header.Get(HeaderSignature)) {
		t.Error("signature verifies with the wrong secret")
	}

	for _, tt := range []struct {
		status    int
		permanent bool
	}{{http.StatusBadRequest, true}, {http.StatusGone, true}, {http.StatusTooManyRequests, false}, {http.StatusBadGateway, false}} {
		main.SetStatus(tt.status)
		err := w.Send(ctx, sampleAlert())
		if err == nil || IsPermanent(err) != tt.permanent {
			t.Errorf("answer %d: error %v, permanent %v; want permanent %v", tt.status, err, IsPermanent(err), tt.permanent)
		}
	}
	if _, err := NewWebhook(config.WebhookConfig{URL: "ftp://x"}, false, nil); err == nil {
		t.Error("NewWebhook(ftp://x): no error")
	}
}
