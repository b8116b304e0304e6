package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// taskSettings is what the audit trail records of a task: its settings,
// not its run bookkeeping.
type taskSettings struct {
	Rule          string   `json:"rule"`
	TimeZone      string   `json:"time_zone"`
	Timeout       int      `json:"timeout"`
	TimeoutAction string   `json:"timeout_action"`
	Status        int      `json:"task_status"`
	StatusNote    string   `json:"status_note,omitempty"`
	Overlap       string   `json:"overlap_policy"`
	Owners        []string `json:"owners"`
	AlertChannels []string `json:"alert_channels"`
	SlackChannel  string   `json:"slack_channel,omitempty"`
	WebhookURL    string   `json:"webhook_url,omitempty"`
	Description   string   `json:"description,omitempty"`
	// The isolation settings: absent means the worker's default.
	RunAs         string   `json:"run_as,omitempty"`
	MemoryLimitMB *int     `json:"memory_limit_mb,omitempty"`
	CPULimit      *float64 `json:"cpu_limit,omitempty"`
	PidsLimit     *int     `json:"pids_limit,omitempty"`
	// The retention: absent means the global default.
	KeepRuns *int `json:"keep_runs,omitempty"`
	KeepDays *int `json:"keep_days,omitempty"`
	// The retry policy, in the table's units.
	RetryMax      int     `json:"retry_max"`
	RetryDelay    int     `json:"retry_delay_seconds"`
	RetryBackoff  float64 `json:"retry_backoff"`
	RetryMaxDelay int     `json:"retry_delay_max_seconds"`
	RetryOn       string  `json:"retry_on,omitempty"`
	RetryTimedOut bool    `json:"retry_timed_out,omitempty"`
	RetryLost     bool    `json:"retry_lost,omitempty"`
	// The unusual-run alerts: learn_normal, and the slow margin (absent = 60 s).
	LearnNormal bool `json:"learn_normal"`
	SlowMargin  *int `json:"slow_margin_seconds,omitempty"`
	// The chain settings: absent when none.
	After          []string `json:"after,omitempty"`
	AfterCondition string   `json:"after_condition,omitempty"`
	OnFailure      []string `json:"on_failure,omitempty"`
	Deadline       string   `json:"deadline,omitempty"`
}

func settingsOf(t tasktype.Task) taskSettings {
	s := taskSettings{
		Rule: t.Rule, TimeZone: t.TimeZone, Timeout: int(t.Timeout / time.Second), TimeoutAction: string(t.TimeoutAction),
		Status: int(t.Status), StatusNote: t.StatusNote, Overlap: string(t.Overlap), Owners: t.Owners,
		AlertChannels: t.AlertChannels, SlackChannel: t.SlackChannel, WebhookURL: t.WebhookURL, Description: t.Description,
		RunAs: t.RunAs, MemoryLimitMB: t.MemoryLimitMB, CPULimit: t.CPULimit, PidsLimit: t.PidsLimit,
		KeepRuns: t.KeepRuns, KeepDays: t.KeepDays,
		RetryMax: t.Retry.Max, RetryDelay: int(t.Retry.Delay / time.Second), RetryBackoff: t.Retry.Backoff,
		RetryMaxDelay: int(t.Retry.MaxDelay / time.Second), RetryOn: t.Retry.On,
		RetryTimedOut: t.Retry.TimedOut, RetryLost: t.Retry.Lost,
		LearnNormal: t.LearnNormal,
		After:       t.After, OnFailure: t.OnFailure, Deadline: t.Deadline,
	}
	if len(t.After) > 0 {
		s.AfterCondition = string(t.AfterCondition)
	}
	if t.SlowMargin != nil {
		s.SlowMargin = new(int(*t.SlowMargin / time.Second))
	}
	return s
}

type taskFormData struct {
	page
	New      bool
	Form     taskForm
	Channels []string
	Overlaps []tasktype.OverlapPolicy
	Bounds   limitBounds
	// Conflict, after a refused edit, says what changed since the form
	// was read; the form keeps what was typed, at the task's new version.
	Conflict *editConflict
	// MaxDescription and MaxNote are the lengths, in characters, the
	// form's fields take.
	MaxDescription, MaxNote int
}

// limitBounds are tasktype's bounds on a task's limits, for the form's hints.
type limitBounds struct {
	MinMemoryMB, MaxMemoryMB int
	MinCPU, MaxCPU           float64
	MinPids, MaxPids         int
}

var isolationBounds = limitBounds{
	MinMemoryMB: tasktype.MinMemoryLimitMB, MaxMemoryMB: tasktype.MaxMemoryLimitMB,
	MinCPU: tasktype.MinCPULimit, MaxCPU: tasktype.MaxCPULimit,
	MinPids: tasktype.MinPidsLimit, MaxPids: tasktype.MaxPidsLimit,
}

func (s *Server) renderTaskForm(c *fiber.Ctx, status int, isNew bool, f taskForm) error {
	return s.renderTaskFormWith(c, status, isNew, f, nil)
}

// renderTaskFormWith is renderTaskForm with a refused edit's conflict.
func (s *Server) renderTaskFormWith(c *fiber.Ctx, status int, isNew bool, f taskForm, conflict *editConflict) error {
	title := "New task"
	if !isNew {
		title = "Edit " + f.Name
	}
	c.Status(status)
	return s.render(c, "taskform.html", taskFormData{page: s.page(c, title), New: isNew, Form: f,
		Channels: tasktype.AlertChannelNames, Overlaps: overlapPolicies, Bounds: isolationBounds,
		MaxDescription: tasktype.MaxDescriptionChars, MaxNote: tasktype.MaxStatusNoteChars, Conflict: conflict})
}

// newTaskForm serves GET /create: an empty form with the defaults.
func (s *Server) newTaskForm(c *fiber.Ctx) error {
	return s.renderTaskForm(c, fiber.StatusOK, true, taskForm{Form: taskdef.NewForm()})
}

// createTask serves POST /create.
func (s *Server) createTask(c *fiber.Ctx) error {
	f := formFromRequest(c)
	t, ok := f.task()
	if !ok {
		return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, true, f)
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := store.WithActor(c.UserContext(), store.Actor{Name: u.Name, Action: "create"})
	if err := s.store.CreateTask(ctx, t); errors.Is(err, store.ErrTaskExists) {
		f.Errors["name"] = "a task with this name exists already"
		return s.renderTaskForm(c, fiber.StatusConflict, true, f)
	} else if f.chainRefused(err) {
		return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, true, f)
	} else if err != nil {
		return err
	}
	s.logger.Info("task created", slog.String("user", u.Name), slog.String("task", t.Name))
	return c.Redirect("/tasks/"+t.Name, fiber.StatusSeeOther)
}

// editTaskForm serves GET /tasks/:name/edit.
func (s *Server) editTaskForm(c *fiber.Ctx) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	return s.renderTaskForm(c, fiber.StatusOK, false, formFromTask(t))
}

// updateTask serves POST /tasks/:name/edit. The form carries the version
// it was read at; a task changed since is not overwritten.
func (s *Server) updateTask(c *fiber.Ctx) error {
	cur, err := s.taskParam(c)
	if err != nil {
		return err
	}
	f := formFromRequest(c)
	f.Name = cur.Name // the name is the folder's: it is not renamed here
	t, ok := f.task()
	if !ok {
		return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, false, f)
	}
	micros, err := strconv.ParseInt(f.Version, 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the form has no version; reload it")
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := store.WithActor(c.UserContext(), store.Actor{Name: u.Name, Action: "edit"})
	_, _, err = s.store.UpdateTask(ctx, t, time.UnixMicro(micros))
	if errors.Is(err, store.ErrTaskChanged) {
		return s.refuseStaleEdit(c, f, t)
	}
	if errors.Is(err, store.ErrTaskNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	if f.chainRefused(err) {
		return s.renderTaskForm(c, fiber.StatusUnprocessableEntity, false, f)
	}
	if err != nil {
		return err
	}
	s.logger.Info("task edited", slog.String("user", u.Name), slog.String("task", t.Name))
	return c.Redirect("/tasks/"+t.Name, fiber.StatusSeeOther)
}

// editConflict is what a refused (stale) edit shows: the settings that
// changed since the form was read, and where the task now differs from
// what was typed. Each is an auditChange: Before and After are, for
// Since, the value when the form was read and now; for Yours, the value
// now and the one typed.
type editConflict struct {
	Since, Yours []auditChange
}

// refuseStaleEdit answers an edit of a task changed since its form was
// read: the form again, with what was typed, what changed, and the
// task's current version, so that saving again (having looked) applies it.
func (s *Server) refuseStaleEdit(c *fiber.Ctx, f taskForm, typed tasktype.Task) error {
	cur, err := s.store.GetTask(c.UserContext(), f.Name)
	if errors.Is(err, store.ErrTaskNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "no such task: it was deleted while you edited it")
	}
	if err != nil {
		return err
	}
	var base map[string]any
	if json.Unmarshal([]byte(f.Base), &base) != nil {
		base = nil // an old form without its base: every setting shows as changed
	}
	now := settingsMap(cur)
	conflict := &editConflict{Since: auditChanges(base, now), Yours: auditChanges(now, settingsMap(typed))}
	f.Version, f.Base = strconv.FormatInt(cur.UpdatedAt.UnixMicro(), 10), settingsJSON(cur)
	f.Errors["form"] = "Not saved: someone changed this task after you opened the form. Your input is kept below; " +
		"check what changed, then save again to replace their change with yours."
	return s.renderTaskFormWith(c, fiber.StatusConflict, false, f, conflict)
}

// settingsJSON is a task's settings as the edit form carries them.
func settingsJSON(t tasktype.Task) string {
	b, err := json.Marshal(settingsOf(t))
	if err != nil {
		return ""
	}
	return string(b)
}

// settingsMap is a task's settings as the audit trail stores them.
func settingsMap(t tasktype.Task) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(settingsJSON(t)), &m)
	return m
}

// deleteTask serves POST /tasks/:name/delete; the form must repeat the
// task's name. Runs, logs and history stay.
func (s *Server) deleteTask(c *fiber.Ctx) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != t.Name {
		return fiber.NewError(fiber.StatusBadRequest, "not deleted: type the task's name to confirm")
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := store.WithActor(c.UserContext(), store.Actor{Name: u.Name, Action: "delete"})
	if err := s.store.DeleteTask(ctx, t.Name); err != nil && !errors.Is(err, store.ErrTaskNotFound) {
		return err
	}
	s.logger.Info("task deleted", slog.String("user", u.Name), slog.String("task", t.Name))
	s.setFlash(c, flashOK, "Deleted "+t.Name+": sync removes its schedule within seconds; its runs, logs and history stay.")
	return c.Redirect("/", fiber.StatusSeeOther)
}

// taskParam loads the task named by the :name parameter.
func (s *Server) taskParam(c *fiber.Ctx) (tasktype.Task, error) {
	name := c.Params("name")
	if err := tasktype.ValidateName(name); err != nil {
		return tasktype.Task{}, fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	t, err := s.store.GetTask(c.UserContext(), name)
	if errors.Is(err, store.ErrTaskNotFound) {
		return t, fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	return t, err
}

// auditChange is one setting an audited change touched.
type auditChange struct {
	Key           string
	Before, After string
}

// auditChanges lists the settings that differ between an audit entry's
// before and after, by name.
func auditChanges(before, after map[string]any) []auditChange {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []auditChange
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, bok := before[k]
		a, aok := after[k]
		bs, as := auditValue(b, bok), auditValue(a, aok)
		if bs != as {
			out = append(out, auditChange{Key: k, Before: bs, After: as})
		}
	}
	return out
}

func auditValue(v any, ok bool) string {
	if !ok || v == nil {
		return "—"
	}
	if s, isString := v.(string); isString {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
