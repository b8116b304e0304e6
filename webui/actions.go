package webui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// taskAction carries out an operator's action on a task (run, kill,
// pause, resume), audits what changed and goes back to the task's page
// with a message saying what happened, or what did not and why.
func (s *Server) taskAction(c *fiber.Ctx) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	name, action := t.Name, c.Params("action")
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
