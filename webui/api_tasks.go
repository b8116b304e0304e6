package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdef"
	"github.com/schetask/schetask/tasktype"
)

// The API's tasks: list, get, create, update (with If-Match), delete;
// apply, the declarative whole (definitions as code); and alerts.

// taskAPIRoutes are the routes of this file.
func (s *Server) taskAPIRoutes() []apiRoute {
	return []apiRoute{
		{Method: fiber.MethodGet, Path: "/tasks", Role: RoleViewer, Handler: s.apiListTasks,
			Summary: "List tasks, by name", Response: "TaskList", Query: []apiParam{
				{Name: "q", Description: "only tasks whose name, description or owners contain this (any case)"},
				{Name: "status", Description: "enabled or disabled"},
			}},
		{Method: fiber.MethodPost, Path: "/tasks", Role: RoleAdmin, Handler: s.apiCreateTask, Status: fiber.StatusCreated,
			Summary: "Create a task; 409 conflict when the name is taken", Request: "TaskDefinition", Response: "TaskResponse"},
		{Method: fiber.MethodGet, Path: "/tasks/{name}", Role: RoleViewer, Handler: s.apiGetTask,
			Summary: "One task; its ETag is its version", Response: "TaskResponse"},
		{Method: fiber.MethodPut, Path: "/tasks/{name}", Role: RoleAdmin, Handler: s.apiUpdateTask,
			Summary: "Replace a task's settings (omitted fields take their defaults). Needs If-Match: \"<version>\" " +
				"(or the body's version): 428 without, 409 with the current task when the task changed since",
			Request: "TaskInput", Response: "TaskResponse",
			Headers: []apiParam{{Name: "If-Match", Description: `the version read: "<version>"`}}},
		{Method: fiber.MethodDelete, Path: "/tasks/{name}", Role: RoleAdmin, Handler: s.apiDeleteTask, Status: fiber.StatusNoContent,
			Summary: "Delete a task; its runs, logs and history stay"},
		{Method: fiber.MethodPost, Path: "/apply", Role: RoleAdmin, Handler: s.apiApply,
			Summary: "Make the tasks what the definitions say, in one transaction: create, update and, with prune, delete. " +
				"Any invalid definition: 422 with details [{index, task, field, message}] and nothing changed. dry_run changes nothing",
			Request: "ApplyRequest", Response: "ApplyResponse"},
		{Method: fiber.MethodGet, Path: "/alerts", Role: RoleViewer, Handler: s.apiListAlerts,
			Summary: "Alerts, newest first; page with before=<the previous page's next>", Response: "AlertList", Query: []apiParam{
				{Name: "task", Description: "only this task's alerts"},
				{Name: "limit", Type: "integer", Description: "page size, 1 to 500 (default 50)"},
				{Name: "before", Description: "the next of the previous page: alerts older than it"},
			}},
	}
}

// taskVersion is a task's version as the API shows it: its updated_at in
// Unix microseconds, as the console's edit form carries it.
func taskVersion(t tasktype.Task) string { return strconv.FormatInt(t.UpdatedAt.UnixMicro(), 10) }

// taskReadOnly are the fields of a task answer that a request may send
// back (an edited GET) and that are ignored there.
var taskReadOnly = []string{"version", "created_at", "updated_at", "last_start_time", "last_end_time"}

// apiTaskJSON is a task as the API answers it: its definition, every
// setting written out, and the read-only fields.
func apiTaskJSON(t tasktype.Task) map[string]any {
	out := map[string]any{}
	if b, err := json.Marshal(taskdef.FromTask(t)); err == nil {
		_ = json.Unmarshal(b, &out)
	}
	out["version"] = taskVersion(t)
	out["created_at"] = t.CreatedAt
	out["updated_at"] = t.UpdatedAt
	out["last_start_time"] = t.LastStartTime
	out["last_end_time"] = t.LastEndTime
	return out
}

// errBadDefinition is a definition that is not even JSON of the right
// shape; its fields say where, when known.
type errBadDefinition struct {
	field, message string
}

func (e *errBadDefinition) Error() string { return e.message }

// decodeDefinition reads one task definition strictly (an unknown field
// is refused), ignoring the read-only fields of a task answer; it also
// returns the version the body carried, if any.
func decodeDefinition(raw []byte) (taskdef.Definition, string, error) {
	var d taskdef.Definition
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return d, "", &errBadDefinition{message: "want a JSON object of a task's settings: " + err.Error()}
	}
	var version string
	if v, ok := fields["version"]; ok {
		if err := json.Unmarshal(v, &version); err != nil {
			return d, "", &errBadDefinition{field: "version", message: "want the version as a string"}
		}
	}
	for _, k := range taskReadOnly {
		delete(fields, k)
	}
	clean, err := json.Marshal(fields)
	if err != nil {
		return d, "", err
	}
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return d, "", &errBadDefinition{field: te.Field, message: fmt.Sprintf("want %s, not a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)}
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return d, "", &errBadDefinition{field: f, message: "not a task setting"}
		}
		return d, "", &errBadDefinition{message: err.Error()}
	}
	return d, version, nil
}

// jsonKind names a Go kind as JSON would.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "true or false"
	case kind == "slice":
		return "a list"
	case kind == "struct", kind == "map", kind == "ptr":
		return "an object"
	}
	return "a string"
}

// definitionRefused answers a definition that is not valid JSON of the
// right shape: 422 invalid with the field when known, else 400.
func definitionRefused(c *fiber.Ctx, err error) error {
	var bd *errBadDefinition
	if errors.As(err, &bd) && bd.field != "" {
		return apiInvalid(c, map[string]string{bd.field: bd.message}, "the task definition is invalid: "+bd.field+": "+bd.message)
	}
	if bd != nil {
		return apiError(c, fiber.StatusBadRequest, "bad_request", "the request body: "+bd.message)
	}
	return err
}

// chainCycleOf is the database's refusal of a chain cycle err holds.
func chainCycleOf(err error) (*store.ChainCycleError, bool) {
	var cyc *store.ChainCycleError
	return cyc, errors.As(err, &cyc)
}

// chainCycleRefused answers a task write the database refused as a chain
// cycle: 422 invalid, on the field (after or on_failure) that closes it.
func chainCycleRefused(c *fiber.Ctx, cyc *store.ChainCycleError) error {
	msg := chainCycleMessage(cyc)
	return apiInvalid(c, map[string]string{cyc.Field: msg}, "the task definition is invalid: "+cyc.Field+": "+msg)
}

// invalidTask answers a definition that d.Task() refused.
func invalidTask(c *fiber.Ctx, fields map[string]string) error {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		parts = append(parts, k+": "+fields[k])
	}
	return apiInvalid(c, fields, "the task definition is invalid: "+strings.Join(parts, "; "))
}

func (s *Server) apiListTasks(c *fiber.Ctx) error {
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	var want *bool
	switch c.Query("status") {
	case "":
	case "enabled", "on":
		want = new(true)
	case "disabled", "off":
		want = new(false)
	default:
		return apiInvalid(c, map[string]string{"status": "enabled or disabled"}, "status: want enabled or disabled")
	}
	tasks, err := s.store.ListTasks(c.UserContext())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, t := range tasks {
		if want != nil && (t.Status == tasktype.StatusOn) != *want {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(t.Name+"\n"+t.Description+"\n"+strings.Join(t.Owners, "\n")), q) {
			continue
		}
		out = append(out, apiTaskJSON(t))
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"tasks": out})
}

// apiTaskParam loads the task of the path's name, or answers 404.
func (s *Server) apiTaskParam(c *fiber.Ctx) (tasktype.Task, bool, error) {
	name := c.Params("name")
	if tasktype.ValidateName(name) != nil {
		return tasktype.Task{}, false, apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no task %q", name))
	}
	t, err := s.store.GetTask(c.UserContext(), name)
	if errors.Is(err, store.ErrTaskNotFound) {
		return t, false, apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no task %q", name))
	}
	if err != nil {
		return t, false, err
	}
	return t, true, nil
}

func (s *Server) apiGetTask(c *fiber.Ctx) error {
	t, ok, err := s.apiTaskParam(c)
	if !ok {
		return err
	}
	c.Set(fiber.HeaderETag, strconv.Quote(taskVersion(t)))
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": apiTaskJSON(t)})
}

func (s *Server) apiCreateTask(c *fiber.Ctx) error {
	d, _, err := decodeDefinition(c.Body())
	if err != nil {
		return definitionRefused(c, err)
	}
	t, errs := d.Task()
	if len(errs) > 0 {
		return invalidTask(c, errs)
	}
	p := apiUser(c)
	ctx := store.WithActor(c.UserContext(), p.Actor("create"))
	if err := s.store.CreateTask(ctx, t); errors.Is(err, store.ErrTaskExists) {
		return apiError(c, fiber.StatusConflict, "conflict", fmt.Sprintf("a task %q exists already", t.Name))
	} else if cyc, ok := chainCycleOf(err); ok {
		return chainCycleRefused(c, cyc)
	} else if err != nil {
		return err
	}
	s.logger.Info("task created", slog.String("user", p.User), slog.String("token", p.Token), slog.String("task", t.Name))
	created, err := s.store.GetTask(c.UserContext(), t.Name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, strconv.Quote(taskVersion(created)))
	c.Set(fiber.HeaderLocation, apiPrefix+"/tasks/"+created.Name)
	return apiJSON(c, fiber.StatusCreated, fiber.Map{"task": apiTaskJSON(created)})
}

// ifMatchVersion is the version of an If-Match header ("<version>", also
// weak or unquoted), or "".
func ifMatchVersion(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}

func (s *Server) apiUpdateTask(c *fiber.Ctx) error {
	cur, ok, err := s.apiTaskParam(c)
	if !ok {
		return err
	}
	d, bodyVersion, err := decodeDefinition(c.Body())
	if err != nil {
		return definitionRefused(c, err)
	}
	version := ifMatchVersion(c.Get(fiber.HeaderIfMatch))
	if version == "" {
		version = bodyVersion
	}
	if version == "" {
		return apiError(c, fiber.StatusPreconditionRequired, "precondition_required",
			`send the version you read: If-Match: "<version>" (GET the task for it), or "version" in the body`)
	}
	micros, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return apiInvalid(c, map[string]string{"version": "not a task version"}, fmt.Sprintf("If-Match: %q is not a task version", version))
	}
	if d.Name == "" {
		d.Name = cur.Name
	}
	if d.Name != cur.Name {
		return apiInvalid(c, map[string]string{"name": "a task is not renamed: its name is its folder's"},
			fmt.Sprintf("name: %q is not %q; a task is not renamed", d.Name, cur.Name))
	}
	t, errs := d.Task()
	if len(errs) > 0 {
		return invalidTask(c, errs)
	}
	p := apiUser(c)
	ctx := store.WithActor(c.UserContext(), p.Actor("edit"))
	_, after, err := s.store.UpdateTask(ctx, t, time.UnixMicro(micros))
	switch {
	case errors.Is(err, store.ErrTaskChanged):
		now, gerr := s.store.GetTask(c.UserContext(), cur.Name)
		if gerr != nil {
			return gerr
		}
		c.Set(fiber.HeaderETag, strconv.Quote(taskVersion(now)))
		return apiSendError(c, fiber.StatusConflict, apiErrorBody{
			Error: apiErrorDetail{Code: "conflict", Message: fmt.Sprintf(
				"the task changed since version %s: it is at version %s now (the task is in this answer); read it, then send your change again",
				version, taskVersion(now))},
			Task: apiTaskJSON(now)})
	case errors.Is(err, store.ErrTaskNotFound):
		return apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no task %q", cur.Name))
	case errors.Is(err, store.ErrChainCycle):
		cyc, _ := chainCycleOf(err)
		return chainCycleRefused(c, cyc)
	case err != nil:
		return err
	}
	s.logger.Info("task edited", slog.String("user", p.User), slog.String("token", p.Token), slog.String("task", t.Name))
	c.Set(fiber.HeaderETag, strconv.Quote(taskVersion(after)))
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": apiTaskJSON(after)})
}

func (s *Server) apiDeleteTask(c *fiber.Ctx) error {
	t, ok, err := s.apiTaskParam(c)
	if !ok {
		return err
	}
	p := apiUser(c)
	ctx := store.WithActor(c.UserContext(), p.Actor("delete"))
	if err := s.store.DeleteTask(ctx, t.Name); errors.Is(err, store.ErrTaskNotFound) {
		return apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no task %q", t.Name))
	} else if err != nil {
		return err
	}
	s.logger.Info("task deleted", slog.String("user", p.User), slog.String("token", p.Token), slog.String("task", t.Name))
	return c.SendStatus(fiber.StatusNoContent)
}

// applyRequest is the body of POST /apply.
type applyRequest struct {
	Tasks  []json.RawMessage `json:"tasks"`
	Prune  bool              `json:"prune"`
	DryRun bool              `json:"dry_run"`
	// AllowEmpty lets an apply with prune and no definitions delete every
	// task; without it that is refused, as a wrong path would do it.
	AllowEmpty bool `json:"allow_empty"`
}

// applyProblem is one thing wrong with an apply's definitions.
type applyProblem struct {
	Index   int    `json:"index"`
	Task    string `json:"task"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// applyChange is one change an apply makes (or would make).
type applyChange struct {
	Task   string             `json:"task"`
	Action string             `json:"action"`
	Fields []applyFieldChange `json:"fields"`
}

type applyFieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// apiApply serves POST /apply: every definition is validated first (any
// problem: 422, nothing changed); then the difference with the stored
// tasks is made in one transaction, unless dry_run.
func (s *Server) apiApply(c *fiber.Ctx) error {
	var req applyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Tasks == nil {
		return apiInvalid(c, map[string]string{"tasks": "required: the list of task definitions"}, "tasks: required")
	}
	if len(req.Tasks) == 0 && req.Prune && !req.AllowEmpty {
		const msg = "no task definitions, and prune would delete every task: refused (set allow_empty to mean it)"
		return apiInvalid(c, map[string]string{"tasks": msg}, msg)
	}
	var problems []any
	desired := make([]taskdef.Definition, 0, len(req.Tasks))
	byName := map[string]tasktype.Task{}
	seen := map[string]int{}
	for i, raw := range req.Tasks {
		d, _, err := decodeDefinition(raw)
		if err != nil {
			var bd *errBadDefinition
			if !errors.As(err, &bd) {
				return err
			}
			problems = append(problems, applyProblem{Index: i, Task: d.Name, Field: bd.field, Message: bd.message})
			continue
		}
		t, errs := d.Task()
		for _, f := range slices.Sorted(maps.Keys(errs)) {
			problems = append(problems, applyProblem{Index: i, Task: d.Name, Field: f, Message: errs[f]})
		}
		if len(errs) > 0 {
			continue
		}
		if j, dup := seen[t.Name]; dup {
			problems = append(problems, applyProblem{Index: i, Task: t.Name, Field: "name",
				Message: fmt.Sprintf("task %q is defined twice (also at index %d)", t.Name, j)})
			continue
		}
		seen[t.Name] = i
		desired = append(desired, taskdef.FromTask(t))
		byName[t.Name] = t
	}
	if len(problems) > 0 {
		return apiSendError(c, fiber.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{Code: "invalid",
			Message: fmt.Sprintf("%d problem(s) in the definitions; nothing was changed", len(problems)), Details: problems}})
	}
	ctx := c.UserContext()
	stored, err := s.store.ListTasks(ctx)
	if err != nil {
		return err
	}
	current := make([]taskdef.Definition, 0, len(stored))
	for _, t := range stored {
		current = append(current, taskdef.FromTask(t))
	}
	diff := taskdef.Diff(current, desired, req.Prune)
	if p, loop := applyChainLoop(stored, diff, byName, seen); loop != "" {
		return apiSendError(c, fiber.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{Code: "invalid",
			Message: "the definitions make a chain loop; nothing was changed: " + loop, Details: []any{p}}})
	}
	changes := make([]applyChange, 0, len(diff))
	var creates, updates []tasktype.Task
	var deletes []string
	for _, ch := range diff {
		out := applyChange{Task: ch.Task, Action: ch.Action, Fields: []applyFieldChange{}}
		for _, f := range ch.Fields {
			out.Fields = append(out.Fields, applyFieldChange{Field: f.Field, Before: f.Before, After: f.After})
		}
		changes = append(changes, out)
		switch ch.Action {
		case "create":
			creates = append(creates, byName[ch.Task])
		case "update":
			updates = append(updates, byName[ch.Task])
		case "delete":
			deletes = append(deletes, ch.Task)
		default:
			return fmt.Errorf("apply: unknown change %q of task %q", ch.Action, ch.Task)
		}
	}
	if !req.DryRun && len(changes) > 0 {
		p := apiUser(c)
		updates = chainRemovalsFirst(updates, stored)
		err := s.store.ApplyTasks(store.WithActor(ctx, p.Actor("apply")), creates, updates, deletes)
		var cyc *store.ChainCycleError
		switch {
		case errors.As(err, &cyc):
			msg := chainCycleMessage(cyc)
			return apiSendError(c, fiber.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{Code: "invalid",
				Message: "the definitions make a chain loop; nothing was changed: " + cyc.Message,
				Details: []any{applyProblem{Index: seen[cyc.Task], Task: cyc.Task, Field: cyc.Field, Message: msg}}}})
		case errors.Is(err, store.ErrTaskExists), errors.Is(err, store.ErrTaskNotFound):
			return apiError(c, fiber.StatusConflict, "conflict", "the tasks changed while applying; nothing was changed, apply again: "+err.Error())
		case err != nil:
			return err
		}
		s.logger.Info("tasks applied", slog.String("user", p.User), slog.String("token", p.Token),
			slog.Int("created", len(creates)), slog.Int("updated", len(updates)), slog.Int("deleted", len(deletes)))
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"changes": changes, "dry_run": req.DryRun})
}

// applyChainLoop finds a chain loop the tasks would make once diff is
// applied, through a created or updated task (the stored ones make
// none): the problem names the first such task in the request, as the
// database would refuse it; a dry run says so too.
func applyChainLoop(stored []tasktype.Task, diff []taskdef.Change, byName map[string]tasktype.Task,
	index map[string]int) (applyProblem, string) {
	final := map[string]tasktype.Task{}
	for _, t := range stored {
		final[t.Name] = t
	}
	var changed []string
	for _, ch := range diff {
		switch ch.Action {
		case taskdef.ActionDelete:
			delete(final, ch.Task)
		default:
			final[ch.Task] = byName[ch.Task]
			changed = append(changed, ch.Task)
		}
	}
	slices.SortFunc(changed, func(a, b string) int { return index[a] - index[b] })
	cycle, field := taskdef.ChainCycle(slices.Collect(maps.Values(final)), changed)
	if cycle == nil {
		return applyProblem{}, ""
	}
	loop := taskdef.FormatChainCycle(cycle)
	return applyProblem{Index: index[cycle[0]], Task: cycle[0], Field: field, Message: chainLoopWords(loop)}, loop
}

// chainRemovalsFirst orders an apply's updates so that those dropping a
// chain link (a name from after or on_failure) are written before those
// adding one: the database checks each write for a cycle as it comes,
// so an apply that moves a link (b after a becomes a after b) must drop
// the old one first.
func chainRemovalsFirst(updates, stored []tasktype.Task) []tasktype.Task {
	before := make(map[string]tasktype.Task, len(stored))
	for _, t := range stored {
		before[t.Name] = t
	}
	drops := func(t tasktype.Task) bool {
		old := before[t.Name]
		return slices.ContainsFunc(old.After, func(n string) bool { return !slices.Contains(t.After, n) }) ||
			slices.ContainsFunc(old.OnFailure, func(n string) bool { return !slices.Contains(t.OnFailure, n) })
	}
	out := slices.Clone(updates)
	slices.SortStableFunc(out, func(a, b tasktype.Task) int {
		switch da, db := drops(a), drops(b); {
		case da && !db:
			return -1
		case db && !da:
			return 1
		}
		return 0
	})
	return out
}

// apiAlert is an alert as the API answers it.
type apiAlert struct {
	ID           int64                     `json:"id"`
	Task         string                    `json:"task"`
	Kind         string                    `json:"kind"`
	Title        string                    `json:"title"`
	Body         string                    `json:"body"`
	Run          *int64                    `json:"run"`
	ExitCode     *int                      `json:"exit_code"`
	Excerpt      []string                  `json:"excerpt"`
	Sent         bool                      `json:"sent"`
	Repeat       bool                      `json:"repeat"`
	Suppressed   int                       `json:"suppressed"`
	DispatchedAt *time.Time                `json:"dispatched_at"`
	Deliveries   map[string]store.Delivery `json:"deliveries"`
	CreatedAt    time.Time                 `json:"created_at"`
}

// apiPageLimit reads ?limit=: 1 to 500, 50 when absent.
func apiPageLimit(c *fiber.Ctx) (int, bool) {
	v := c.Query("limit")
	if v == "" {
		return 50, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, false
	}
	return n, true
}

func (s *Server) apiListAlerts(c *fiber.Ctx) error {
	limit, ok := apiPageLimit(c)
	if !ok {
		return apiInvalid(c, map[string]string{"limit": "a whole number from 1 to 500"}, "limit: want a whole number from 1 to 500")
	}
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return apiInvalid(c, map[string]string{"before": "the next of a previous page"}, "before: not a page cursor")
		}
		before = n
	}
	rows, err := s.store.ListAlertsPage(c.UserContext(), c.Query("task"), before, limit)
	if err != nil {
		return err
	}
	alerts := make([]apiAlert, 0, len(rows))
	for _, a := range rows {
		excerpt := a.Excerpt
		if excerpt == nil {
			excerpt = []string{}
		}
		alerts = append(alerts, apiAlert{ID: a.ID, Task: a.TaskName, Kind: a.Kind, Title: a.Title, Body: a.Body, Run: a.ExecID,
			ExitCode: a.ExitCode, Excerpt: excerpt, Sent: a.Sent, Repeat: a.Repeat, Suppressed: a.Suppressed,
			DispatchedAt: a.DispatchedAt, Deliveries: a.Deliveries, CreatedAt: a.CreatedAt})
	}
	var next *string
	if len(rows) == limit {
		next = new(strconv.FormatInt(rows[len(rows)-1].ID, 10))
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"alerts": alerts, "next": next})
}
