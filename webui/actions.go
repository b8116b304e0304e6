package webui

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// taskAction carries out an operator's action on a task (run, kill,
// pause, resume), audits it and goes back to the task's page.
func (s *Server) taskAction(c *fiber.Ctx) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	name, action := t.Name, c.Params("action")
	u, _ := c.Locals("user").(currentUser)
	ctx := c.Context()
	var after map[string]any
	switch action {
	case "run":
		if s.opts.Control == nil {
			return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
		}
		if err := s.opts.Control.RunNow(ctx, name); errors.Is(err, control.ErrNoSchedule) {
			return fiber.NewError(fiber.StatusConflict, "the task has no schedule yet; try again in a moment")
		} else if err != nil {
			return err
		}
	case "kill":
		if s.opts.Control == nil {
			return fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
		}
		n, err := s.opts.Control.Kill(ctx, name, workflows.KillRequest{By: u.Name, Reason: "killed from the console"})
		if err != nil {
			return err
		}
		after = map[string]any{"killed_runs": n}
	case "pause", "resume":
		status := tasktype.StatusOff
		if action == "resume" {
			status = tasktype.StatusOn
		}
		note := ""
		if action == "pause" {
			if note = c.FormValue("note"); len(note) > 500 {
				return fiber.NewError(fiber.StatusBadRequest, "the note is too long: at most 500 characters")
			}
		}
		if err := s.store.SetTaskStatusNote(ctx, name, status, note); err != nil {
			return err
		}
		after = map[string]any{"task_status": status, "status_note": note}
	default:
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("unknown action %q", action))
	}
	if err := s.store.AddAudit(ctx, u.Name, action, name, map[string]any{"task_status": t.Status, "status_note": t.StatusNote}, after); err != nil {
		return err
	}
	s.logger.Info("console action", slog.String("user", u.Name), slog.String("action", action), slog.String("task", name))
	return c.Redirect("/tasks/"+name, fiber.StatusSeeOther)
}
