package taskdef_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// TestDefinitionsAndTheFormRefuseWithTheSameMessage: for each field, the
// same bad value typed into the console form and written in a definition
// is refused with the same message, under the form's field name and the
// definition's field path.
func TestDefinitionsAndTheFormRefuseWithTheSameMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		formField, defField string
		form                func(*taskdef.Form)
		def                 func(*taskdef.Definition)
		want                string
	}{
		{"name", "name", func(f *taskdef.Form) { f.Name = "../etc" }, func(d *taskdef.Definition) { d.Name = "../etc" }, "invalid task name"},
		{"rule", "rule", func(f *taskdef.Form) { f.Rule = "*/2 25 * * *" }, func(d *taskdef.Definition) { d.Rule = "*/2 25 * * *" }, "hour: 25 is out of range 0-23"},
		{"time_zone", "time_zone", func(f *taskdef.Form) { f.TimeZone = "Mars/Olympus" }, func(d *taskdef.Definition) { d.TimeZone = "Mars/Olympus" }, "unknown time zone"},
		{"time_zone", "time_zone", func(f *taskdef.Form) { f.TimeZone = "Local" }, func(d *taskdef.Definition) { d.TimeZone = "Local" }, "not the host's zone"},
		{"timeout", "timeout", func(f *taskdef.Form) { f.Timeout = "-5" }, func(d *taskdef.Definition) { d.Timeout = -5 }, "seconds from 0"},
		{"timeout", "timeout", func(f *taskdef.Form) { f.Timeout = "604801" }, func(d *taskdef.Definition) { d.Timeout = 604801 }, "seconds from 0"},
		{"timeout_action", "timeout_action", func(f *taskdef.Form) { f.TimeoutAction = "shrug" }, func(d *taskdef.Definition) { d.TimeoutAction = "shrug" }, "kill or warn"},
		{"overlap", "overlap_policy", func(f *taskdef.Form) { f.Overlap = "sometimes" }, func(d *taskdef.Definition) { d.OverlapPolicy = "sometimes" }, "one of skip, buffer_one"},
		{"owners", "owners", func(f *taskdef.Form) { f.Owners = "ops@example.com, <script>" },
			func(d *taskdef.Definition) { d.Owners = []string{"ops@example.com", "<script>"} }, "neither an e-mail address nor a Slack member id"},
		{"owners", "owners", func(f *taskdef.Form) { f.Owners = "a@b@c" }, func(d *taskdef.Definition) { d.Owners = []string{"a@b@c"} }, "is not an e-mail address"},
		{"alert_channels", "alert_channels", func(f *taskdef.Form) { f.AlertChannels = []string{"pager"} },
			func(d *taskdef.Definition) { d.AlertChannels = []string{"pager"} }, `unknown channel "pager"`},
		{"slack_channel", "slack_channel", func(f *taskdef.Form) { f.SlackChannel = "ops" }, func(d *taskdef.Definition) { d.SlackChannel = "ops" }, "#ops"},
		{"webhook_url", "webhook_url", func(f *taskdef.Form) { f.WebhookURL = "javascript:alert(1)" },
			func(d *taskdef.Definition) { d.WebhookURL = "javascript:alert(1)" }, "http:// or https://"},
		{"description", "description", func(f *taskdef.Form) { f.Description = strings.Repeat("说", 4001) },
			func(d *taskdef.Definition) { d.Description = strings.Repeat("说", 4001) }, "4001 characters long"},
		{"note", "status_note", func(f *taskdef.Form) { f.Enabled, f.Note = false, strings.Repeat("x", 501) },
			func(d *taskdef.Definition) { d.Enabled, d.StatusNote = new(false), strings.Repeat("x", 501) }, "501 characters long"},
		{"run_as", "run_as", func(f *taskdef.Form) { f.RunAs = "Root" }, func(d *taskdef.Definition) { d.RunAs = "Root" }, "invalid user name"},
		{"memory_limit_mb", "memory_limit_mb", func(f *taskdef.Form) { f.MemoryLimitMB = "8" }, func(d *taskdef.Definition) { d.MemoryLimitMB = new(8) }, "memory limit 8 MiB"},
		{"cpu_limit", "cpu_limit", func(f *taskdef.Form) { f.CPULimit = "2000" }, func(d *taskdef.Definition) { d.CPULimit = new(2000.0) }, "CPU limit 2000 cores"},
		{"pids_limit", "pids_limit", func(f *taskdef.Form) { f.PidsLimit = "1" }, func(d *taskdef.Definition) { d.PidsLimit = new(1) }, "pids limit 1"},
		{"keep_runs", "keep_runs", func(f *taskdef.Form) { f.KeepRuns = "-1" }, func(d *taskdef.Definition) { d.KeepRuns = new(-1) }, "a whole number from 0"},
		{"keep_days", "keep_days", func(f *taskdef.Form) { f.KeepDays = "2000000" }, func(d *taskdef.Definition) { d.KeepDays = new(2000000) }, "a whole number from 0"},
		{"slow_margin_seconds", "slow_margin_seconds", func(f *taskdef.Form) { f.SlowMargin = "0" },
			func(d *taskdef.Definition) { d.SlowMarginSeconds = new(0) }, "from 1 to 604800"},
		{"retry_max", "retry.max", func(f *taskdef.Form) { f.RetryMax = "101" }, func(d *taskdef.Definition) { d.Retry = &taskdef.Retry{Max: 101} }, "retry_max 101: want 0 to 100"},
		{"retry_max", "retry.max", func(f *taskdef.Form) { f.RetryMax = "-1" }, func(d *taskdef.Definition) { d.Retry = &taskdef.Retry{Max: -1} }, "not a whole number"},
		{"retry_delay", "retry.delay_seconds", func(f *taskdef.Form) { f.RetryDelay = "0" },
			func(d *taskdef.Definition) { d.Retry = &taskdef.Retry{DelaySeconds: new(0)} }, "retry_delay 0s"},
		{"retry_delay_max", "retry.delay_max_seconds", func(f *taskdef.Form) { f.RetryDelay, f.RetryMaxDelay = "120", "60" },
			func(d *taskdef.Definition) {
				d.Retry = &taskdef.Retry{DelaySeconds: new(120), DelayMaxSeconds: new(60)}
			}, "retry_delay_max 1m0s"},
		{"retry_backoff", "retry.backoff", func(f *taskdef.Form) { f.RetryBackoff = "0.5" },
			func(d *taskdef.Definition) { d.Retry = &taskdef.Retry{Backoff: new(0.5)} }, "retry_backoff 0.5"},
		{"retry_on", "retry.on", func(f *taskdef.Form) { f.RetryOn = "1,x" }, func(d *taskdef.Definition) { d.Retry = &taskdef.Retry{On: "1,x"} }, `"x" is not an exit code`},
		{"params", "params", func(f *taskdef.Form) { f.Params = "1DAY" }, func(d *taskdef.Definition) { d.Params = []tasktype.Param{{Name: "1DAY"}} }, `parameter name "1DAY"`},
		{"params", "params", func(f *taskdef.Form) { f.Params = "DAY pattern=(" },
			func(d *taskdef.Definition) { d.Params = []tasktype.Param{{Name: "DAY", Pattern: "("}} }, `pattern of parameter "DAY"`},
		{"params", "params", func(f *taskdef.Form) { f.Params = "DAY default=x pattern=[0-9]+" },
			func(d *taskdef.Definition) {
				d.Params = []tasktype.Param{{Name: "DAY", Default: "x", Pattern: "[0-9]+"}}
			}, `default of parameter "DAY"`},
		{"after", "after", func(f *taskdef.Form) { f.After = "extract, ../etc" }, func(d *taskdef.Definition) { d.After = []string{"extract", "../etc"} }, `invalid task name "../etc"`},
		{"after", "after", func(f *taskdef.Form) { f.After = "extract gold" }, func(d *taskdef.Definition) { d.After = []string{"extract", "gold"} },
			`"gold" is this task: a task cannot run after itself`},
		{"on_failure", "on_failure", func(f *taskdef.Form) { f.OnFailure = "gold" }, func(d *taskdef.Definition) { d.OnFailure = []string{"gold"} },
			`"gold" is this task: a task cannot run on its own failure`},
		{"on_failure", "on_failure", func(f *taskdef.Form) { f.OnFailure = manyNames(33) }, func(d *taskdef.Definition) { d.OnFailure = taskdef.SplitNames(manyNames(33)) },
			"33 tasks: at most 32"},
		{"after_condition", "after_condition", func(f *taskdef.Form) { f.After, f.AfterCondition = "extract", "most_succeeded" },
			func(d *taskdef.Definition) { d.After, d.AfterCondition = []string{"extract"}, "most_succeeded" },
			`"most_succeeded": want one of all_succeeded, any_succeeded, all_done`},
		{"deadline", "deadline", func(f *taskdef.Form) { f.Deadline = "7am" }, func(d *taskdef.Definition) { d.Deadline = "7am" },
			`"7am" is not a deadline: want a time of day HH:MM in the task's time zone`},
		{"deadline", "deadline", func(f *taskdef.Form) { f.Deadline = "+2d" }, func(d *taskdef.Definition) { d.Deadline = "+2d" }, "+<n>s, +<n>m or +<n>h"},
		{"deadline", "deadline", func(f *taskdef.Form) { f.Deadline = "24:00" }, func(d *taskdef.Definition) { d.Deadline = "24:00" }, `"24:00" is not a deadline`},
		{"rule", "rule", func(f *taskdef.Form) { f.Rule = "" }, func(d *taskdef.Definition) { d.Rule = "" }, "required: a crontab rule, or leave it blank and name the tasks"},
		{"params", "params", func(f *taskdef.Form) { f.Params = "DAY\nday" },
			func(d *taskdef.Definition) { d.Params = []tasktype.Param{{Name: "DAY"}, {Name: "day"}} }, "declared twice"},
	}
	for _, tt := range tests {
		f := taskdef.NewForm()
		f.Name, f.Rule = "gold", "0 * * * *"
		tt.form(&f)
		_, formErrs := f.Task()
		d := taskdef.Definition{Name: "gold", Rule: "0 * * * *"}
		tt.def(&d)
		_, defErrs := d.Task()
		if !strings.Contains(formErrs[tt.formField], tt.want) {
			t.Errorf("form %s: errors %q, want %q under %s", tt.formField, formErrs, tt.want, tt.formField)
		}
		if defErrs[tt.defField] != formErrs[tt.formField] {
			t.Errorf("definition %s: %q, want the form's %q", tt.defField, defErrs[tt.defField], formErrs[tt.formField])
		}
		if len(defErrs) != 1 {
			t.Errorf("definition %s: errors %q, want only %s", tt.defField, defErrs, tt.defField)
		}
	}
}

// manyNames is n distinct task names, comma separated.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = "t" + strconv.Itoa(i)
	}
	return strings.Join(names, ",")
}

// TestChainSettingsAreReadAsTyped: a rule may be blank when the task
// runs after others; the lists take commas, spaces or lines, and a name
// given twice counts once; the deadline's two forms and the conditions
// are taken; blank condition is all_succeeded.
func TestChainSettingsAreReadAsTyped(t *testing.T) {
	t.Parallel()
	f := taskdef.NewForm()
	f.Name, f.Rule, f.After, f.OnFailure, f.Deadline = "report", "", "extract,  prices\nextract", "cleanup; page-me", " 07:30 "
	got, errs := f.Task()
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	if got.Rule != "" || !slices.Equal(got.After, []string{"extract", "prices"}) || got.AfterCondition != tasktype.AfterAllSucceeded ||
		!slices.Equal(got.OnFailure, []string{"cleanup", "page-me"}) || got.Deadline != "07:30" {
		t.Errorf("task: after %q %q, on_failure %q, deadline %q, rule %q", got.After, got.AfterCondition, got.OnFailure, got.Deadline, got.Rule)
	}
	for _, ok := range []string{"", "00:00", "23:59", "+1s", "+90m", "+999999h"} {
		if err := taskdef.ValidateDeadline(ok); err != nil {
			t.Errorf("deadline %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"7:00", "07:60", "+0h", "+1d", "+1000000s", "2h", "+ 2h"} {
		if taskdef.ValidateDeadline(bad) == nil {
			t.Errorf("deadline %q taken", bad)
		}
	}
	for _, c := range taskdef.AfterConditions {
		d := taskdef.Definition{Name: "report", After: []string{"extract"}, AfterCondition: string(c)}
		if got, errs := d.Task(); len(errs) > 0 || got.AfterCondition != c {
			t.Errorf("condition %s: %v, %q", c, got.AfterCondition, errs)
		}
	}
	back := taskdef.FormFromTask(got)
	if back.After != "extract, prices" || back.OnFailure != "cleanup, page-me" || back.Deadline != "07:30" || back.AfterCondition != "all_succeeded" {
		t.Errorf("the edit form: %+v", back)
	}
}

// TestOmittedFieldsAreTheBlankFormsDefaults: a definition with a name
// and a rule is the task the new-task form makes with every free field
// left blank.
func TestOmittedFieldsAreTheBlankFormsDefaults(t *testing.T) {
	t.Parallel()
	got, errs := taskdef.Definition{Name: "gold", Rule: "0 * * * *"}.Task()
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	f := taskdef.NewForm()
	f.Name, f.Rule, f.Timeout = "gold", "0 * * * *", ""
	want, errs := f.Task()
	if len(errs) > 0 {
		t.Fatalf("form errors: %q", errs)
	}
	if !equalTasks(got, want) {
		t.Errorf("omitted fields: %+v\nblank form:     %+v", got, want)
	}
	if got.TimeZone != "UTC" || got.Status != tasktype.StatusOn || got.Overlap != tasktype.OverlapSkip ||
		got.TimeoutAction != tasktype.TimeoutKill || !got.LearnNormal || got.Timeout != 0 ||
		got.Retry != (tasktype.Retry{}).WithDefaults() || got.MemoryLimitMB != nil || got.KeepRuns != nil || got.SlowMargin != nil ||
		got.After != nil || got.AfterCondition != tasktype.AfterAllSucceeded || got.OnFailure != nil || got.Deadline != "" {
		t.Errorf("defaults: %+v", got)
	}
}

// TestParamsTextReadsBackWhatItWrites: the console's params field prints
// any declaration so that reading it gives it back, and says which line
// is wrong.
func TestParamsTextReadsBackWhatItWrites(t *testing.T) {
	t.Parallel()
	params := []tasktype.Param{
		{Name: "DAY", Required: true, Default: "2026-01-01", Pattern: "[0-9-]+"},
		{Name: "GREETING", Default: `hello "world"` + "\ttab"},
		{Name: "RE", Pattern: `\d+ \w+`},
		{Name: "QUOTE", Default: `"`},
		{Name: "BARE", Default: `C:\path\x`},
	}
	text := taskdef.FormatParams(params)
	got, err := taskdef.ParseParams(text)
	if err != nil {
		t.Fatalf("ParseParams(%q): %v", text, err)
	}
	if !equalParams(got, params) {
		t.Errorf("ParseParams(FormatParams) = %+v\ntext:\n%s", got, text)
	}
	got, err = taskdef.ParseParams("# the day to load\n\n  DAY required default=2026-01-01 pattern=[0-9-]+  \nMODE pattern=full|quick default=full")
	if err != nil || len(got) != 2 || got[0] != params[0] || got[1] != (tasktype.Param{Name: "MODE", Default: "full", Pattern: "full|quick"}) {
		t.Errorf("the documented syntax: %+v, %v", got, err)
	}
	for _, tt := range []struct{ text, want string }{
		{"DAY\nMODE frob", `line 2: parameter "MODE": unknown word "frob"`},
		{"DAY default=\"open", "line 1: parameter \"DAY\": default: unterminated"},
		{"DAY default=\"a\"b", "put a space after the closing quote"},
		{"DAY required required", "required given twice"},
		{"=x", "start with the parameter's name"},
	} {
		if _, err := taskdef.ParseParams(tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseParams(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
}

func equalParams(a, b []tasktype.Param) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
