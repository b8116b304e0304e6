package notify

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/alerttest"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The per-task secret is read from a real database.
func TestMain(m *testing.M) { testenv.Main(m) }

// counter is a local server that counts the requests it gets.
type counter struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newCounter(t *testing.T, answer http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		answer(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func noContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// port is the server's port, which a delivery error must not show.
func (c *counter) port(t *testing.T) string {
	u, err := url.Parse(c.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func TestPrivateAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		private bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"10.0.0.1", true},
		{"172.16.5.4", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.254.0.1", true},
		{"100.64.1.1", true}, // CGNAT
		{"100.127.255.254", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"192.0.0.8", true},
		{"198.18.0.1", true},
		{"::", true},
		{"fd00::1", true},
		{"fc00::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"::ffff:10.0.0.1", true}, // IPv4-mapped
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:100.64.1.1", true},
		{"::10.0.0.1", true},            // IPv4-compatible
		{"64:ff9b::a00:1", true},        // NAT64 of 10.0.0.1
		{"64:ff9b::7f00:1", true},       // NAT64 of 127.0.0.1
		{"64:ff9b:1::808:808", true},    // local-use NAT64
		{"2002:a00:1::1", true},         // 6to4 of 10.0.0.1
		{"2002:a9fe:a9fe::1", true},     // 6to4 of 169.254.169.254
		{"8.8.8.8", false},              // public
		{"1.1.1.1", false},              // public
		{"100.63.255.255", false},       // just below CGNAT
		{"100.128.0.0", false},          // just above CGNAT
		{"172.32.0.1", false},           // just above 172.16.0.0/12
		{"169.255.0.1", false},          // just above link-local
		{"::ffff:8.8.8.8", false},       // mapped public
		{"64:ff9b::808:808", false},     // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},      // 6to4 of 8.8.8.8
		{"2606:4700:4700::1111", false}, // public IPv6
		{"2a00:1450:4001:81b::200e", false},
	}
	for _, tt := range tests {
		a, err := netip.ParseAddr(tt.addr)
		if err != nil {
			t.Fatalf("%s: %v", tt.addr, err)
		}
		if got := privateAddress(a); got != tt.private {
			t.Errorf("privateAddress(%s) = %v, want %v", tt.addr, got, tt.private)
		}
	}
	if !privateAddress(netip.Addr{}) {
		t.Error("the zero address is not refused")
	}
}

// TestWebhookRefusesInternalAddresses points the webhook, global and
// per-task, at a local server by address and by a name that resolves to
// it: nothing reaches the server, the error says refused without the
// address or port, and SCHETASK_WEBHOOK_ALLOW_PRIVATE opens it.
func TestWebhookRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newCounter(t, noContent)
	byName := strings.Replace(srv.srv.URL, "127.0.0.1", "localhost", 1) + "/hook?token=s3cr3t"
	tests := []struct {
		name string
		send func(w *Webhook) error
	}{
		{"global url by address", func(w *Webhook) error { return w.Send(ctx, sampleAlert()) }},
		{"task url by address", func(w *Webhook) error {
			return w.SendToTask(ctx, sampleAlert(), store.TaskWebhook{URL: srv.srv.URL + "/task", Secret: config.NewSecret("t")})
		}},
		{"task url by a name resolving to loopback", func(w *Webhook) error {
			return w.SendToTask(ctx, sampleAlert(), store.TaskWebhook{URL: byName, Secret: config.NewSecret("t")})
		}},
	}
	refused, err := NewWebhook(config.WebhookConfig{URL: srv.srv.URL + "/hook", Secret: config.NewSecret("g")}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		err := tt.send(refused)
		if err == nil || !IsPermanent(err) || err.Error() != "webhook: refused: address not allowed (private network)" {
			t.Errorf("%s: error %v (permanent %v); want the permanent refusal", tt.name, err, IsPermanent(err))
		}
		if err != nil && !strings.Contains(ErrorDetail(err).Error(), srv.port(t)) {
			t.Errorf("%s: the log's detail %q does not say which address", tt.name, ErrorDetail(err))
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("the local server got %d requests; want none", n)
	}

	allowed, err := NewWebhook(config.WebhookConfig{URL: srv.srv.URL + "/hook", Secret: config.NewSecret("g")}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if err := tt.send(allowed); err != nil {
			t.Errorf("%s with private addresses allowed: %v", tt.name, err)
		}
	}
	if n := srv.hits.Load(); n != int64(len(tests)) {
		t.Errorf("with private addresses allowed the server got %d requests; want %d", n, len(tests))
	}
}

// TestFromConfigChecksAddresses: the worker's channels come from
// FromConfig, which must pass Config.WebhookAllowPrivate on.
func TestFromConfigChecksAddresses(t *testing.T) {
	t.Parallel()
	srv := newCounter(t, noContent)
	for _, allow := range []bool{false, true} {
		chans, err := FromConfig(Config{Webhook: config.WebhookConfig{URL: srv.srv.URL}, WebhookAllowPrivate: allow}, nil)
		if err != nil || len(chans) != 1 {
			t.Fatalf("FromConfig: %v, %d channels", err, len(chans))
		}
		err = chans[0].Send(context.Background(), sampleAlert())
		if (err == nil) != allow {
			t.Errorf("allow private %v: error %v", allow, err)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("the server got %d requests; want 1 (the allowed one)", n)
	}
}

// TestWebhookFollowsNoRedirect: a receiver answering 307 (which keeps the
// method and the signed body) to another server is a failed delivery, and
// the other server gets nothing.
func TestWebhookFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	inside := newCounter(t, noContent)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		redirector := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, inside.srv.URL+"/internal", status)
		})
		w, err := NewWebhook(config.WebhookConfig{URL: redirector.srv.URL, Secret: config.NewSecret("g")}, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = w.Send(context.Background(), sampleAlert())
		if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "redirects are not followed") {
			t.Errorf("answer %d: error %v (permanent %v); want a permanent failure saying redirects are not followed", status, err, IsPermanent(err))
		}
		if redirector.hits.Load() != 1 {
			t.Errorf("answer %d: the redirecting receiver got %d requests", status, redirector.hits.Load())
		}
	}
	if n := inside.hits.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests; want none", n)
	}
}

// hostPort matches what would map the network: an address with a port.
var hostPort = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|\[[0-9a-f:]+\]`)

// TestWebhookErrorsDoNotMapTheNetwork: a port that refuses connections
// and a receiver that never answers fail as "connection failed" and "timed
// out", without the address or port (Temporal Web and the console show
// these); the log's detail says more, but never the URL (it may hold a
// token).
func TestWebhookErrorsDoNotMapTheNetwork(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook?token=s3cr3t"
	ln.Close()
	hang := make(chan struct{})
	silent := newCounter(t, func(http.ResponseWriter, *http.Request) { <-hang })
	t.Cleanup(func() { close(hang) })
	quick := &http.Client{Timeout: 200 * time.Millisecond}
	tests := []struct {
		url, want, detail string
		hc                *http.Client
	}{
		{closed, "webhook: connection failed", ln.Addr().String(), nil},
		{silent.srv.URL + "/hook?token=s3cr3t", "webhook: timed out", "Client.Timeout exceeded", quick},
	}
	for _, tt := range tests {
		w, err := NewWebhook(config.WebhookConfig{URL: tt.url}, true, tt.hc)
		if err != nil {
			t.Fatal(err)
		}
		err = w.Send(context.Background(), sampleAlert())
		if err == nil || err.Error() != tt.want || IsPermanent(err) {
			t.Errorf("%s: error %v (permanent %v); want the retryable %q", tt.url, err, IsPermanent(err), tt.want)
			continue
		}
		if m := hostPort.FindString(err.Error()); m != "" {
			t.Errorf("%s: the error shows %q", tt.url, m)
		}
		if detail := ErrorDetail(err).Error(); !strings.Contains(detail, tt.detail) || strings.Contains(detail, "s3cr3t") {
			t.Errorf("%s: the log's detail %q should say %q and not show the URL's token", tt.url, detail, tt.detail)
		}
	}
}

// TestTaskWebhookIsSignedWithTheTaskSecret delivers through the Deliverer,
// as the worker does: a task with its own URL gets its alerts there signed
// with its own secret (read from the database, never the global one), a
// new URL gets a new secret, and a deleted task's last alerts still go to
// its URL signed with its last secret.
func TestTaskWebhookIsSignedWithTheTaskSecret(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	const globalSecret = "global-secret"
	global := alerttest.NewWebhook(t, func(body []byte, sig string) bool {
		return VerifySignature([]byte(globalSecret), body, sig)
	})
	own := alerttest.NewWebhook(t, nil)
	task := func(name, webhook string) tasktype.Task {
		return tasktype.Task{Name: name, Rule: "* * * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
			Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip, WebhookURL: webhook}
	}
	if err := env.Store.UpsertTask(ctx, task("gold", own.URL())); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.UpsertTask(ctx, task("silver", "")); err != nil {
		t.Fatal(err)
	}
	w, err := NewWebhook(config.WebhookConfig{URL: global.URL(), Secret: config.NewSecret(globalSecret)}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	activities := suite.NewTestActivityEnvironment()
	d := &Deliverer{Channels: []Channel{w}, Store: env.Store, Logger: env.Logger}
	activities.RegisterActivity(d)
	deliver := func(taskName string) {
		t.Helper()
		a := sampleAlert()
		a.TaskName = taskName
		if _, err := activities.ExecuteActivity(d.Deliver, DeliverInput{Channel: "webhook", Alert: a}); err != nil {
			t.Fatalf("deliver an alert of %s: %v", taskName, err)
		}
	}
	secretOf := func(name string) string {
		t.Helper()
		hook, err := env.Store.TaskWebhook(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return hook.Secret.Reveal()
	}
	signedBy := func(d alerttest.Delivery, secret string) bool {
		return VerifySignature([]byte(secret), d.Body, d.Header.Get(HeaderSignature))
	}

	gold, silver := secretOf("gold"), secretOf("silver")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(gold) || gold == silver {
		t.Fatalf("task secrets %q and %q: want 64 hex digits, different per task", gold, silver)
	}
	deliver("gold")
	deliver("silver")
	if len(own.Deliveries()) != 1 || len(global.Deliveries()) != 1 {
		t.Fatalf("deliveries: task's own %d, global %d; want 1 and 1", len(own.Deliveries()), len(global.Deliveries()))
	}
	if got := own.Deliveries()[0]; !signedBy(got, gold) || signedBy(got, globalSecret) || got.Payload["task"] != "gold" {
		t.Errorf("gold's delivery: signed by gold's secret %v, by the global one %v; payload %v",
			signedBy(got, gold), signedBy(got, globalSecret), got.Payload)
	}
	if got := global.Deliveries()[0]; !got.SignatureValid || got.Payload["task"] != "silver" {
		t.Errorf("silver's delivery: signed by the global secret %v; payload %v", got.SignatureValid, got.Payload)
	}

	// A new URL, a new secret; the same URL again keeps it.
	if err := env.Store.UpsertTask(ctx, task("gold", own.URL()+"?v=2")); err != nil {
		t.Fatal(err)
	}
	renewed := secretOf("gold")
	if renewed == gold {
		t.Fatal("a new webhook_url kept the old secret")
	}
	if err := env.Store.UpsertTask(ctx, task("gold", own.URL()+"?v=2")); err != nil {
		t.Fatal(err)
	}
	if secretOf("gold") != renewed {
		t.Fatal("saving the task with the same webhook_url changed its secret")
	}
	if err := env.Store.DeleteTask(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	deliver("gold")
	if n := len(own.Deliveries()); n != 2 {
		t.Fatalf("the deleted task's alert: task's own webhook got %d deliveries in all; want 2", n)
	}
	if got := own.Deliveries()[1]; !signedBy(got, renewed) || signedBy(got, gold) {
		t.Errorf("the deleted task's alert: signed by its last secret %v, by the old one %v", signedBy(got, renewed), signedBy(got, gold))
	}
}
