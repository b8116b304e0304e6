package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/alerttest"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/notify"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// channels are the three alert channels, each a local server speaking its
// protocol: Slack's Web API, SMTP with STARTTLS and AUTH, a signed webhook.
type channels struct {
	slack   *alerttest.Slack
	smtp    *alerttest.SMTP
	webhook *alerttest.Webhook
}

const (
	consoleURL    = "http://console.test"
	webhookSecret = "whsec-test"
)

// withChannels turns every channel on, pointing at local servers, with
// test-sized timings; repeat is the repeat limit.
func withChannels(t *testing.T, repeat time.Duration) (*channels, func(*testenv.Env)) {
	ch := &channels{slack: alerttest.NewSlack(t), smtp: alerttest.NewSMTP(t), webhook: alerttest.NewWebhook(t, func(body []byte, sig string) bool {
		return notify.VerifySignature([]byte(webhookSecret), body, sig)
	})}
	return ch, func(env *testenv.Env) {
		c := &env.Config
		c.ConsoleURL = consoleURL
		c.AlertRepeatInterval = repeat
		c.AlertRetryMaxInterval = 2 * time.Second
		c.MissedGrace = 2 * time.Second
		c.MonitorInterval = 500 * time.Millisecond
		c.Slack = config.SlackConfig{Token: config.NewSecret(ch.slack.Token()), APIURL: ch.slack.APIURL(), Channel: "#ops"}
		c.Email = config.EmailConfig{Addr: ch.smtp.Addr(), Username: ch.smtp.Username(),
			Password: config.NewSecret(ch.smtp.Password()), From: "schetask@example.com", TLS: "starttls",
			CAFile: ch.smtp.CAFile(), To: []string{"oncall@example.com"}}
		c.Webhook = config.WebhookConfig{URL: ch.webhook.URL(), Secret: config.NewSecret(webhookSecret)}
		// The test's webhook receiver listens on loopback.
		c.WebhookAllowPrivate = true
	}
}

// webhookAlerts are the alerts the webhook received for a task, in order.
func (c *channels) webhookAlerts(task string) []map[string]any {
	var out []map[string]any
	for _, d := range keep(c.webhook.Deliveries(), func(d alerttest.Delivery) bool { return d.Payload["task"] == task }) {
		out = append(out, d.Payload)
	}
	return out
}

// subjectOf is how the Slack fallback text and mail subjects start.
func subjectOf(task string) string { return "] " + task + ":" }

func (c *channels) slackFor(task string) []alerttest.SlackMessage {
	return keep(c.slack.Messages(), func(m alerttest.SlackMessage) bool { return strings.Contains(m.Text, subjectOf(task)) })
}

func (c *channels) mailsFor(task string) []alerttest.Mail {
	return keep(c.smtp.Mails(), func(m alerttest.Mail) bool { return strings.Contains(m.Subject, subjectOf(task)) })
}

func keep[T any](xs []T, ok func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// counts says how many messages each channel has for a task.
func (c *channels) counts(task string) string {
	return fmt.Sprintf("slack %d, email %d, webhook %d", len(c.slackFor(task)), len(c.mailsFor(task)), len(c.webhookAlerts(task)))
}

func kinds(alerts []map[string]any) string {
	var ks []string
	for _, a := range alerts {
		k := fmt.Sprint(a["kind"])
		if a["repeat"] == true {
			k += "+repeat"
		}
		ks = append(ks, k)
	}
	return strings.Join(ks, " ")
}

// waitAlerts waits until every channel has want messages for the task.
func (c *channels) waitAlerts(t *testing.T, task string, want int, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, func() string {
		if got := c.counts(task); got != fmt.Sprintf("slack %d, email %d, webhook %d", want, want, want) {
			return fmt.Sprintf("%s: %s, want %d each (webhook kinds: %s)", task, got, want, kinds(c.webhookAlerts(task)))
		}
		return ""
	})
}

func (s *system) countRuns(t *testing.T, task string, ok func(tasktype.Run) bool) int {
	t.Helper()
	n := 0
	for _, r := range s.runs(t, task) {
		if ok(r) {
			n++
		}
	}
	return n
}

func (s *system) alertRows(t *testing.T, task string) []store.AlertRow {
	t.Helper()
	rows, err := s.env.Store.ListAlerts(context.Background(), task, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestEveryAlertKindReachesEveryChannelOnce triggers the five kinds for
// real — a timeout, a non-zero exit, runs skipped by the overlap policy, a
// deleted task and a task's own notify — and checks each arrives exactly
// once on Slack, e-mail and the webhook, with what people need to act,
// while the repeat limit holds back the repeats.
func TestEveryAlertKindReachesEveryChannelOnce(t *testing.T) {
	ch, opt := withChannels(t, time.Hour)
	s := startSystem(t, true, opt)
	s.writeTask(t, "slow", map[string]string{"index.sh": "echo working; sleep 30\n"})
	s.writeTask(t, "broken", map[string]string{"index.sh": "echo 'db connection refused' >&2; echo 'at line 7' >&2; exit 3\n"})
	s.writeTask(t, "hog", map[string]string{"index.sh": "sleep 4\n"})
	s.writeTask(t, "selfreport", map[string]string{"index.js": `
const { notify } = require('schetask');
notify('stock of SKU-42 is low\nonly 3 left').then(r => console.log('alert', r.alertId, r.sent));
`})
	s.writeTask(t, "doomed", map[string]string{"index.sh": "exit 0\n"})
	s.writeTask(t, "lingering", map[string]string{"index.sh": "sleep 4; echo done\n"})

	s.insertTask(t, &testenv.TaskOpts{Name: "slow", Rule: "*/3 * * * * *", Timeout: time.Second})
	s.insertTask(t, &testenv.TaskOpts{Name: "broken", Rule: "*/2 * * * * *", Owners: []string{"alice@example.com", "U0ALICE"}})
	s.insertTask(t, &testenv.TaskOpts{Name: "hog", Rule: "* * * * * *"})
	s.insertTask(t, &testenv.TaskOpts{Name: "selfreport", Rule: "0 0 1 1 *"})
	s.insertTask(t, &testenv.TaskOpts{Name: "doomed", Rule: "0 0 1 1 *", SlackChannel: "#doomed"})
	s.insertTask(t, &testenv.TaskOpts{Name: "lingering", Rule: "0 0 1 1 *", Timeout: time.Second, TimeoutAction: tasktype.TimeoutWarn})
	s.runNow(t, "selfreport")
	s.runNow(t, "lingering")
	testenv.Eventually(t, 10*time.Second, func() string {
		if st, ok, _ := s.env.Store.GetSyncState(context.Background(), "doomed"); !ok || st.SpecHash == "" {
			return "doomed not scheduled yet"
		}
		return ""
	})
	s.exec(t, `DELETE FROM t_task_list WHERE task_name = 'doomed'`)

	// A timeout alert goes out when the timeout passes, not when the run
	// ends: with timeout_action warn the run is still going when it lands.
	ch.waitAlerts(t, "lingering", 1, 10*time.Second)
	if r := s.runs(t, "lingering")[0]; r.Status != tasktype.RunRunning {
		t.Errorf("lingering's timeout alert arrived after its run ended (%s)", r.Status)
	}
	s.waitRun(t, "lingering", 20*time.Second, "succeeded after its timeout", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })

	want := map[string]string{"slow": "timeout", "broken": "failed", "hog": "missed", "selfreport": "custom", "doomed": "deleted",
		"lingering": "timeout recovered"}
	for task, kind := range want {
		ch.waitAlerts(t, task, len(strings.Fields(kind)), 45*time.Second)
		if got := kinds(ch.webhookAlerts(task)); got != kind {
			t.Errorf("%s: webhook kinds %q, want %q", task, got, kind)
		}
	}

	// The failure alert carries what people need to act.
	failed := ch.webhookAlerts("broken")[0]
	runRef, _ := failed["run"].(map[string]any)
	if failed["exit_code"] != float64(3) || !strings.Contains(fmt.Sprint(failed["excerpt"]), "db connection refused") || runRef == nil {
		t.Errorf("failure payload lacks exit code, excerpt or run: %v", failed)
	}
	links := fmt.Sprint(failed["links"])
	firstRun := int64(runRef["id"].(float64))
	if !strings.Contains(links, fmt.Sprintf("%s/runs/%d", consoleURL, firstRun)) ||
		!strings.Contains(links, "/namespaces/default/workflows/"+s.env.Config.ScheduleIDPrefix+"broken") {
		t.Errorf("failure links = %s, want the console run and Temporal Web", links)
	}
	for _, d := range ch.webhook.Deliveries() {
		if !d.SignatureValid {
			t.Errorf("webhook delivery for %v has a bad signature", d.Payload["task"])
		}
	}
	msg := ch.slackFor("broken")[0]
	if msg.Channel != "#ops" || !strings.Contains(msg.BlocksText, "db connection refused") ||
		!strings.Contains(msg.BlocksText, "<@U0ALICE>") || !strings.Contains(msg.BlocksText, consoleURL) {
		t.Errorf("slack message for broken: channel %s, blocks %s", msg.Channel, msg.BlocksText)
	}
	if got := ch.slackFor("doomed")[0].Channel; got != "#doomed" {
		t.Errorf("deleted task's alert went to %s, want its own channel #doomed", got)
	}
	mail := ch.mailsFor("broken")[0]
	if !slices.Equal(mail.To, []string{"alice@example.com"}) || !strings.Contains(mail.Body, "exit code 3") ||
		!strings.Contains(mail.Body, "db connection refused") {
		t.Errorf("mail for broken to %v:\n%s", mail.To, mail.Body)
	}
	if to := ch.mailsFor("slow")[0].To; !slices.Equal(to, []string{"oncall@example.com"}) {
		t.Errorf("mail for an ownerless task went to %v, want the default recipients", to)
	}
	custom := ch.webhookAlerts("selfreport")[0]
	if custom["title"] != "stock of SKU-42 is low" || !strings.Contains(fmt.Sprint(custom["text"]), "only 3 left") {
		t.Errorf("custom alert = %v", custom)
	}

	// More failures and timeouts come; the repeat limit holds them back.
	testenv.Eventually(t, 30*time.Second, func() string {
		failures := s.countRuns(t, "broken", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed && r.ID > firstRun })
		timeouts := s.countRuns(t, "slow", func(r tasktype.Run) bool { return r.Status == tasktype.RunTimedOut })
		if failures < 3 || timeouts < 3 {
			return fmt.Sprintf("%d more failures of broken, %d timeouts of slow", failures, timeouts)
		}
		return ""
	})
	for task, kind := range want {
		n := len(strings.Fields(kind))
		if got := ch.counts(task); got != fmt.Sprintf("slack %d, email %d, webhook %d", n, n, n) {
			t.Errorf("%s after repeats: %s, want %d message(s) each", task, got, n)
		}
	}
	held := 0
	for _, a := range s.alertRows(t, "broken") {
		if !a.Sent {
			held++
		}
	}
	if held < 2 {
		t.Errorf("broken: %d alerts held back, want the repeats recorded as held back", held)
	}
	var warned *time.Time
	if err := s.env.Store.Pool().QueryRow(context.Background(),
		`SELECT last_warning_time FROM t_task_list WHERE task_name = 'broken'`).Scan(&warned); err != nil || warned == nil {
		t.Errorf("broken's last_warning_time = %v, %v; want set", warned, err)
	}
}

// TestFlappingTaskSendsOneAlertOneStillFailingOneRecovery fails a task
// every second for a while, then lets it succeed.
func TestFlappingTaskSendsOneAlertOneStillFailingOneRecovery(t *testing.T) {
	ch, opt := withChannels(t, 3*time.Second)
	s := startSystem(t, true, opt)
	dir := s.writeTask(t, "flaky", map[string]string{
		"index.sh": "if [ -f fail ]; then echo 'upstream 502' >&2; exit 101; fi; echo fine\n", "fail": ""})
	s.insertTask(t, &testenv.TaskOpts{Name: "flaky", Rule: "* * * * * *"})

	testenv.Eventually(t, 30*time.Second, func() string {
		if got := kinds(ch.webhookAlerts("flaky")); got != "failed failed+repeat" {
			return "webhook kinds: " + got
		}
		return ""
	})
	if err := os.Remove(filepath.Join(dir, "fail")); err != nil {
		t.Fatal(err)
	}
	still := ch.webhookAlerts("flaky")[1]
	if n, _ := still["suppressed"].(float64); n < 1 {
		t.Errorf("still-failing alert reports %v suppressed, want at least 1", still["suppressed"])
	}
	if !strings.HasPrefix(fmt.Sprint(still["title"]), "still failing: ") {
		t.Errorf("second alert title %q, want still failing", still["title"])
	}
	testenv.Eventually(t, 20*time.Second, func() string {
		if got := kinds(ch.webhookAlerts("flaky")); got != "failed failed+repeat recovered" {
			return "webhook kinds: " + got
		}
		return ""
	})
	last := s.runs(t, "flaky")[0].ID
	s.waitRun(t, "flaky", 20*time.Second, "succeeded three runs after the recovery", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.ID >= last+3
	})
	if got := ch.counts("flaky"); got != "slack 3, email 3, webhook 3" {
		t.Errorf("flaky: %s, want alert, still failing and recovery on each channel", got)
	}
}

// TestMissedRunAlertWhenTheWorkerIsDown stops the only worker across two
// fire times: the monitor, which reads only Postgres, raises the missed
// alert, delivered once a worker is back.
func TestMissedRunAlertWhenTheWorkerIsDown(t *testing.T) {
	ch, opt := withChannels(t, time.Hour)
	s := startSystem(t, true, opt)
	s.writeTask(t, "steady", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: "*/2 * * * * *"})
	s.waitRun(t, "steady", 20*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })

	s.stopWorker()
	stopped := time.Now()
	row := s.waitMissed(t, "steady", 2, 45*time.Second)
	if len(ch.webhookAlerts("steady")) != 0 {
		t.Fatal("alert delivered without a worker")
	}
	s.startWorker(t)
	ch.waitAlerts(t, "steady", 1, 45*time.Second)
	got := ch.webhookAlerts("steady")[0]
	if got["kind"] != "missed" || got["title"] != row.Title || !row.Sent {
		t.Errorf("missed alert = %v, want %q", got, row.Title)
	}
	s.waitRun(t, "steady", 20*time.Second, "succeeded after the restart", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.ScheduledTime.After(stopped.Add(3*time.Second))
	})
}

// waitMissed waits until the recorded missed alerts of a task (sent or
// held back) cover at least n fire times, and returns the first.
func (s *system) waitMissed(t *testing.T, task string, n int, timeout time.Duration) store.AlertRow {
	t.Helper()
	var first store.AlertRow
	testenv.Eventually(t, timeout, func() string {
		total := 0
		for _, a := range s.alertRows(t, task) {
			if a.Kind != "missed" {
				continue
			}
			missed := 0
			if strings.Contains(a.Title, "missed the run") {
				missed = 1
			} else {
				_, _ = fmt.Sscanf(strings.TrimPrefix(a.Title, "still missing runs: "), "missed %d runs", &missed)
			}
			total += missed
			first = a
		}
		if total < n {
			return fmt.Sprintf("%d missed fires recorded for %s, want %d", total, task, n)
		}
		return ""
	})
	return first
}

// TestMissedRunAlertWhenTemporalIsDown stops the Temporal server itself
// across two fire times; the alert is recorded meanwhile and delivered
// when Temporal is back.
func TestMissedRunAlertWhenTemporalIsDown(t *testing.T) {
	temporal := newOwnTemporal(t)
	ch, opt := withChannels(t, time.Hour)
	s := startSystem(t, true, opt, temporal.use)
	s.writeTask(t, "steady", map[string]string{"index.sh": "echo ok\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "steady", Rule: "*/2 * * * * *"})
	s.waitRun(t, "steady", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })

	temporal.stop()
	down := time.Now()
	s.waitMissed(t, "steady", 2, 45*time.Second)
	temporal.start()
	ch.waitAlerts(t, "steady", 1, 60*time.Second)
	if got := ch.webhookAlerts("steady")[0]["kind"]; got != "missed" {
		t.Errorf("alert kind %v, want missed", got)
	}
	s.waitRun(t, "steady", 60*time.Second, "succeeded after Temporal came back", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded && r.StartTime.After(down.Add(5*time.Second))
	})
}

// TestSlackOutageDelaysTheAlertAndLosesNothing keeps Slack down while an
// alert is raised: e-mail and the webhook get it at once, Slack once it
// is back, exactly once. Slack stays down for three refused tries, or for
// SCHETASK_TEST_SLACK_OUTAGE (say 1m) when set.
func TestSlackOutageDelaysTheAlertAndLosesNothing(t *testing.T) {
	var outage time.Duration
	if v := os.Getenv("SCHETASK_TEST_SLACK_OUTAGE"); v != "" {
		var err error
		if outage, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SCHETASK_TEST_SLACK_OUTAGE: %v", err)
		}
	}
	ch, opt := withChannels(t, time.Hour)
	ch.slack.SetDown(true)
	downSince := time.Now()
	s := startSystem(t, true, opt)
	s.writeTask(t, "broken", map[string]string{"index.sh": "echo boom >&2; exit 7\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "broken", Rule: "0 0 1 1 *"})
	s.runNow(t, "broken")
	testenv.Eventually(t, 30*time.Second+outage, func() string {
		if len(ch.mailsFor("broken")) != 1 || len(ch.webhookAlerts("broken")) != 1 {
			return ch.counts("broken")
		}
		if n := ch.slack.Refused(); n < 3 || time.Since(downSince) < outage {
			return fmt.Sprintf("slack refused %d tries so far", n)
		}
		return ""
	})
	if len(ch.slackFor("broken")) != 0 {
		t.Fatal("slack got a message while down")
	}
	ch.slack.SetDown(false)
	up := time.Now()
	ch.waitAlerts(t, "broken", 1, 30*time.Second)
	t.Logf("slack down %s (%d tries refused); message arrived %s after it came back",
		up.Sub(downSince).Round(time.Millisecond), ch.slack.Refused(), time.Since(up).Round(time.Millisecond))
	rows := s.alertRows(t, "broken")
	testenv.Eventually(t, 10*time.Second, func() string {
		rows = s.alertRows(t, "broken")
		if len(rows) != 1 || len(rows[0].Deliveries) != 3 {
			return fmt.Sprintf("alert rows %+v", rows)
		}
		return ""
	})
	for name, d := range rows[0].Deliveries {
		if d.Error != "" {
			t.Errorf("%s delivery recorded error %q", name, d.Error)
		}
	}
}

// TestTaskHelperNotifiesAndPublishes runs the repo's Node example, which
// publishes to prod and raises its own alert, and a shell task using
// `schetask notify|publish` through SCHETASK_BIN.
func TestTaskHelperNotifiesAndPublishes(t *testing.T) {
	ch, opt := withChannels(t, time.Hour)
	prod := t.TempDir()
	t.Setenv("GOLD_ALERT_ABOVE", "0")
	s := startSystem(t, false, opt, func(env *testenv.Env) {
		env.Config.PublishTargets = "prod=" + prod
		env.Config.TaskEnv = []string{"GOLD_ALERT_ABOVE"}
	})
	s.cli = schetaskBinary(t)
	s.startWorker(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	gold, err := os.ReadFile(filepath.Join(root, "task", "gold", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	s.writeTask(t, "gold", map[string]string{"index.js": string(gold)})
	s.writeTask(t, "shell", map[string]string{"index.sh": `
mkdir -p "$SCHETASK_PUBLISH_DIR/sub" && echo hi > "$SCHETASK_PUBLISH_DIR/sub/hi.txt"
"$SCHETASK_BIN" notify "disk almost full on $(hostname)" || exit 101
"$SCHETASK_BIN" publish prod || exit 102
"$SCHETASK_BIN" publish nowhere && exit 103
exit 0
`})
	s.insertTask(t, &testenv.TaskOpts{Name: "gold", Rule: "0 0 1 1 *"})
	s.insertTask(t, &testenv.TaskOpts{Name: "shell", Rule: "0 0 1 1 *"})
	s.runNow(t, "gold")
	s.runNow(t, "shell")

	for _, task := range []string{"gold", "shell"} {
		run := s.waitRun(t, task, 30*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
		if run.Status != tasktype.RunSucceeded {
			t.Fatalf("%s run %s (exit %v): %s %q", task, run.Status, run.ExitCode, run.Error, run.StderrHead)
		}
		if len(run.Publishes) != 1 || run.Publishes[0].Target != "prod" || run.Publishes[0].Path != filepath.Join(prod, task) {
			t.Errorf("%s publishes = %+v", task, run.Publishes)
		}
		ch.waitAlerts(t, task, 1, 30*time.Second)
	}
	goldRun := s.runs(t, "gold")[0]
	if fmt.Sprint(goldRun.Publishes[0].Files) != "[gold_price.json]" {
		t.Errorf("gold published %v", goldRun.Publishes[0].Files)
	}
	published, err := os.ReadFile(filepath.Join(prod, "gold", "gold_price.json"))
	if err != nil {
		t.Fatal(err)
	}
	archived, err := os.ReadFile(filepath.Join(s.env.Config.TasksDir, goldRun.HistoryPath, "gold_price.json"))
	if err != nil || string(archived) != string(published) {
		t.Errorf("prod holds %s, the run's history %s (%v)", published, archived, err)
	}
	var price struct{ Price float64 }
	_ = json.Unmarshal(published, &price)
	if a := ch.webhookAlerts("gold")[0]; a["kind"] != "custom" || !strings.Contains(fmt.Sprint(a["title"]), fmt.Sprint(price.Price)) {
		t.Errorf("gold's alert = %v, want its price %v", a, price.Price)
	}
	if b, err := os.ReadFile(filepath.Join(prod, "shell", "sub", "hi.txt")); err != nil || string(b) != "hi\n" {
		t.Errorf("shell's publish: %q, %v", b, err)
	}
	shellRun := s.runs(t, "shell")[0]
	if !strings.Contains(strings.Join(shellRun.StderrHead, "\n"), `unknown publish target "nowhere"`) {
		t.Errorf("publishing to an unknown target should say so on stderr: %q", shellRun.StderrHead)
	}
}
