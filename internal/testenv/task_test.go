package testenv_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTaskFillsWhatATestLeavesOut(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()

	first := testenv.Task(ctx, t, env.Store.Pool(), nil)
	second := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{})
	if first == second || tasktype.ValidateName(first) != nil {
		t.Errorf("default names %q and %q: want two different valid names", first, second)
	}
	got, err := env.Store.GetTask(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != testenv.DefaultTaskRule || got.TimeZone != "UTC" || got.Status != tasktype.StatusOn ||
		got.Timeout != 0 || got.TimeoutAction != tasktype.TimeoutKill || got.Overlap != tasktype.OverlapSkip ||
		len(got.Owners) != 0 || len(got.AlertChannels) != 0 || got.RunAs != "" ||
		got.MemoryLimitMB != nil || got.CPULimit != nil || got.PidsLimit != nil ||
		got.Retry != (tasktype.Retry{}).WithDefaults() {
		t.Errorf("defaults: %+v", got)
	}
}

func TestTaskWritesWhatATestStates(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()

	name := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{
		Name: "gold", Rule: "*/5 * * * * *", TimeZone: "Asia/Shanghai",
		Timeout: 90 * time.Second, TimeoutAction: tasktype.TimeoutWarn,
		Status: new(tasktype.StatusOff), Overlap: tasktype.OverlapAllowAll,
		Owners: []string{"alice@example.com"}, Description: "the gold report",
		AlertChannels: []string{"webhook"}, SlackChannel: "#gold", WebhookURL: "https://example.com/hook",
		StatusNote: "paused for the audit", RunAs: "batch_user",
		MemoryLimitMB: new(0), CPULimit: new(0.5), PidsLimit: new(64),
		LearnNormal: new(false), SlowMarginSeconds: new(90),
		Retry: &tasktype.Retry{Max: 3, Delay: 5 * time.Second, Backoff: 1.5, MaxDelay: time.Minute, On: "1-99,137", TimedOut: true, Lost: true},
	})
	if name != "gold" {
		t.Errorf("returned %q, want gold", name)
	}
	got, err := env.Store.GetTask(ctx, "gold")
	if err != nil {
		t.Fatal(err)
	}
	want := tasktype.Task{
		Name: "gold", Rule: "*/5 * * * * *", TimeZone: "Asia/Shanghai",
		Timeout: 90 * time.Second, TimeoutAction: tasktype.TimeoutWarn,
		Status: tasktype.StatusOff, Overlap: tasktype.OverlapAllowAll,
		Owners: []string{"alice@example.com"}, Description: "the gold report",
		AlertChannels: []string{"webhook"}, SlackChannel: "#gold", WebhookURL: "https://example.com/hook",
		StatusNote: "paused for the audit", RunAs: "batch_user",
		MemoryLimitMB: new(0), CPULimit: new(0.5), PidsLimit: new(64),
		SlowMargin: new(90 * time.Second), AfterCondition: tasktype.AfterAllSucceeded,
		Retry:     tasktype.Retry{Max: 3, Delay: 5 * time.Second, Backoff: 1.5, MaxDelay: time.Minute, On: "1-99,137", TimedOut: true, Lost: true},
		CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row:\n got %+v\nwant %+v", got, want)
	}
}

func TestInsertTaskReturnsTheRefusal(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	for _, tt := range []struct {
		desc string
		opts testenv.TaskOpts
		want string
	}{
		{"a name the database refuses", testenv.TaskOpts{Name: "../etc"}, "task_name_is_a_folder_name"},
		{"an unknown overlap policy", testenv.TaskOpts{Overlap: "sometimes"}, "overlap_policy_known"},
		{"a timeout in part seconds", testenv.TaskOpts{Timeout: 1500 * time.Millisecond}, "not whole seconds"},
		{"too many retries", testenv.TaskOpts{Retry: &tasktype.Retry{Max: 101}}, "retry_max_range"},
		{"a retry wait past the cap", testenv.TaskOpts{Retry: &tasktype.Retry{Max: 1, Delay: time.Hour, MaxDelay: time.Minute}}, "retry_delay_max_range"},
		{"a shrinking backoff", testenv.TaskOpts{Retry: &tasktype.Retry{Max: 1, Backoff: 0.5}}, "retry_backoff_range"},
		{"exit codes in words", testenv.TaskOpts{Retry: &tasktype.Retry{Max: 1, On: "any"}}, "retry_on_codes"},
	} {
		if _, err := testenv.InsertTask(ctx, env.Store.Pool(), &tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %q", tt.desc, err, tt.want)
		}
	}
}
