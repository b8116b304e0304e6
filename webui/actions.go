package webui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// runNowWait bounds how long run now watches the schedule to tell what
// became of the fire: started, skipped, or still waiting.
const runNowWait = 3 * time.Second

// taskAction carries out an operator's action on a task (run, run with
// parameters, kill, pause, resume, backfill), audits what changed and
// goes back to the task's page with a message saying what happened, or
// what did not and why.
func (s *Server) taskAction(c *fiber.Ctx) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	name, action := t.Name, c.Params("action")
	switch action {
	case "run-params":
		return s.runWithParams(c, t)
	case "backfill":
		return s.backfill(c, t)
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := c.UserContext()
	var after map[string]any
	var msg flash
	switch action {
	case "run":
		if s.opts.Control == nil {
			return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
		}
		if msg, err = s.runNow(ctx, t); errors.Is(err, control.ErrNoSchedule) {
			return fiber.NewError(fiber.StatusConflict, "the task has no schedule yet; try again in a moment")
		} else if err != nil {
			return err
		}
	case "kill":
		if s.opts.Control == nil {
			return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
		}
		n, err := s.opts.Control.Kill(ctx, name, workflows.KillRequest{By: u.Name, Reason: "killed from the console"})
		switch {
		case err != nil && n == 0:
			s.logger.Warn("kill from the console failed", slog.String("task", name), slog.Any("error", err))
			msg = flash{flashError, fmt.Sprintf("Nothing killed: %v.", err)}
		case err != nil:
			msg = flash{flashWarning, fmt.Sprintf("Asked %s of %s to stop, but not all: %v.", runs(n), name, err)}
		case n == 0:
			msg = flash{flashWarning, fmt.Sprintf("Nothing killed: no run of %s was running.", name)}
		default:
			msg = flash{flashOK, fmt.Sprintf("Asked %s of %s to stop: killed runs end within the kill grace period.", runs(n), name)}
		}
		if n == 0 {
			break // nothing changed: nothing to audit
		}
		after = map[string]any{"killed_runs": n}
	case "pause", "resume":
		status, note := tasktype.StatusOff, ""
		if action == "resume" {
			status = tasktype.StatusOn
		} else {
			note = c.FormValue("note")
			if err := tasktype.ValidateLength("the note", note, tasktype.MaxStatusNoteChars); err != nil {
				return s.renderTaskPage(c, fiber.StatusUnprocessableEntity, func(d *taskData) {
					d.PauseNote, d.PauseError = note, "Not disabled: "+err.Error()+"."
				})
			}
		}
		wasOn := t.Status == tasktype.StatusOn
		if (action == "resume") == wasOn && note == t.StatusNote {
			verb := map[bool]string{true: "enabled", false: "disabled"}[wasOn]
			msg = flash{flashWarning, fmt.Sprintf("Nothing changed: %s was already %s.", name, verb)}
			break
		}
		// The database audits the change (the actor says who and what).
		actx := store.WithActor(ctx, store.Actor{Name: u.Name, Action: action})
		if err := s.store.SetTaskStatusNote(actx, name, status, note); err != nil {
			return err
		}
		switch {
		case action == "resume" && wasOn:
			msg = flash{flashOK, fmt.Sprintf("%s was already enabled; its note is cleared.", name)}
		case action == "resume":
			msg = flash{flashOK, fmt.Sprintf("Enabled %s: its schedule fires again (sync applies it within seconds).", name)}
		case !wasOn:
			msg = flash{flashOK, fmt.Sprintf("%s was already disabled; its note is updated.", name)}
		default:
			msg = flash{flashOK, fmt.Sprintf("Disabled %s: its schedule stops firing (sync applies it within seconds); a run already going goes on.", name)}
		}
	default:
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("unknown action %q", action))
	}
	if after != nil || action == "run" {
		if err := s.store.AddAudit(ctx, u.Name, action, name, map[string]any{"task_status": t.Status, "status_note": t.StatusNote}, after); err != nil {
			return err
		}
	}
	s.logger.Info("console action", slog.String("user", u.Name), slog.String("action", action), slog.String("task", name),
		slog.String("outcome", msg.Text))
	s.setFlash(c, msg.Kind, msg.Text)
	return c.Redirect("/tasks/"+name, fiber.StatusSeeOther)
}

// runs says "1 run" or "n runs".
func runs(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

// runNow triggers the task's schedule and tells what became of the fire.
// Temporal drops a trigger silently when the overlap policy skips it, so
// the schedule's counters are read before and watched after, for at most
// runNowWait.
func (s *Server) runNow(ctx context.Context, t tasktype.Task) (flash, error) {
	h := s.opts.Control.Client.ScheduleClient().GetHandle(ctx, s.opts.Control.ScheduleID(t.Name))
	before, descErr := h.Describe(ctx)
	if err := s.opts.Control.RunNow(ctx, t.Name); err != nil {
		return flash{}, err
	}
	if descErr != nil {
		return flash{flashOK, fmt.Sprintf("Asked Temporal to start a run of %s.", t.Name)}, nil
	}
	going := len(before.Info.RunningWorkflows)
	deadline := time.Now().Add(runNowWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := h.Describe(ctx)
		if err == nil {
			if m, ok := runNowOutcome(t, before, d); ok {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return flash{}, ctx.Err()
		case <-tick.C:
		}
	}
	if going == 0 {
		return flash{flashWarning, fmt.Sprintf("Asked Temporal to start a run of %s; it has not started yet.", t.Name)}, nil
	}
	waits := "this run waits for it to end"
	switch t.Overlap {
	case tasktype.OverlapCancelOther:
		waits = "it is being cancelled, and this run starts once it has ended"
	case tasktype.OverlapTerminateOther:
		waits = "it is being terminated, and this run starts once it has ended"
	case tasktype.OverlapSkip:
		waits = "this fire is likely skipped"
	}
	return flash{flashWarning, fmt.Sprintf("Not started yet: a run of %s is already going; with overlap policy %s %s.",
		t.Name, t.Overlap, waits)}, nil
}

// runNowOutcome reads what a trigger did from the schedule's counters
// before and after it; ok is false while they have not moved.
func runNowOutcome(t tasktype.Task, before, after *client.ScheduleDescription) (flash, bool) {
	switch {
	case after.Info.NumActionsSkippedOverlap > before.Info.NumActionsSkippedOverlap:
		return flash{flashWarning, fmt.Sprintf("Not started: a run of %s is already going; with overlap policy %s this fire is skipped.",
			t.Name, t.Overlap)}, true
	case after.Info.NumActions > before.Info.NumActions:
		text := fmt.Sprintf("Started a run of %s.", t.Name)
		if len(before.Info.RunningWorkflows) > 0 {
			switch t.Overlap {
			case tasktype.OverlapCancelOther:
				text += " The run that was going was cancelled first (overlap policy cancel_other)."
			case tasktype.OverlapTerminateOther:
				text += " The run that was going was terminated first (overlap policy terminate_other)."
			case tasktype.OverlapAllowAll:
				text += " It runs beside the one already going (overlap policy allow_all)."
			}
		}
		return flash{flashOK, text}, true
	}
	return flash{}, false
}

// runParamsData is the page that shows a refused run with parameters:
// the form again, with the values as typed and why.
type runParamsData struct {
	page
	Task   tasktype.Task
	Values map[string]string
	Error  string
}

// runWithParams starts a run with the values of the task page's "Run
// with parameters" form (param_<NAME>; a blank field takes the default).
// Refused values show the form again with why.
func (s *Server) runWithParams(c *fiber.Ctx, t tasktype.Task) error {
	if s.opts.Control == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := c.UserContext()
	values := map[string]string{}
	for _, p := range t.Params {
		if v := c.FormValue("param_" + p.Name); v != "" {
			values[p.Name] = v
		}
	}
	id, err := s.opts.Control.RunWithParams(ctx, t.Name, values, u.Name)
	switch {
	case errors.Is(err, tasktype.ErrInvalidParams):
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "task-run-params", runParamsData{page: s.page(c, t.Name), Task: t, Values: values,
			Error: "Not started: " + paramsMessage(err) + "."})
	case errors.Is(err, control.ErrRunGoing):
		s.setFlash(c, flashWarning, fmt.Sprintf("Not started: a run of %s is already going; with overlap policy skip no other starts.", t.Name))
		return c.Redirect("/tasks/"+t.Name, fiber.StatusSeeOther)
	case errors.Is(err, control.ErrNoSchedule):
		return fiber.NewError(fiber.StatusConflict, "the task has no schedule yet; try again in a moment")
	case err != nil:
		return err
	}
	if err := s.store.AddAudit(ctx, u.Name, "run", t.Name, nil, map[string]any{"workflow_id": id, "params": values}); err != nil {
		return err
	}
	s.logger.Info("console action", slog.String("user", u.Name), slog.String("action", "run"), slog.String("task", t.Name),
		slog.String("workflow_id", id))
	s.setFlash(c, flashOK, fmt.Sprintf("Started a run of %s with parameters (workflow %s).", t.Name, id))
	return c.Redirect("/tasks/"+t.Name, fiber.StatusSeeOther)
}

// backfillData is the backfill page: the preview of a range (how many
// fires, the first and the last) with the button that starts it, or why
// the range is refused.
type backfillData struct {
	page
	Task tasktype.Task
	// From, To and Overlap are the form's fields as typed.
	From, To, Overlap string
	Result            control.BackfillResult
	Zone              *time.Location
	Error             string
}

// backfillLayouts are the forms a backfill form's times are read in: the
// browser's datetime-local (in the task's zone), or RFC 3339.
var backfillLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// parseFormTime reads a backfill form's time in loc.
func parseFormTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range backfillLayouts {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (YYYY-MM-DDTHH:MM)", v)
}

// backfill serves the task page's backfill form: without confirm=1 it
// shows how many fires the range holds and asks to confirm; with it, it
// starts them.
func (s *Server) backfill(c *fiber.Ctx, t tasktype.Task) error {
	if s.opts.Control == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
	}
	u, _ := c.Locals("user").(currentUser)
	ctx := c.UserContext()
	d := backfillData{page: s.page(c, t.Name), Task: t, From: c.FormValue("from"), To: c.FormValue("to"),
		Overlap: c.FormValue("overlap")}
	loc, err := tasktype.ValidateTimeZone(t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	d.Zone = loc
	refuse := func(msg string) error {
		d.Error = msg
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "task-backfill", d)
	}
	from, err := parseFormTime(d.From, loc)
	if err != nil {
		return refuse("From: " + err.Error() + ".")
	}
	to, err := parseFormTime(d.To, loc)
	if err != nil {
		return refuse("To: " + err.Error() + ".")
	}
	confirmed := c.FormValue("confirm") == "1"
	d.Result, err = s.opts.Control.Backfill(ctx, t.Name, from, to, s.opts.BackfillMax, d.Overlap == "task", u.Name, !confirmed)
	var many *control.TooManyFiresError
	switch {
	case errors.As(err, &many):
		return refuse("Refused: " + many.Error() + ". Backfill a shorter range, or several.")
	case errors.Is(err, control.ErrInvalidRange), errors.Is(err, control.ErrNoFires), errors.Is(err, control.ErrBadRule):
		return refuse("Refused: " + backfillMessage(err) + ".")
	case errors.Is(err, control.ErrNoSchedule):
		return refuse("Not started: the task has no schedule yet; try again in a moment.")
	case err != nil:
		return err
	}
	if !confirmed {
		return s.render(c, "task-backfill", d)
	}
	if err := s.store.AddAudit(ctx, u.Name, "backfill", t.Name, nil, map[string]any{
		"backfill_id": d.Result.ID, "from": from, "to": to, "fires": d.Result.Fires, "overlap": d.Overlap}); err != nil {
		return err
	}
	s.logger.Info("console action", slog.String("user", u.Name), slog.String("action", "backfill"), slog.String("task", t.Name),
		slog.Int64("backfill", d.Result.ID), slog.Int("fires", d.Result.Fires))
	how := "one at a time, in order"
	if d.Overlap == "task" {
		how = "with the task's overlap policy (" + string(t.Overlap) + ")"
	}
	s.setFlash(c, flashOK, fmt.Sprintf("Backfill #%d started: %s from %s to %s, %s.", d.Result.ID, fires(d.Result.Fires),
		d.Result.First.In(loc).Format("2006-01-02 15:04:05 MST"), d.Result.Last.In(loc).Format("2006-01-02 15:04:05 MST"), how))
	return c.Redirect("/tasks/"+t.Name, fiber.StatusSeeOther)
}

// fires says "1 fire" or "n fires".
func fires(n int) string {
	if n == 1 {
		return "1 fire"
	}
	return fmt.Sprintf("%d fires", n)
}

// Preview is the backfill page's "N fires from … to …".
func (d backfillData) Preview() string {
	return fmt.Sprintf("%s from %s to %s", fires(d.Result.Fires),
		d.Result.First.In(d.Zone).Format("2006-01-02 15:04:05 MST"), d.Result.Last.In(d.Zone).Format("2006-01-02 15:04:05 MST"))
}
