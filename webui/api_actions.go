package webui

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/workflows"
)

// The API's actions on a task: run now (with parameters), kill, pause,
// resume, backfill. Pause and resume change the task's row, which the
// database audits with the token's actor; run, kill and backfill change
// no row and are audited here.

// actionAPIRoutes is the API's routes for acting on tasks.
func (s *Server) actionAPIRoutes() []apiRoute {
	return []apiRoute{
		{Method: fiber.MethodPost, Path: "/tasks/{name}/run", Role: RoleOperator, Handler: s.apiRunTask,
			Summary: "Start a run at once with parameter values (refused with 409 while a run is going if the task's overlap policy is skip); " +
				"follow it with GET /fires/{workflow_id}",
			Request: "RunRequest", Response: "RunStarted", Status: fiber.StatusAccepted},
		{Method: fiber.MethodPost, Path: "/tasks/{name}/kill", Role: RoleOperator, Handler: s.apiKillTask,
			Summary: "Kill every running run of the task, and stop the retries of fires waiting for one",
			Request: "KillRequest", Response: "Killed"},
		{Method: fiber.MethodPost, Path: "/tasks/{name}/pause", Role: RoleOperator, Handler: s.apiPauseTask,
			Summary: "Disable the task (its schedule stops firing; a run going goes on), with an optional note",
			Request: "PauseRequest", Response: "TaskStatus"},
		{Method: fiber.MethodPost, Path: "/tasks/{name}/resume", Role: RoleOperator, Handler: s.apiResumeTask,
			Summary: "Enable the task again, clearing its note", Response: "TaskStatus"},
		{Method: fiber.MethodPost, Path: "/tasks/{name}/backfill", Role: RoleOperator, Handler: s.apiBackfillTask,
			Summary: "Run every fire of the task's rule from from to to (both included), one at a time in order, each with its own " +
				"scheduled time; dry_run only counts them; more than the cap (SCHETASK_BACKFILL_MAX) is refused with 422 too_many_fires",
			Request: "BackfillRequest", Response: "BackfillResult"},
	}
}

// apiControl is the console's Temporal connection, or a 503 when it has
// none.
func (s *Server) apiControl() (*control.Control, error) {
	if s.opts.Control == nil {
		return nil, fiber.NewError(fiber.StatusServiceUnavailable, "this console has no Temporal connection")
	}
	return s.opts.Control, nil
}

// actionInput reads what every action on a task starts from: the
// console's Temporal connection (503 without one), the task named in the
// path (404) and the request's JSON body of type R (400).
func actionInput[R any](s *Server, c *fiber.Ctx) (*control.Control, tasktype.Task, R, error) {
	var req R
	ctl, err := s.apiControl()
	if err != nil {
		return nil, tasktype.Task{}, req, err
	}
	t, err := s.taskParam(c)
	if err != nil {
		return nil, tasktype.Task{}, req, err
	}
	if err := decodeJSON(c, &req); err != nil {
		return nil, tasktype.Task{}, req, err
	}
	return ctl, t, req, nil
}

// apiRunRequest is the body of POST /tasks/{name}/run.
type apiRunRequest struct {
	Params map[string]string `json:"params"`
}

func (s *Server) apiRunTask(c *fiber.Ctx) error {
	ctl, t, req, err := actionInput[apiRunRequest](s, c)
	if err != nil {
		return err
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	p := apiUser(c)
	ctx := c.UserContext()
	id, err := ctl.RunWithParams(ctx, t.Name, req.Params, p.Actor("run").Name)
	if err != nil {
		return apiRunRefused(c, err)
	}
	if err := s.store.AddAudit(ctx, p.Actor("run").Name, "run", t.Name, nil,
		map[string]any{"workflow_id": id, "params": req.Params}); err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusAccepted, fiber.Map{"workflow_id": id})
}

// apiRunRefused answers why a run could not start.
func apiRunRefused(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, store.ErrTaskNotFound):
		return apiError(c, fiber.StatusNotFound, "not_found", "no such task")
	case errors.Is(err, tasktype.ErrInvalidParams):
		return apiInvalid(c, map[string]string{"params": paramsMessage(err)}, paramsMessage(err))
	case errors.Is(err, control.ErrRunGoing):
		return apiError(c, fiber.StatusConflict, "conflict", "not started: "+control.ErrRunGoing.Error())
	case errors.Is(err, control.ErrNoSchedule):
		return apiError(c, fiber.StatusConflict, "conflict", "not started: the task has no schedule yet; try again in a moment (t_task_sync says why if it lasts)")
	}
	return err
}

// paramsMessage is a parameter refusal without the wrapping of where it
// was raised: "parameter "day" is required".
func paramsMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, tasktype.ErrInvalidParams.Error()+": "); i >= 0 {
		msg = msg[i+len(tasktype.ErrInvalidParams.Error())+2:]
	}
	return msg
}

// apiKillRequest is the body of POST /tasks/{name}/kill.
type apiKillRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) apiKillTask(c *fiber.Ctx) error {
	ctl, t, req, err := actionInput[apiKillRequest](s, c)
	if err != nil {
		return err
	}
	if err := tasktype.ValidateLength("the reason", req.Reason, tasktype.MaxStatusNoteChars); err != nil {
		return apiInvalid(c, map[string]string{"reason": err.Error()}, err.Error())
	}
	p := apiUser(c)
	ctx := c.UserContext()
	reason := req.Reason
	if reason == "" {
		reason = "killed through the API"
	}
	n, killErr := ctl.Kill(ctx, t.Name, workflows.KillRequest{By: p.Actor("kill").Name, Reason: reason})
	if n > 0 {
		if err := s.store.AddAudit(ctx, p.Actor("kill").Name, "kill", t.Name, nil,
			map[string]any{"killed_runs": n, "reason": req.Reason}); err != nil {
			return err
		}
	}
	if killErr != nil && n == 0 {
		return apiError(c, fiber.StatusConflict, "conflict", "nothing killed: "+killErr.Error())
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"killed": n})
}

// apiPauseRequest is the body of POST /tasks/{name}/pause.
type apiPauseRequest struct {
	// Note says why; absent keeps the note a paused task has.
	Note *string `json:"note"`
}

func (s *Server) apiPauseTask(c *fiber.Ctx) error {
	var req apiPauseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Note != nil {
		if err := tasktype.ValidateLength("the note", *req.Note, tasktype.MaxStatusNoteChars); err != nil {
			return apiInvalid(c, map[string]string{"note": err.Error()}, err.Error())
		}
	}
	return s.apiSetStatus(c, "pause", tasktype.StatusOff, req.Note)
}

func (s *Server) apiResumeTask(c *fiber.Ctx) error {
	if err := decodeJSON(c, &struct{}{}); err != nil {
		return err
	}
	return s.apiSetStatus(c, "resume", tasktype.StatusOn, new(""))
}

// apiSetStatus pauses or resumes the task with a note (nil keeps the
// task's); the database audits the change with the token's actor.
// Nothing to change is no error.
func (s *Server) apiSetStatus(c *fiber.Ctx, action string, status tasktype.Status, notePtr *string) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	note := t.StatusNote
	if notePtr != nil {
		note = *notePtr
	}
	changed := t.Status != status || t.StatusNote != note
	if changed {
		ctx := store.WithActor(c.UserContext(), apiUser(c).Actor(action))
		if err := s.store.SetTaskStatusNote(ctx, t.Name, status, note); errors.Is(err, store.ErrTaskNotFound) {
			return apiError(c, fiber.StatusNotFound, "not_found", "no such task")
		} else if err != nil {
			return err
		}
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": t.Name, "enabled": status == tasktype.StatusOn,
		"status_note": note, "changed": changed})
}

// apiBackfillRequest is the body of POST /tasks/{name}/backfill.
type apiBackfillRequest struct {
	From   string `json:"from"`
	To     string `json:"to"`
	DryRun bool   `json:"dry_run"`
	// Overlap is "task" for the task's own overlap policy; "" (or
	// "buffer_all") runs the fires one at a time, in order.
	Overlap string `json:"overlap"`
}

func (s *Server) apiBackfillTask(c *fiber.Ctx) error {
	ctl, t, req, err := actionInput[apiBackfillRequest](s, c)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	from, err := time.Parse(time.RFC3339, req.From)
	if err != nil {
		fields["from"] = "give the start of the range as RFC 3339 (2006-01-02T15:04:05Z)"
	}
	to, err := time.Parse(time.RFC3339, req.To)
	if err != nil {
		fields["to"] = "give the end of the range as RFC 3339 (2006-01-02T15:04:05Z)"
	}
	if req.Overlap != "" && req.Overlap != "task" && req.Overlap != "buffer_all" {
		fields["overlap"] = `"task" for the task's overlap policy, or leave it out to run the fires one at a time`
	}
	if len(fields) > 0 {
		return apiInvalid(c, fields, "the backfill request is invalid")
	}
	p := apiUser(c)
	ctx := c.UserContext()
	res, err := ctl.Backfill(ctx, t.Name, from, to, s.opts.BackfillMax, req.Overlap == "task", p.Actor("backfill").Name, req.DryRun)
	if err != nil {
		return apiBackfillRefused(c, err)
	}
	if !req.DryRun {
		if err := s.store.AddAudit(ctx, p.Actor("backfill").Name, "backfill", t.Name, nil, map[string]any{
			"backfill_id": res.ID, "from": from, "to": to, "fires": res.Fires, "overlap": req.Overlap}); err != nil {
			return err
		}
	}
	out := fiber.Map{"fires": res.Fires, "first": res.First.UTC().Format(time.RFC3339),
		"last": res.Last.UTC().Format(time.RFC3339), "backfill_id": nil}
	if res.ID != 0 {
		out["backfill_id"] = res.ID
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// apiBackfillRefused answers why a backfill was refused.
func apiBackfillRefused(c *fiber.Ctx, err error) error {
	var many *control.TooManyFiresError
	switch {
	case errors.As(err, &many):
		return apiSendError(c, fiber.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{
			Code: "too_many_fires", Message: many.Error(),
			Details: []any{fiber.Map{"fires": many.Fires, "at_least": many.AtLeast, "max": many.Max}}}})
	case errors.Is(err, control.ErrInvalidRange), errors.Is(err, control.ErrNoFires):
		return apiInvalid(c, map[string]string{"to": backfillMessage(err)}, backfillMessage(err))
	case errors.Is(err, store.ErrTaskNotFound):
		return apiError(c, fiber.StatusNotFound, "not_found", "no such task")
	case errors.Is(err, control.ErrNoSchedule):
		return apiError(c, fiber.StatusConflict, "conflict", "the task has no schedule yet; try again in a moment")
	case errors.Is(err, control.ErrBadRule):
		return apiError(c, fiber.StatusConflict, "conflict", backfillMessage(err))
	}
	return err
}

// backfillMessage is a backfill refusal without the "backfill "x": " it
// was wrapped in.
func backfillMessage(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "\": "); ok && strings.HasPrefix(msg, "backfill ") {
		return rest
	}
	return msg
}
