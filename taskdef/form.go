package taskdef

import (
	"cmp"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
)

// OverlapPolicies are the overlap policies a task may take, in the order
// the console lists them.
var OverlapPolicies = []tasktype.OverlapPolicy{
	tasktype.OverlapSkip, tasktype.OverlapBufferOne, tasktype.OverlapBufferAll,
	tasktype.OverlapCancelOther, tasktype.OverlapTerminateOther, tasktype.OverlapAllowAll,
}

// slackMemberRE matches Slack member ids, which owners may list besides e-mail addresses.
var slackMemberRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// slackChannelRE matches a Slack channel name (#ops) or id (C0123ABC).
var slackChannelRE = regexp.MustCompile(`^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,20})$`)

// The bounds of fields as typed.
const (
	// MaxTimeoutSeconds bounds timeout: a week.
	MaxTimeoutSeconds = 7 * 24 * 3600
	// MaxKeep bounds keep_runs and keep_days: far more than anyone
	// means, small enough for the database's integer.
	MaxKeep = 1_000_000
	// MaxSlowMarginSeconds bounds slow_margin_seconds: a week.
	MaxSlowMarginSeconds = 7 * 24 * 3600
)

// Form is a task as typed into the console's create/edit form: every
// setting as text, as the browser sends it. A blank field takes the
// setting's default. Task validates it; Definition.Task converts a
// definition to a Form and validates it the same way.
type Form struct {
	Name, Rule, TimeZone, Timeout, TimeoutAction, Overlap string
	Owners, Description, SlackChannel, WebhookURL, Note   string
	Enabled                                               bool
	AlertChannels                                         []string
	// RunAs and the limits are as typed: blank means the worker's default.
	RunAs, MemoryLimitMB, CPULimit, PidsLimit string
	// KeepRuns and KeepDays are the retention as typed: blank means the
	// global default.
	KeepRuns, KeepDays string
	// The retry policy as typed: waits in seconds, exit codes as ranges.
	RetryMax, RetryDelay, RetryBackoff, RetryMaxDelay, RetryOn string
	RetryTimedOut, RetryLost                                   bool
	// LearnNormal and SlowMargin (seconds; blank = 60) are the unusual-run
	// alerts' settings.
	LearnNormal bool
	SlowMargin  string
	// Params declares the task's parameters, one a line, in the syntax
	// ParseParams reads.
	Params string
	// After and OnFailure are task names, comma separated (blank: none);
	// AfterCondition is one of AfterConditions (blank: all_succeeded);
	// Deadline is as DeadlineSyntax says (blank: none).
	After, AfterCondition, OnFailure, Deadline string
}

// NewForm is the console's new-task form as it opens: the settings it
// preselects. An omitted field of a Definition means the same.
func NewForm() Form {
	return Form{
		TimeZone: "UTC", Timeout: "600", TimeoutAction: string(tasktype.TimeoutKill),
		Overlap: string(tasktype.OverlapSkip), Enabled: true, LearnNormal: true,
		AfterCondition: string(tasktype.AfterAllSucceeded),
	}
}

// FormFromTask is the form that edits t.
func FormFromTask(t tasktype.Task) Form {
	return Form{
		Name: t.Name, Rule: t.Rule, TimeZone: t.TimeZone, Timeout: strconv.Itoa(int(t.Timeout / time.Second)),
		TimeoutAction: string(t.TimeoutAction), Overlap: string(t.Overlap),
		Owners: strings.Join(t.Owners, ", "), Description: t.Description, SlackChannel: t.SlackChannel,
		WebhookURL: t.WebhookURL, Note: t.StatusNote, Enabled: t.Status == tasktype.StatusOn,
		AlertChannels: t.AlertChannels,
		RunAs:         t.RunAs, MemoryLimitMB: optInt(t.MemoryLimitMB), CPULimit: optFloat(t.CPULimit), PidsLimit: optInt(t.PidsLimit),
		KeepRuns: optInt(t.KeepRuns), KeepDays: optInt(t.KeepDays),
		RetryMax: strconv.Itoa(t.Retry.Max), RetryDelay: strconv.Itoa(int(t.Retry.Delay / time.Second)),
		RetryBackoff: strconv.FormatFloat(t.Retry.Backoff, 'f', -1, 64), RetryMaxDelay: strconv.Itoa(int(t.Retry.MaxDelay / time.Second)),
		RetryOn: t.Retry.On, RetryTimedOut: t.Retry.TimedOut, RetryLost: t.Retry.Lost,
		LearnNormal: t.LearnNormal, SlowMargin: optSeconds(t.SlowMargin),
		Params: FormatParams(t.Params),
		After:  strings.Join(t.After, ", "), AfterCondition: string(cmp.Or(t.AfterCondition, tasktype.AfterAllSucceeded)),
		OnFailure: strings.Join(t.OnFailure, ", "), Deadline: t.Deadline,
	}
}

// HasChannel reports whether the form limits alerts to channel ch.
func (f Form) HasChannel(ch string) bool { return slices.Contains(f.AlertChannels, ch) }

// Task validates the form and builds the task it describes. The map holds
// what is wrong, keyed by the console's field names ("rule", "overlap",
// "note", "retry_delay", "params", ...); it is empty when the task is
// valid. A blank timeout is written back as "0", as the form then shows it.
func (f *Form) Task() (tasktype.Task, map[string]string) {
	params, err := ParseParams(f.Params)
	t, errs := f.build(params, SplitNames(f.After), SplitNames(f.OnFailure))
	if err != nil {
		errs["params"] = err.Error()
	}
	return t, errs
}

// SplitNames reads a list of task names as the form's after and
// on_failure fields hold them: separated by commas, spaces or new lines.
func SplitNames(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}

// build is Task with the lists already read: a Definition's parameters,
// upstreams and on-failure tasks come as lists, not as text.
func (f *Form) build(params []tasktype.Param, after, onFailure []string) (tasktype.Task, map[string]string) {
	errs := map[string]string{}
	t := tasktype.Task{
		Name: f.Name, Rule: f.Rule, TimeZone: f.TimeZone, Description: f.Description,
		TimeoutAction: tasktype.TimeoutAction(f.TimeoutAction), Overlap: tasktype.OverlapPolicy(f.Overlap),
		SlackChannel: f.SlackChannel, WebhookURL: f.WebhookURL, StatusNote: f.Note, Status: tasktype.StatusOff,
	}
	if f.Enabled {
		t.Status, t.StatusNote = tasktype.StatusOn, ""
	}
	if err := tasktype.ValidateName(f.Name); err != nil {
		errs["name"] = err.Error()
	}
	if t.TimeZone == "" {
		t.TimeZone = "UTC" // the field's placeholder: blank is UTC, never the host's zone
	}
	f.chain(&t, errs, after, onFailure)
	if _, err := tasktype.ValidateTimeZone(t.TimeZone); err != nil {
		errs["time_zone"] = err.Error()
	} else if f.Rule == "" && len(after) > 0 {
		// it runs only after its upstreams
	} else if f.Rule == "" {
		errs["rule"] = "required: a crontab rule, or leave it blank and name the tasks this one runs after (after)"
	} else if _, err := rule.Parse(f.Rule); err != nil {
		errs["rule"] = err.Error()
	}
	if f.Timeout == "" {
		f.Timeout = "0"
	}
	if secs, err := strconv.Atoi(f.Timeout); err != nil || secs < 0 || secs > MaxTimeoutSeconds {
		errs["timeout"] = "seconds from 0 (no limit) to 604800 (a week)"
	} else {
		t.Timeout = time.Duration(secs) * time.Second
	}
	if t.TimeoutAction != tasktype.TimeoutKill && t.TimeoutAction != tasktype.TimeoutWarn {
		errs["timeout_action"] = "kill or warn"
	}
	if !slices.Contains(OverlapPolicies, t.Overlap) {
		errs["overlap"] = "one of " + overlapNames()
	}
	for _, o := range strings.FieldsFunc(f.Owners, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if strings.Contains(o, "@") {
			if a, err := mail.ParseAddress(o); err != nil || a.Address != o {
				errs["owners"] = fmt.Sprintf("%q is not an e-mail address", o)
				break
			}
		} else if !slackMemberRE.MatchString(o) {
			errs["owners"] = fmt.Sprintf("%q is neither an e-mail address nor a Slack member id (U…)", o)
			break
		}
		if !slices.Contains(t.Owners, o) {
			t.Owners = append(t.Owners, o)
		}
	}
	for _, ch := range f.AlertChannels {
		if !slices.Contains(tasktype.AlertChannelNames, ch) {
			errs["alert_channels"] = fmt.Sprintf("unknown channel %q", ch)
			break
		}
		t.AlertChannels = append(t.AlertChannels, ch)
	}
	if t.SlackChannel != "" && !slackChannelRE.MatchString(t.SlackChannel) {
		errs["slack_channel"] = "a channel name like #ops or an id like C0123ABC"
	}
	if t.WebhookURL != "" {
		if u, err := url.Parse(t.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs["webhook_url"] = "an http:// or https:// URL"
		}
	}
	if err := tasktype.ValidateLength("the description", t.Description, tasktype.MaxDescriptionChars); err != nil {
		errs["description"] = err.Error()
	}
	if err := tasktype.ValidateLength("the note", t.StatusNote, tasktype.MaxStatusNoteChars); err != nil {
		errs["note"] = err.Error()
	}
	f.isolation(&t, errs)
	t.KeepRuns = keep(errs, "keep_runs", f.KeepRuns)
	t.KeepDays = keep(errs, "keep_days", f.KeepDays)
	t.Retry = f.retry(errs)
	t.LearnNormal = f.LearnNormal
	if f.SlowMargin != "" {
		if n, err := strconv.Atoi(f.SlowMargin); err != nil || n <= 0 || n > MaxSlowMarginSeconds {
			errs["slow_margin_seconds"] = fmt.Sprintf("a whole number of seconds from 1 to %d, or blank for 60", MaxSlowMarginSeconds)
		} else {
			t.SlowMargin = new(time.Duration(n) * time.Second)
		}
	}
	if err := tasktype.ValidateParams(params); err != nil {
		errs["params"] = err.Error()
	} else if len(params) > 0 {
		t.Params = params
	}
	return t, errs
}

// retry reads the retry policy; a blank field takes the default.
func (f *Form) retry(errs map[string]string) tasktype.Retry {
	r := tasktype.Retry{TimedOut: f.RetryTimedOut, Lost: f.RetryLost}.WithDefaults()
	if codes, err := tasktype.ParseExitCodes(f.RetryOn); err == nil {
		r.On = codes.String() // as the database keeps it: "1-99,137"
	} else {
		r.On = f.RetryOn // Validate names the error
	}
	// whole reads a whole number field; false when blank (the default)
	// or wrong (the field's error is set).
	whole := func(field, text string) (int, bool) {
		if text == "" {
			return 0, false
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < 0 {
			errs[field] = fmt.Sprintf("%q is not a whole number", text)
			return 0, false
		}
		return n, true
	}
	if n, ok := whole("retry_max", f.RetryMax); ok {
		r.Max = n
	}
	if n, ok := whole("retry_delay", f.RetryDelay); ok {
		r.Delay = time.Duration(n) * time.Second
		r.MaxDelay = max(r.MaxDelay, r.Delay) // the default cap is never under the wait
	}
	if n, ok := whole("retry_delay_max", f.RetryMaxDelay); ok {
		r.MaxDelay = time.Duration(n) * time.Second
	}
	if f.RetryBackoff != "" {
		x, err := strconv.ParseFloat(f.RetryBackoff, 64)
		if err != nil {
			errs["retry_backoff"] = fmt.Sprintf("%q is not a number", f.RetryBackoff)
		}
		r.Backoff = x
	}
	if err := r.Validate(); err != nil {
		field, _, _ := strings.Cut(err.Error(), " ")
		if _, taken := errs[field]; !taken {
			errs[field] = err.Error()
		}
	}
	return r
}

// keep reads one retention field: nil when blank (the global default),
// else a whole number from 0 (no limit) up.
func keep(errs map[string]string, field, text string) *int {
	if text == "" {
		return nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > MaxKeep {
		errs[field] = fmt.Sprintf("a whole number from 0 (no limit) to %d, or blank for the default", MaxKeep)
		return nil
	}
	return &n
}

// isolation reads the run-as user and the limits into t. A blank field
// leaves the setting nil, the worker's default; the bounds are
// tasktype.Limits.Validate's, which the database checks too.
func (f *Form) isolation(t *tasktype.Task, errs map[string]string) {
	if err := tasktype.ValidateUserName(f.RunAs); err != nil {
		errs["run_as"] = err.Error()
	} else {
		t.RunAs = f.RunAs
	}
	parseInt := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	parseFloat := func(s string) (float64, error) {
		x, err := strconv.ParseFloat(s, 64)
		if err == nil && math.IsNaN(x) {
			err = strconv.ErrSyntax
		}
		return x, err
	}
	if mb, err := parseLimit(f.MemoryLimitMB, parseInt, func(n int64) tasktype.Limits { return tasktype.Limits{MemoryMB: n} },
		fmt.Sprintf("a whole number of MiB: use 0 (none) or %d to %d", tasktype.MinMemoryLimitMB, tasktype.MaxMemoryLimitMB)); err != nil {
		errs["memory_limit_mb"] = err.Error()
	} else if mb != nil {
		n := int(*mb)
		t.MemoryLimitMB = &n
	}
	if cpu, err := parseLimit(f.CPULimit, parseFloat, func(x float64) tasktype.Limits { return tasktype.Limits{CPU: x} },
		fmt.Sprintf("a number of cores such as 0.5 or 2: use 0 (none) or %g to %d", tasktype.MinCPULimit, tasktype.MaxCPULimit)); err != nil {
		errs["cpu_limit"] = err.Error()
	} else {
		t.CPULimit = cpu
	}
	if pids, err := parseLimit(f.PidsLimit, parseInt, func(n int64) tasktype.Limits { return tasktype.Limits{Pids: n} },
		fmt.Sprintf("a whole number of processes: use 0 (none) or %d to %d", tasktype.MinPidsLimit, tasktype.MaxPidsLimit)); err != nil {
		errs["pids_limit"] = err.Error()
	} else if pids != nil {
		n := int(*pids)
		t.PidsLimit = &n
	}
}

// parseLimit reads one limit field: nil when blank, else the value parse
// reads, if the Limits it makes pass Validate. want says what the field
// takes, for text that is not a number.
func parseLimit[T int64 | float64](text string, parse func(string) (T, error), limits func(T) tasktype.Limits, want string) (*T, error) {
	if text == "" {
		return nil, nil
	}
	v, err := parse(text)
	if err != nil {
		return nil, fmt.Errorf("%q is not %s, or leave it blank for the worker's default", text, want)
	}
	if err := limits(v).Validate(); err != nil {
		return nil, err
	}
	return &v, nil
}

// optSeconds prints an optional duration in whole seconds: blank when nil.
func optSeconds(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return strconv.Itoa(int(*d / time.Second))
}

// optInt and optFloat print an optional setting for the form: blank when nil.
func optInt(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func optFloat(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

// overlapNames lists the overlap policies, for an error message.
func overlapNames() string {
	names := make([]string, len(OverlapPolicies))
	for i, p := range OverlapPolicies {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
