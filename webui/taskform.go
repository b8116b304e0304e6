package webui

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// overlapPolicies are the policies the form offers, in order.
var overlapPolicies = taskdef.OverlapPolicies

// taskForm is a task as typed into the create/edit form, with its errors.
// Its settings are a taskdef.Form, which validates them: task files and
// the API go through the same checks and say the same things.
type taskForm struct {
	taskdef.Form
	// Version is the task's updated_at (Unix µs) when the editor read it,
	// and Base its settings then (JSON of taskSettings), to say what
	// changed since when a save is refused as stale.
	Version, Base string
	Errors        map[string]string
}

func formFromTask(t tasktype.Task) taskForm {
	return taskForm{Form: taskdef.FormFromTask(t), Version: strconv.FormatInt(t.UpdatedAt.UnixMicro(), 10), Base: settingsJSON(t)}
}

func formFromRequest(c *fiber.Ctx) taskForm {
	f := taskForm{Form: taskdef.Form{
		Name: strings.TrimSpace(c.FormValue("name")), Rule: strings.TrimSpace(c.FormValue("rule")),
		TimeZone: strings.TrimSpace(c.FormValue("time_zone")), Timeout: strings.TrimSpace(c.FormValue("timeout")),
		TimeoutAction: c.FormValue("timeout_action"), Overlap: c.FormValue("overlap"),
		Owners: c.FormValue("owners"), Description: strings.TrimSpace(c.FormValue("description")),
		SlackChannel: strings.TrimSpace(c.FormValue("slack_channel")), WebhookURL: strings.TrimSpace(c.FormValue("webhook_url")),
		Note: strings.TrimSpace(c.FormValue("note")), Enabled: c.FormValue("enabled") != "",
		RunAs: strings.TrimSpace(c.FormValue("run_as")), MemoryLimitMB: strings.TrimSpace(c.FormValue("memory_limit_mb")),
		CPULimit: strings.TrimSpace(c.FormValue("cpu_limit")), PidsLimit: strings.TrimSpace(c.FormValue("pids_limit")),
		KeepRuns: strings.TrimSpace(c.FormValue("keep_runs")), KeepDays: strings.TrimSpace(c.FormValue("keep_days")),
		RetryMax: strings.TrimSpace(c.FormValue("retry_max")), RetryDelay: strings.TrimSpace(c.FormValue("retry_delay_seconds")),
		RetryBackoff: strings.TrimSpace(c.FormValue("retry_backoff")), RetryMaxDelay: strings.TrimSpace(c.FormValue("retry_delay_max_seconds")),
		RetryOn:       strings.TrimSpace(c.FormValue("retry_on")),
		RetryTimedOut: c.FormValue("retry_timed_out") != "", RetryLost: c.FormValue("retry_lost") != "",
		LearnNormal: c.FormValue("learn_normal") != "", SlowMargin: strings.TrimSpace(c.FormValue("slow_margin_seconds")),
		Params: strings.TrimSpace(strings.ReplaceAll(c.FormValue("params"), "\r\n", "\n")),
	}, Version: c.FormValue("version"), Base: c.FormValue("base")}
	if args := c.Request().PostArgs(); args != nil {
		for _, v := range args.PeekMulti("alert_channels") {
			f.AlertChannels = append(f.AlertChannels, string(v))
		}
	}
	return f
}

// ParamsSyntax is the params field's hint.
func (f taskForm) ParamsSyntax() string { return taskdef.ParamsSyntax }

// task validates the form (taskdef.Form.Task) and builds the task it
// describes; on errors f.Errors says what is wrong with which field.
func (f *taskForm) task() (tasktype.Task, bool) {
	t, errs := f.Form.Task() // also as the form reads it back: a blank timeout is 0
	f.Errors = errs
	return t, len(errs) == 0
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
