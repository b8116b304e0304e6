package webui

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
)

var overlapPolicies = []tasktype.OverlapPolicy{
	tasktype.OverlapSkip, tasktype.OverlapBufferOne, tasktype.OverlapBufferAll,
	tasktype.OverlapCancelOther, tasktype.OverlapTerminateOther, tasktype.OverlapAllowAll,
}

// slackMemberRE matches Slack member ids, which owners may list besides e-mail addresses.
var slackMemberRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// slackChannelRE matches a Slack channel name (#ops) or id (C0123ABC).
var slackChannelRE = regexp.MustCompile(`^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,20})$`)

// taskForm is a task as typed into the create/edit form, with its errors.
type taskForm struct {
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
	// Version is the task's updated_at (Unix µs) when the editor read it,
	// and Base its settings then (JSON of taskSettings), to say what
	// changed since when a save is refused as stale.
	Version, Base string
	Errors        map[string]string
}

func formFromTask(t tasktype.Task) taskForm {
	return taskForm{
		Name: t.Name, Rule: t.Rule, TimeZone: t.TimeZone, Timeout: strconv.Itoa(int(t.Timeout / time.Second)),
		TimeoutAction: string(t.TimeoutAction), Overlap: string(t.Overlap),
		Owners: strings.Join(t.Owners, ", "), Description: t.Description, SlackChannel: t.SlackChannel,
		WebhookURL: t.WebhookURL, Note: t.StatusNote, Enabled: t.Status == tasktype.StatusOn,
		AlertChannels: t.AlertChannels, Version: strconv.FormatInt(t.UpdatedAt.UnixMicro(), 10),
		RunAs: t.RunAs, MemoryLimitMB: optInt(t.MemoryLimitMB), CPULimit: optFloat(t.CPULimit), PidsLimit: optInt(t.PidsLimit),
		KeepRuns: optInt(t.KeepRuns), KeepDays: optInt(t.KeepDays),
		RetryMax: strconv.Itoa(t.Retry.Max), RetryDelay: strconv.Itoa(int(t.Retry.Delay / time.Second)),
		RetryBackoff: strconv.FormatFloat(t.Retry.Backoff, 'f', -1, 64), RetryMaxDelay: strconv.Itoa(int(t.Retry.MaxDelay / time.Second)),
		RetryOn: t.Retry.On, RetryTimedOut: t.Retry.TimedOut, RetryLost: t.Retry.Lost,
		LearnNormal: t.LearnNormal, SlowMargin: optSeconds(t.SlowMargin),
		Base: settingsJSON(t),
	}
}

func formFromRequest(c *fiber.Ctx) taskForm {
	f := taskForm{
		Name: strings.TrimSpace(c.FormValue("name")), Rule: strings.TrimSpace(c.FormValue("rule")),
		TimeZone: strings.TrimSpace(c.FormValue("time_zone")), Timeout: strings.TrimSpace(c.FormValue("timeout")),
		TimeoutAction: c.FormValue("timeout_action"), Overlap: c.FormValue("overlap"),
		Owners: c.FormValue("owners"), Description: strings.TrimSpace(c.FormValue("description")),
		SlackChannel: strings.TrimSpace(c.FormValue("slack_channel")), WebhookURL: strings.TrimSpace(c.FormValue("webhook_url")),
		Note: strings.TrimSpace(c.FormValue("note")), Enabled: c.FormValue("enabled") != "",
		Version: c.FormValue("version"), Base: c.FormValue("base"),
		RunAs: strings.TrimSpace(c.FormValue("run_as")), MemoryLimitMB: strings.TrimSpace(c.FormValue("memory_limit_mb")),
		CPULimit: strings.TrimSpace(c.FormValue("cpu_limit")), PidsLimit: strings.TrimSpace(c.FormValue("pids_limit")),
		KeepRuns: strings.TrimSpace(c.FormValue("keep_runs")), KeepDays: strings.TrimSpace(c.FormValue("keep_days")),
		RetryMax: strings.TrimSpace(c.FormValue("retry_max")), RetryDelay: strings.TrimSpace(c.FormValue("retry_delay_seconds")),
		RetryBackoff: strings.TrimSpace(c.FormValue("retry_backoff")), RetryMaxDelay: strings.TrimSpace(c.FormValue("retry_delay_max_seconds")),
		RetryOn:       strings.TrimSpace(c.FormValue("retry_on")),
		RetryTimedOut: c.FormValue("retry_timed_out") != "", RetryLost: c.FormValue("retry_lost") != "",
		LearnNormal: c.FormValue("learn_normal") != "", SlowMargin: strings.TrimSpace(c.FormValue("slow_margin_seconds")),
	}
	if args := c.Request().PostArgs(); args != nil {
		for _, v := range args.PeekMulti("alert_channels") {
			f.AlertChannels = append(f.AlertChannels, string(v))
		}
	}
	return f
}

// HasChannel reports whether the form limits alerts to channel ch.
func (f taskForm) HasChannel(ch string) bool { return slices.Contains(f.AlertChannels, ch) }

// task validates the form and builds the task it describes; on errors
// f.Errors says what is wrong with which field.
func (f *taskForm) task() (tasktype.Task, bool) {
	f.Errors = map[string]string{}
	t := tasktype.Task{
		Name: f.Name, Rule: f.Rule, TimeZone: f.TimeZone, Description: f.Description,
		TimeoutAction: tasktype.TimeoutAction(f.TimeoutAction), Overlap: tasktype.OverlapPolicy(f.Overlap),
		SlackChannel: f.SlackChannel, WebhookURL: f.WebhookURL, StatusNote: f.Note, Status: tasktype.StatusOff,
	}
	if f.Enabled {
		t.Status, t.StatusNote = tasktype.StatusOn, ""
	}
	if err := tasktype.ValidateName(f.Name); err != nil {
		f.Errors["name"] = err.Error()
	}
	if t.TimeZone == "" {
		t.TimeZone = "UTC" // the field's placeholder: blank is UTC, never the host's zone
	}
	if _, err := tasktype.ValidateTimeZone(t.TimeZone); err != nil {
		f.Errors["time_zone"] = err.Error()
	} else if _, err := rule.Parse(f.Rule); err != nil {
		f.Errors["rule"] = err.Error()
	}
	if f.Timeout == "" {
		f.Timeout = "0"
	}
	if secs, err := strconv.Atoi(f.Timeout); err != nil || secs < 0 || secs > 7*24*3600 {
		f.Errors["timeout"] = "seconds from 0 (no limit) to 604800 (a week)"
	} else {
		t.Timeout = time.Duration(secs) * time.Second
	}
	if t.TimeoutAction != tasktype.TimeoutKill && t.TimeoutAction != tasktype.TimeoutWarn {
		f.Errors["timeout_action"] = "kill or warn"
	}
	if !slices.Contains(overlapPolicies, t.Overlap) {
		f.Errors["overlap"] = "pick one of the listed policies"
	}
	for _, o := range strings.FieldsFunc(f.Owners, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		if strings.Contains(o, "@") {
			if a, err := mail.ParseAddress(o); err != nil || a.Address != o {
				f.Errors["owners"] = fmt.Sprintf("%q is not an e-mail address", o)
				break
			}
		} else if !slackMemberRE.MatchString(o) {
			f.Errors["owners"] = fmt.Sprintf("%q is neither an e-mail address nor a Slack member id (U…)", o)
			break
		}
		if !slices.Contains(t.Owners, o) {
			t.Owners = append(t.Owners, o)
		}
	}
	for _, ch := range f.AlertChannels {
		if !slices.Contains(tasktype.AlertChannelNames, ch) {
			f.Errors["alert_channels"] = fmt.Sprintf("unknown channel %q", ch)
			break
		}
		t.AlertChannels = append(t.AlertChannels, ch)
	}
	if t.SlackChannel != "" && !slackChannelRE.MatchString(t.SlackChannel) {
		f.Errors["slack_channel"] = "a channel name like #ops or an id like C0123ABC"
	}
	if t.WebhookURL != "" {
		if u, err := url.Parse(t.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Errors["webhook_url"] = "an http:// or https:// URL"
		}
	}
	if err := tasktype.ValidateLength("the description", t.Description, tasktype.MaxDescriptionChars); err != nil {
		f.Errors["description"] = err.Error()
	}
	if err := tasktype.ValidateLength("the note", t.StatusNote, tasktype.MaxStatusNoteChars); err != nil {
		f.Errors["note"] = err.Error()
	}
	f.isolation(&t)
	t.KeepRuns = f.keep("keep_runs", f.KeepRuns)
	t.KeepDays = f.keep("keep_days", f.KeepDays)
	t.Retry = f.retry()
	t.LearnNormal = f.LearnNormal
	if f.SlowMargin != "" {
		if n, err := strconv.Atoi(f.SlowMargin); err != nil || n <= 0 || n > maxSlowMargin {
			f.Errors["slow_margin_seconds"] = fmt.Sprintf("a whole number of seconds from 1 to %d, or blank for 60", maxSlowMargin)
		} else {
			t.SlowMargin = new(time.Duration(n) * time.Second)
		}
	}
	return t, len(f.Errors) == 0
}

// retry reads the retry policy; a blank field takes the default.
func (f *taskForm) retry() tasktype.Retry {
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
			f.Errors[field] = fmt.Sprintf("%q is not a whole number", text)
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
			f.Errors["retry_backoff"] = fmt.Sprintf("%q is not a number", f.RetryBackoff)
		}
		r.Backoff = x
	}
	if err := r.Validate(); err != nil {
		field, _, _ := strings.Cut(err.Error(), " ")
		if _, taken := f.Errors[field]; !taken {
			f.Errors[field] = err.Error()
		}
	}
	return r
}

// maxKeep bounds keep_runs and keep_days as typed: far more than anyone
// means, small enough for the database's integer.
const maxKeep = 1_000_000

// keep reads one retention field: nil when blank (the global default),
// else a whole number from 0 (no limit) up.
func (f *taskForm) keep(field, text string) *int {
	if text == "" {
		return nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > maxKeep {
		f.Errors[field] = fmt.Sprintf("a whole number from 0 (no limit) to %d, or blank for the default", maxKeep)
		return nil
	}
	return &n
}

// isolation reads the run-as user and the limits into t. A blank field
// leaves the setting nil, the worker's default; the bounds are
// tasktype.Limits.Validate's, which the database checks too.
func (f *taskForm) isolation(t *tasktype.Task) {
	if err := tasktype.ValidateUserName(f.RunAs); err != nil {
		f.Errors["run_as"] = err.Error()
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
		f.Errors["memory_limit_mb"] = err.Error()
	} else if mb != nil {
		n := int(*mb)
		t.MemoryLimitMB = &n
	}
	if cpu, err := parseLimit(f.CPULimit, parseFloat, func(x float64) tasktype.Limits { return tasktype.Limits{CPU: x} },
		fmt.Sprintf("a number of cores such as 0.5 or 2: use 0 (none) or %g to %d", tasktype.MinCPULimit, tasktype.MaxCPULimit)); err != nil {
		f.Errors["cpu_limit"] = err.Error()
	} else {
		t.CPULimit = cpu
	}
	if pids, err := parseLimit(f.PidsLimit, parseInt, func(n int64) tasktype.Limits { return tasktype.Limits{Pids: n} },
		fmt.Sprintf("a whole number of processes: use 0 (none) or %d to %d", tasktype.MinPidsLimit, tasktype.MaxPidsLimit)); err != nil {
		f.Errors["pids_limit"] = err.Error()
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

// maxSlowMargin bounds slow_margin_seconds as typed: a week.
const maxSlowMargin = 7 * 24 * 3600

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

// fireTimes returns the next n fire times of a rule after from, in loc.
func fireTimes(r rule.Rule, from time.Time, loc *time.Location, n int) []time.Time {
	var out []time.Time
	t := from
	for range n {
		t = r.Next(t, loc)
		if t.IsZero() {
			break
		}
		out = append(out, t.In(loc))
	}
	return out
}

// rulePreview is what the form shows under the rule as it is typed.
type rulePreview struct {
	OK    bool     `json:"ok"`
	Error string   `json:"error,omitempty"`
	Words string   `json:"words,omitempty"`
	Next  []string `json:"next,omitempty"`
}

func previewRule(text, zone string, now time.Time) rulePreview {
	if zone == "" {
		zone = "UTC" // as the form reads a blank zone
	}
	loc, err := tasktype.ValidateTimeZone(zone)
	if err != nil {
		return rulePreview{Error: err.Error()}
	}
	r, err := rule.Parse(text)
	if err != nil {
		return rulePreview{Error: err.Error()}
	}
	p := rulePreview{OK: true, Words: r.Describe()}
	for _, t := range fireTimes(r, now, loc, 5) {
		p.Next = append(p.Next, t.Format("2006-01-02 15:04:05 MST"))
	}
	return p
}

// ruleAPI answers GET /api/rule?rule=…&tz=… with the rule in words and
// its next five fire times, or why it is invalid: the form calls it as
// people type.
func (s *Server) ruleAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(previewRule(c.Query("rule"), c.Query("tz"), time.Now()))
}
