package webui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// TestTaskRetryFieldsAndAFiresAttempts: the retry policy and the
// unusual-run settings are read from the form (a bad value comes back
// with its field's error and what was typed; blanks take the defaults),
// shown again in the edit form, and a run's page lists every attempt of
// its fire with the next one's due time.
func TestTaskRetryFieldsAndAFiresAttempts(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "ada", "ada password", webui.RoleAdmin)
	admin := newBrowser(t, consoleWith(t, env, nil))
	if admin.login("ada", "ada password") != 303 {
		t.Fatal("ada could not log in")
	}
	for _, bad := range []struct{ field, value, want string }{
		{"retry_max", "101", "retry_max 101: want 0 to 100"},
		{"retry_max", "x", `"x" is not a whole number`},
		{"retry_delay_seconds", "0", "retry_delay 0s: want 1 s"},
		{"retry_backoff", "0.5", "retry_backoff 0.5: want 1"},
		{"retry_on", "1,x", `retry_on "1,x": "x" is not an exit code`},
	} {
		code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "bad", "rule", "* * * * *", bad.field, bad.value))
		if code != 422 || !strings.Contains(body, strings.ReplaceAll(bad.want, `"`, "&#34;")) || !formField(bad.field, bad.value).MatchString(body) {
			t.Errorf("%s=%q: %d, want 422 with %q and the value typed", bad.field, bad.value, code, bad.want)
		}
	}
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "gold", "rule", "* * * * *",
		"retry_max", "3", "retry_delay_seconds", "", "retry_backoff", "1.5", "retry_on", "1-99, 137", "retry_lost", "1")); code != 303 {
		t.Fatalf("create: %d\n%s", code, body)
	}
	task, err := env.Store.GetTask(ctx, "gold")
	want := tasktype.Retry{Max: 3, Delay: time.Minute, Backoff: 1.5, MaxDelay: time.Hour, On: "1-99,137", Lost: true}
	if err != nil || task.Retry != want {
		t.Fatalf("saved retry %+v, %v; want %+v", task.Retry, err, want)
	}
	if task.LearnNormal || task.SlowMargin != nil {
		t.Errorf("learn_normal unticked: saved %v, slow margin %v; want false and the default", task.LearnNormal, task.SlowMargin)
	}
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "bad", "rule", "* * * * *",
		"slow_margin_seconds", "0")); code != 422 || !strings.Contains(body, "a whole number of seconds from 1") {
		t.Errorf("slow_margin_seconds=0: %d, want 422 with the field's error", code)
	}
	if code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", "silver", "rule", "* * * * *",
		"learn_normal", "1", "slow_margin_seconds", "90")); code != 303 {
		t.Fatalf("create silver: %d\n%s", code, body)
	}
	if silver, err := env.Store.GetTask(ctx, "silver"); err != nil || !silver.LearnNormal || silver.SlowMargin == nil || *silver.SlowMargin != 90*time.Second {
		t.Errorf("silver: learn_normal %v, slow margin %v, %v; want true and 90s", silver.LearnNormal, silver.SlowMargin, err)
	}
	if _, form, _ := admin.do("GET", "/create", nil); !strings.Contains(form, `name="learn_normal" value="1" checked`) {
		t.Error("a new task's form does not start with learn_normal ticked, the database's default")
	}
	_, edit, _ := admin.do("GET", "/tasks/gold/edit", nil)
	for field, value := range map[string]string{"retry_max": "3", "retry_delay_seconds": "60", "retry_backoff": "1.5", "retry_on": "1-99,137"} {
		if !formField(field, value).MatchString(edit) {
			t.Errorf("edit form lacks %s=%s", field, value)
		}
	}

	// Two attempts of one fire, the second waiting to retry.
	var ids []int64
	for attempt := 1; attempt <= 2; attempt++ {
		run, err := env.Store.StartRun(ctx, store.StartRunParams{TaskName: "gold", WorkflowID: "wf-gold", RunID: "r1",
			ScheduledTime: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Location: time.UTC, Attempt: attempt})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.FinishRun(ctx, store.FinishRunParams{RunID: run.ID, Status: tasktype.RunFailed, ExitCode: 7,
			Error: "retrying", RetryIn: time.Minute}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, run.ID)
	}
	_, page, _ := admin.do("GET", fmt.Sprintf("/runs/%d", ids[1]), nil)
	for _, w := range []string{", attempt 2</dd>", `<dd id="attempts"><a href="/runs/` + fmt.Sprint(ids[0]) + `">#1</a>`,
		`<a href="/runs/` + fmt.Sprint(ids[1]) + `" aria-current="page">#2</a>`, `<dd id="retry-at">due `} {
		if !strings.Contains(page, w) {
			t.Errorf("run page lacks %q", w)
		}
	}
	_, first, _ := admin.do("GET", fmt.Sprintf("/runs/%d", ids[0]), nil)
	if strings.Contains(first, `id="retry-at"`) {
		t.Error("the first attempt still shows a next attempt due after the second started")
	}
	_, list, _ := admin.do("GET", "/runs?task=gold", nil)
	if !strings.Contains(list, ">attempt 2</small>") {
		t.Error("the run list does not mark the second attempt")
	}
}
