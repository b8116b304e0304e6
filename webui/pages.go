package webui

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

type overviewData struct {
	page
	Tasks []tasktype.Task
	Runs  []tasktype.Run
}

func (s *Server) overview(c *fiber.Ctx) error {
	tasks, err := s.store.ListTasks(c.Context())
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	runs, err := s.store.ListRuns(c.Context(), "", 50)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	return s.render(c, "overview.html", overviewData{page: s.page(c, "schetask"), Tasks: tasks, Runs: runs})
}

type taskData struct {
	page
	Task    tasktype.Task
	Sync    store.SyncState
	Synced  bool
	Runs    []tasktype.Run
	Alerts  []store.AlertRow
	Audit   []store.AuditEntry
	Deleted bool
}

func (s *Server) taskPage(c *fiber.Ctx) error {
	name := c.Params("name")
	if err := tasktype.ValidateName(name); err != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	ctx := c.Context()
	d := taskData{page: s.page(c, name)}
	t, err := s.store.GetTask(ctx, name)
	if errors.Is(err, store.ErrTaskNotFound) {
		t, _, err = s.store.DeletedTask(ctx, name)
		d.Deleted = true
	}
	if errors.Is(err, store.ErrTaskNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	if err != nil {
		return err
	}
	d.Task = t
	if d.Sync, d.Synced, err = s.store.GetSyncState(ctx, name); err != nil {
		return err
	}
	if d.Runs, err = s.store.ListRuns(ctx, name, 50); err != nil {
		return err
	}
	if d.Alerts, err = s.store.ListAlerts(ctx, name, 20); err != nil {
		return err
	}
	if d.Audit, err = s.store.TaskAudit(ctx, name, 20); err != nil {
		return err
	}
	return s.render(c, "task.html", d)
}

type runData struct {
	page
	Run    tasktype.Run
	Alerts []store.AlertRow
	Log    logView
}

// runParam loads the run named by the :id parameter.
func (s *Server) runParam(c *fiber.Ctx) (tasktype.Run, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return tasktype.Run{}, fiber.NewError(fiber.StatusNotFound, "no such run")
	}
	run, err := s.store.GetRun(c.Context(), id)
	if errors.Is(err, store.ErrRunNotFound) {
		return run, fiber.NewError(fiber.StatusNotFound, "no such run")
	}
	return run, err
}

func (s *Server) runPage(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	alerts, err := s.store.RunAlerts(c.Context(), run.ID)
	if err != nil {
		return err
	}
	log, err := s.readLog(run, logOffset(c))
	if err != nil {
		return err
	}
	return s.render(c, "run.html", runData{page: s.page(c, fmt.Sprintf("run #%d", run.ID)), Run: run, Alerts: alerts, Log: log})
}
