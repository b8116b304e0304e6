package taskdef_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// tasks is a table of valid tasks, each stressing some settings; every
// task the console can save should round-trip like these.
func tasks() []tasktype.Task {
	base := func(name string, set func(*tasktype.Task)) tasktype.Task {
		t := tasktype.Task{Name: name, Rule: "0 * * * *", TimeZone: "UTC", TimeoutAction: tasktype.TimeoutKill,
			Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip, LearnNormal: true, Retry: tasktype.Retry{}.WithDefaults(),
			AfterCondition: tasktype.AfterAllSucceeded}
		if set != nil {
			set(&t)
		}
		return t
	}
	return []tasktype.Task{
		base("minimal", nil),
		base("everything", func(t *tasktype.Task) {
			t.Rule, t.TimeZone, t.Timeout, t.TimeoutAction = "*/10 * * * * *", "Asia/Shanghai", 3*time.Hour, tasktype.TimeoutWarn
			t.Overlap, t.Owners, t.Description = tasktype.OverlapBufferAll, []string{"ops@example.com", "U024BE7LH"}, "gold prices\nhourly: <b>&</b>"
			t.AlertChannels, t.SlackChannel, t.WebhookURL = []string{"slack", "webhook"}, "#ops", "https://hooks.example.com/x?a=1&b=2"
			t.RunAs, t.MemoryLimitMB, t.CPULimit, t.PidsLimit = "batch", new(512), new(0.5), new(64)
			t.KeepRuns, t.KeepDays, t.LearnNormal, t.SlowMargin = new(100), new(30), false, new(90*time.Second)
			t.Retry = tasktype.Retry{Max: 3, Delay: 30 * time.Second, Backoff: 1.5, MaxDelay: 600 * time.Second, On: "1-99,137", TimedOut: true, Lost: true}
			t.Params = []tasktype.Param{{Name: "DAY", Required: true, Pattern: "[0-9-]+"}, {Name: "MODE", Default: "full run"}}
			t.After, t.AfterCondition, t.OnFailure, t.Deadline = []string{"extract", "prices"}, tasktype.AfterAnySucceeded, []string{"cleanup"}, "07:00"
		}),
		base("paused", func(t *tasktype.Task) { t.Status, t.StatusNote = tasktype.StatusOff, "vendor down: ticket 42" }),
		base("no-limits", func(t *tasktype.Task) {
			t.MemoryLimitMB, t.CPULimit, t.PidsLimit, t.KeepRuns, t.KeepDays = new(0), new(0.0), new(0), new(0), new(0)
		}),
		base("slow-default", func(t *tasktype.Task) { t.SlowMargin = new(60 * time.Second) }),
		base("long-wait", func(t *tasktype.Task) {
			t.Retry = tasktype.Retry{Max: 1, Delay: 2 * time.Hour, Backoff: 2, MaxDelay: 2 * time.Hour}
		}),
		base("fixed-wait", func(t *tasktype.Task) {
			t.Retry = tasktype.Retry{Max: 100, Delay: 86400 * time.Second, Backoff: 1, MaxDelay: 86400 * time.Second, On: "0"}
		}),
		base("yes", func(t *tasktype.Task) { t.Description, t.StatusNote = "123", "" }),
		base("0123", func(t *tasktype.Task) { t.Rule = "0 30 9 * * 1-5"; t.Timeout = 604800 * time.Second }),
		base("after-only", func(t *tasktype.Task) {
			t.Rule, t.After, t.AfterCondition, t.Deadline = "", []string{"minimal"}, tasktype.AfterAllDone, "+2h"
		}),
		base("on-failure", func(t *tasktype.Task) { t.OnFailure, t.Deadline = []string{"cleanup", "page-me"}, "+90m" }),
	}
}

// equalTasks compares two tasks' settings (not their bookkeeping).
func equalTasks(a, b tasktype.Task) bool {
	a.Version, a.CreatedAt, a.UpdatedAt, a.LastStartTime, a.LastEndTime, a.LastWarningTime = "", time.Time{}, time.Time{}, nil, nil, nil
	b.Version, b.CreatedAt, b.UpdatedAt, b.LastStartTime, b.LastEndTime, b.LastWarningTime = "", time.Time{}, time.Time{}, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// TestFromTaskGivesTheTaskBack: the definition of a stored task describes
// that task, every setting kept, directly and through JSON (the API).
func TestFromTaskGivesTheTaskBack(t *testing.T) {
	t.Parallel()
	for _, want := range tasks() {
		d := taskdef.FromTask(want)
		got, errs := d.Task()
		if len(errs) > 0 {
			t.Errorf("%s: errors %q", want.Name, errs)
			continue
		}
		if !equalTasks(got, want) {
			t.Errorf("%s: FromTask(t).Task() =\n%+v\nwant\n%+v", want.Name, got, want)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back taskdef.Definition
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("%s: JSON %s: %v", want.Name, b, err)
		}
		if got, _ := back.Task(); !equalTasks(got, want) {
			t.Errorf("%s: through JSON %s: %+v", want.Name, b, got)
		}
	}
}

// TestFieldNamesAreTheContracts: a definition's JSON and YAML names are
// t_task_list's columns as the API, the CLI and task files agree.
func TestFieldNamesAreTheContracts(t *testing.T) {
	t.Parallel()
	want := []string{"name", "rule", "after", "after_condition", "on_failure", "deadline", "time_zone", "timeout", "timeout_action", "enabled", "status_note", "overlap_policy",
		"owners", "description", "alert_channels", "slack_channel", "webhook_url", "run_as", "memory_limit_mb", "cpu_limit",
		"pids_limit", "keep_runs", "keep_days", "learn_normal", "slow_margin_seconds", "retry", "params"}
	wantRetry := []string{"max", "delay_seconds", "backoff", "delay_max_seconds", "on", "timed_out", "lost"}
	for _, tt := range []struct {
		v    any
		want []string
	}{{taskdef.Definition{}, want}, {taskdef.Retry{}, wantRetry}} {
		for _, tag := range []string{"json", "yaml"} {
			var got []string
			typ := reflect.TypeOf(tt.v)
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get(tag), ",")
				got = append(got, name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s %s names: %q\nwant %q", typ.Name(), tag, got, tt.want)
			}
		}
	}
}
