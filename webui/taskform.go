package webui

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
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
		After:  strings.TrimSpace(c.FormValue("after")), AfterCondition: strings.TrimSpace(c.FormValue("after_condition")),
		OnFailure: strings.TrimSpace(c.FormValue("on_failure")), Deadline: strings.TrimSpace(c.FormValue("deadline")),
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

// DeadlineSyntax is the deadline field's hint.
func (f taskForm) DeadlineSyntax() string { return taskdef.DeadlineSyntax }

// AfterConditions are the conditions the form offers, in order.
func (f taskForm) AfterConditions() []tasktype.AfterCondition { return taskdef.AfterConditions }

// chainRefused puts the database's refusal of a chain cycle (or a task
// after itself) on the field of the form that closes it; false when err
// is no such refusal.
func (f *taskForm) chainRefused(err error) bool {
	var cyc *store.ChainCycleError
	if !errors.As(err, &cyc) {
		return false
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors[cyc.Field] = chainCycleMessage(cyc)
	f.Errors["form"] = "Not saved: " + chainCycleMessage(cyc)
	return true
}

// chainCycleMessage is the refusal of a chain cycle as the console and
// the API say it: the database's words, and what to do.
func chainCycleMessage(cyc *store.ChainCycleError) string { return chainLoopWords(cyc.Message) }

// chainLoopWords adds what to do to the words that name a chain loop.
func chainLoopWords(loop string) string {
	return loop + " (a chain may not loop: remove one of these links)"
}

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

// ruleAPI answers GET /api/rule?rule=…&tz=…&after=… with the rule in
// words and its next five fire times, or why it is invalid: the form
// calls it as people type. A blank rule with after is a task that runs
// only after others.
func (s *Server) ruleAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if upstreams := taskdef.SplitNames(c.Query("after")); strings.TrimSpace(c.Query("rule")) == "" && len(upstreams) > 0 {
		return c.JSON(rulePreview{OK: true, Words: "runs after " + strings.Join(upstreams, ", ") + " (no rule of its own)"})
	}
	return c.JSON(previewRule(c.Query("rule"), c.Query("tz"), time.Now()))
}
