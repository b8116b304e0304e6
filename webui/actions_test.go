package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

var flashRE = regexp.MustCompile(`<p class="flash (\w+)" role="status" id="flash">([^<]*)</p>`)

// act posts an action from the task's page, follows the redirect and
// returns the one-time message the page shows ("" for none) and its kind.
func act(t *testing.T, b *browser, task, action string) (kind, text string) {
	t.Helper()
	code, body, h := b.do("POST", "/tasks/"+task+"/"+action, url.Values{"_csrf": {b.token("/tasks/" + task)}})
	if code != 303 || h.Get("Location") != "/tasks/"+task {
		t.Fatalf("%s %s: %d %s\n%s", action, task, code, h.Get("Location"), body)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "schetask_flash" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.MaxAge <= 0 || cookie.MaxAge > 60 {
		t.Errorf("%s %s: flash cookie %+v, want a short-lived HttpOnly one", action, task, cookie)
	}
	_, page, _ := b.do("GET", "/tasks/"+task, nil)
	m := flashRE.FindStringSubmatch(page)
	if m == nil {
		return "", ""
	}
	if _, again, _ := b.do("GET", "/tasks/"+task, nil); flashRE.MatchString(again) {
		t.Errorf("%s %s: the message is shown again on reload", action, task)
	}
	return m[1], unescape(m[2])
}

func unescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// TestActionsSayWhatHappened: after disable, enable and kill the task's
// page says, once, what happened, and when nothing did, why.
func TestActionsSayWhatHappened(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	upsertTask(t, env, taskFixture("gold", nil))
	op := loggedIn(t, env, "olga", webui.RoleOperator)
	for _, step := range []struct{ action, kind, want string }{
		{"pause", "ok", "Disabled gold"},
		{"pause", "warning", "Nothing changed: gold was already disabled."},
		{"resume", "ok", "Enabled gold"},
		{"resume", "warning", "Nothing changed: gold was already enabled."},
		{"kill", "warning", "Nothing killed: no run of gold was running."},
	} {
		kind, text := act(t, op, "gold", step.action)
		if kind != step.kind || !strings.HasPrefix(text, step.want) {
			t.Errorf("%s: message %s %q, want %s %q", step.action, kind, text, step.kind, step.want)
		}
	}
	// The database audits the row's insert, then the disable and the
	// enable, as the operator; not the actions that changed nothing.
	audit, err := env.Store.TaskAudit(context.Background(), "gold", 10)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Username+":"+e.Action)
	}
	if got := strings.Join(actions, " "); err != nil || len(audit) != 3 || !strings.HasPrefix(got, "olga:resume olga:pause ") {
		t.Errorf("audit, newest first: %s (%v); want olga:resume olga:pause, then the insert only", got, err)
	}
}

// TestRunNowSaysWhenTheFireIsSkipped: run now while a run goes, under
// overlap policy skip, is dropped by Temporal without a word; the console
// says so. (No worker runs here, so the first run stays running.)
func TestRunNowSaysWhenTheFireIsSkipped(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	upsertTask(t, env, taskFixture("gold", func(t *tasktype.Task) { t.Overlap = tasktype.OverlapSkip }))
	syncer, err := tasksync.New(serviceconfig.Sync(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syncer.ReconcileTask(ctx, "gold"); err != nil {
		t.Fatal(err)
	}
	h := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"gold")
	t.Cleanup(func() {
		if d, err := h.Describe(ctx); err == nil {
			for _, w := range d.Info.RunningWorkflows {
				_ = env.Temporal.TerminateWorkflow(ctx, w.WorkflowID, w.FirstExecutionRunID, "test over")
			}
		}
		_ = h.Delete(ctx)
	})
	op := loggedIn(t, env, "olga", webui.RoleOperator)

	if kind, text := act(t, op, "gold", "run"); kind != "ok" || text != "Started a run of gold." {
		t.Fatalf("first run now: %s %q, want it started", kind, text)
	}
	testenv.Eventually(t, 10*time.Second, func() string {
		d, err := h.Describe(ctx)
		if err != nil {
			return err.Error()
		}
		if len(d.Info.RunningWorkflows) != 1 {
			return "the first run is not running yet"
		}
		return ""
	})
	kind, text := act(t, op, "gold", "run")
	if want := "Not started: a run of gold is already going; with overlap policy skip this fire is skipped."; kind != "warning" || text != want {
		t.Errorf("run now while a run goes: %s %q, want warning %q", kind, text, want)
	}
}
