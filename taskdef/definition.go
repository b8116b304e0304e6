package taskdef

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// Definition is a task's settings as a document: the shape of task files
// (`schetask task apply|export`) and of the API's tasks. Field names are
// t_task_list's columns where one exists.
//
// An omitted field means what a blank field of the console's task form
// means, or, where the form has no blank, what its new-task form
// preselects:
//
//   - time_zone: UTC
//   - timeout: 0, no limit (the blank field; the new-task form preselects 600)
//   - timeout_action: kill
//   - enabled: true (a definition describes a task that runs; write
//     enabled: false, with a status_note, for one that is off)
//   - overlap_policy: skip
//   - learn_normal: true, as the database's default
//   - slow_margin_seconds: 60
//   - memory_limit_mb, cpu_limit, pids_limit, run_as: the worker's defaults
//   - keep_runs, keep_days: the global retention
//   - retry: no retries; retry.delay_seconds 60, retry.backoff 2,
//     retry.delay_max_seconds max(3600, delay_seconds)
//   - after, on_failure: none; after_condition: all_succeeded;
//     deadline: none
//
// rule may be blank (or omitted) when after names tasks: the task then
// runs only after them.
//
// A task whose status is kill (2) is read as enabled: false.
type Definition struct {
	Name              string           `json:"name" yaml:"name"`
	Rule              string           `json:"rule" yaml:"rule,omitempty"`
	After             []string         `json:"after,omitempty" yaml:"after,omitempty"`
	AfterCondition    string           `json:"after_condition,omitempty" yaml:"after_condition,omitempty"`
	OnFailure         []string         `json:"on_failure,omitempty" yaml:"on_failure,omitempty"`
	Deadline          string           `json:"deadline,omitempty" yaml:"deadline,omitempty"`
	TimeZone          string           `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	Timeout           int              `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	TimeoutAction     string           `json:"timeout_action,omitempty" yaml:"timeout_action,omitempty"`
	Enabled           *bool            `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	StatusNote        string           `json:"status_note,omitempty" yaml:"status_note,omitempty"`
	OverlapPolicy     string           `json:"overlap_policy,omitempty" yaml:"overlap_policy,omitempty"`
	Owners            []string         `json:"owners,omitempty" yaml:"owners,omitempty"`
	Description       string           `json:"description,omitempty" yaml:"description,omitempty"`
	AlertChannels     []string         `json:"alert_channels,omitempty" yaml:"alert_channels,omitempty"`
	SlackChannel      string           `json:"slack_channel,omitempty" yaml:"slack_channel,omitempty"`
	WebhookURL        string           `json:"webhook_url,omitempty" yaml:"webhook_url,omitempty"`
	RunAs             string           `json:"run_as,omitempty" yaml:"run_as,omitempty"`
	MemoryLimitMB     *int             `json:"memory_limit_mb,omitempty" yaml:"memory_limit_mb,omitempty"`
	CPULimit          *float64         `json:"cpu_limit,omitempty" yaml:"cpu_limit,omitempty"`
	PidsLimit         *int             `json:"pids_limit,omitempty" yaml:"pids_limit,omitempty"`
	KeepRuns          *int             `json:"keep_runs,omitempty" yaml:"keep_runs,omitempty"`
	KeepDays          *int             `json:"keep_days,omitempty" yaml:"keep_days,omitempty"`
	LearnNormal       *bool            `json:"learn_normal,omitempty" yaml:"learn_normal,omitempty"`
	SlowMarginSeconds *int             `json:"slow_margin_seconds,omitempty" yaml:"slow_margin_seconds,omitempty"`
	Retry             *Retry           `json:"retry,omitempty" yaml:"retry,omitempty"`
	Params            []tasktype.Param `json:"params,omitempty" yaml:"params,omitempty"`
}

// Retry is a definition's retry policy; omitted fields as in Definition.
type Retry struct {
	Max             int      `json:"max,omitempty" yaml:"max,omitempty"`
	DelaySeconds    *int     `json:"delay_seconds,omitempty" yaml:"delay_seconds,omitempty"`
	Backoff         *float64 `json:"backoff,omitempty" yaml:"backoff,omitempty"`
	DelayMaxSeconds *int     `json:"delay_max_seconds,omitempty" yaml:"delay_max_seconds,omitempty"`
	On              string   `json:"on,omitempty" yaml:"on,omitempty"`
	TimedOut        bool     `json:"timed_out,omitempty" yaml:"timed_out,omitempty"`
	Lost            bool     `json:"lost,omitempty" yaml:"lost,omitempty"`
}

// formFields maps the console form's error keys to a Definition's field
// paths where they differ.
var formFields = map[string]string{
	"overlap":         "overlap_policy",
	"note":            "status_note",
	"retry_max":       "retry.max",
	"retry_delay":     "retry.delay_seconds",
	"retry_delay_max": "retry.delay_max_seconds",
	"retry_backoff":   "retry.backoff",
	"retry_on":        "retry.on",
}

// FieldOf returns the Definition field path of a console form field (an
// error key of Form.Task): "overlap" is "overlap_policy", "retry_delay"
// "retry.delay_seconds"; the others are the same.
func FieldOf(formField string) string {
	if f, ok := formFields[formField]; ok {
		return f
	}
	return formField
}

// Form is the console form that holds d: what a person would type for it.
func (d Definition) Form() Form {
	f := NewForm()
	f.Name, f.Rule = strings.TrimSpace(d.Name), strings.TrimSpace(d.Rule)
	f.TimeZone = strings.TrimSpace(d.TimeZone)
	f.Timeout = strconv.Itoa(d.Timeout)
	if d.TimeoutAction != "" {
		f.TimeoutAction = d.TimeoutAction
	}
	if d.Enabled != nil {
		f.Enabled = *d.Enabled
	}
	f.Note = strings.TrimSpace(d.StatusNote)
	if d.OverlapPolicy != "" {
		f.Overlap = d.OverlapPolicy
	}
	f.Owners = strings.Join(d.Owners, ", ")
	f.Description = strings.TrimSpace(d.Description)
	f.AlertChannels = d.AlertChannels
	f.SlackChannel, f.WebhookURL = strings.TrimSpace(d.SlackChannel), strings.TrimSpace(d.WebhookURL)
	f.RunAs = strings.TrimSpace(d.RunAs)
	f.MemoryLimitMB, f.CPULimit, f.PidsLimit = optInt(d.MemoryLimitMB), optFloat(d.CPULimit), optInt(d.PidsLimit)
	f.KeepRuns, f.KeepDays = optInt(d.KeepRuns), optInt(d.KeepDays)
	if d.LearnNormal != nil {
		f.LearnNormal = *d.LearnNormal
	}
	f.SlowMargin = optInt(d.SlowMarginSeconds)
	if r := d.Retry; r != nil {
		f.RetryMax = strconv.Itoa(r.Max)
		f.RetryDelay, f.RetryBackoff, f.RetryMaxDelay = optInt(r.DelaySeconds), optFloat(r.Backoff), optInt(r.DelayMaxSeconds)
		f.RetryOn = strings.TrimSpace(r.On)
		f.RetryTimedOut, f.RetryLost = r.TimedOut, r.Lost
	}
	f.Params = FormatParams(d.Params)
	f.After, f.OnFailure = strings.Join(d.After, ", "), strings.Join(d.OnFailure, ", ")
	if d.AfterCondition != "" {
		f.AfterCondition = d.AfterCondition
	}
	f.Deadline = strings.TrimSpace(d.Deadline)
	return f
}

// Task validates d and builds the task it describes, with the console
// form's checks and messages. The map holds what is wrong keyed by d's
// field paths ("rule", "overlap_policy", "retry.max", "params"); it is
// empty when d is valid.
func (d Definition) Task() (tasktype.Task, map[string]string) {
	f := d.Form()
	t, formErrs := f.build(d.Params, d.After, d.OnFailure)
	errs := make(map[string]string, len(formErrs))
	for k, v := range formErrs {
		errs[FieldOf(k)] = v
	}
	return t, errs
}

// FromTask is the definition of a stored task, every setting written out
// (Marshal leaves out those at their default). FromTask(t).Task() gives
// back t's settings.
func FromTask(t tasktype.Task) Definition {
	d := Definition{
		Name: t.Name, Rule: t.Rule, TimeZone: t.TimeZone, Timeout: int(t.Timeout / time.Second),
		TimeoutAction: string(t.TimeoutAction), Enabled: new(t.Status == tasktype.StatusOn), StatusNote: t.StatusNote,
		OverlapPolicy: string(t.Overlap), Owners: clip(t.Owners), Description: t.Description,
		AlertChannels: clip(t.AlertChannels), SlackChannel: t.SlackChannel, WebhookURL: t.WebhookURL,
		RunAs: t.RunAs, MemoryLimitMB: copyPtr(t.MemoryLimitMB), CPULimit: copyPtr(t.CPULimit), PidsLimit: copyPtr(t.PidsLimit),
		KeepRuns: copyPtr(t.KeepRuns), KeepDays: copyPtr(t.KeepDays), LearnNormal: new(t.LearnNormal),
		Retry: &Retry{
			Max: t.Retry.Max, DelaySeconds: new(int(t.Retry.Delay / time.Second)), Backoff: new(t.Retry.Backoff),
			DelayMaxSeconds: new(int(t.Retry.MaxDelay / time.Second)), On: t.Retry.On,
			TimedOut: t.Retry.TimedOut, Lost: t.Retry.Lost,
		},
		Params: clip(t.Params),
		After:  clip(t.After), AfterCondition: string(cmp.Or(t.AfterCondition, tasktype.AfterAllSucceeded)),
		OnFailure: clip(t.OnFailure), Deadline: t.Deadline,
	}
	if t.SlowMargin != nil {
		d.SlowMarginSeconds = new(int(*t.SlowMargin / time.Second))
	}
	return d
}

// Normalize returns the definition of the task d describes, every setting
// written out, so that two definitions of the same task are equal
// (writing a default explicitly changes nothing). An invalid d is
// returned as it is.
func (d Definition) Normalize() Definition {
	t, errs := d.Task()
	if len(errs) > 0 {
		return d
	}
	return FromTask(t)
}

// Compact returns d with every setting at its default left out: the
// shortest definition of the same task, as Marshal writes it. d should
// be normalised (Normalize).
func (d Definition) Compact() Definition {
	if d.TimeZone == "UTC" {
		d.TimeZone = ""
	}
	if d.TimeoutAction == string(tasktype.TimeoutKill) {
		d.TimeoutAction = ""
	}
	if d.Enabled != nil && *d.Enabled {
		d.Enabled = nil
	}
	if d.Enabled == nil {
		d.StatusNote = "" // an enabled task keeps no note
	}
	if d.OverlapPolicy == string(tasktype.OverlapSkip) {
		d.OverlapPolicy = ""
	}
	if d.LearnNormal != nil && *d.LearnNormal {
		d.LearnNormal = nil
	}
	if d.Retry != nil {
		r := *d.Retry
		if r.DelaySeconds != nil && *r.DelaySeconds == int(tasktype.DefaultRetryDelay/time.Second) {
			r.DelaySeconds = nil
		}
		delay := int(tasktype.DefaultRetryDelay / time.Second)
		if r.DelaySeconds != nil {
			delay = *r.DelaySeconds
		}
		if r.DelayMaxSeconds != nil && *r.DelayMaxSeconds == max(int(tasktype.DefaultRetryMaxDelay/time.Second), delay) {
			r.DelayMaxSeconds = nil
		}
		if r.Backoff != nil && *r.Backoff == tasktype.DefaultRetryBackoff {
			r.Backoff = nil
		}
		if r == (Retry{}) {
			d.Retry = nil
		} else {
			d.Retry = &r
		}
	}
	if d.AfterCondition == string(tasktype.AfterAllSucceeded) {
		d.AfterCondition = ""
	}
	d.Owners, d.AlertChannels, d.Params = clip(d.Owners), clip(d.AlertChannels), clip(d.Params)
	d.After, d.OnFailure = clip(d.After), clip(d.OnFailure)
	return d
}

// clip copies a list, nil when empty.
func clip[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
