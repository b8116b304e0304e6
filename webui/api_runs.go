package webui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The API's read side of runs: the run list with the console's filters
// and keyset paging, one run, its log as text (with byte ranges) or live
// as server-sent events, a fire's result (what `schetask run --wait`
// waits for), and a task's history versions, their files and diffs.

// runAPIRoutes is the API's routes for reading runs and history.
func (s *Server) runAPIRoutes() []apiRoute {
	return []apiRoute{
		{Method: fiber.MethodGet, Path: "/runs", Role: RoleViewer, Handler: s.apiListRuns,
			Summary:  "List runs, newest first, with the console's filters; page with the returned next cursor",
			Response: "RunList", Query: []apiParam{
				{Name: "task", Description: "only this task's runs"},
				{Name: "status", Description: "running, succeeded, failed, timed_out, killed or lost"},
				{Name: "exit_code", Type: "integer", Description: "only runs that ended with this exit code"},
				{Name: "from", Description: "runs started at or after this time (RFC 3339, or YYYY-MM-DDTHH:MM[:SS] in UTC)"},
				{Name: "to", Description: "runs started before this time (RFC 3339), or within the minute or second it names (YYYY-MM-DDTHH:MM[:SS] in UTC)"},
				{Name: "limit", Type: "integer", Description: "page size, 1 to 500 (default 50)"},
				{Name: "cursor", Description: "the next cursor of the previous page"},
			}},
		{Method: fiber.MethodGet, Path: "/runs/:id<int>", Role: RoleViewer, Handler: s.apiGetRun,
			Summary: "One run", Response: "RunResponse"},
		{Method: fiber.MethodGet, Path: "/runs/:id<int>/log", Role: RoleViewer, Handler: s.apiRunLog,
			Summary:  "A run's log as text; a part of it with ?offset=&limit= or a Range header (206); X-Log-Size is the log's size",
			Produces: "text/plain", Query: []apiParam{
				{Name: "offset", Type: "integer", Description: "first byte to send (default 0)"},
				{Name: "limit", Type: "integer", Description: "at most this many bytes (default: to the end)"},
			}},
		{Method: fiber.MethodGet, Path: "/runs/:id<int>/log/stream", Role: RoleViewer, Handler: s.apiRunLogStream,
			Summary: "A run's log live as server-sent events: \"log\" events carry new text (a JSON string) with the log offset after it as id; " +
				"one \"end\" event carries {status, exit_code} once the run has ended",
			Produces: "text/event-stream", Query: []apiParam{
				{Name: "offset", Type: "integer", Description: "log byte offset to start at (default 0); Last-Event-ID overrides it"},
			}},
		{Method: fiber.MethodGet, Path: "/fires/:workflow_id", Role: RoleViewer, Handler: s.apiGetFire,
			Summary:  "A fire's result: its attempts, and whether its workflow has closed; ?wait= long-polls until it has",
			Response: "Fire", Query: []apiParam{
				{Name: "wait", Description: "wait up to this long for the fire to be done (a Go duration like 30s, or seconds; at most 60s)"},
			}},
		{Method: fiber.MethodGet, Path: "/tasks/:name/history", Role: RoleViewer, Handler: s.apiTaskHistory,
			Summary:  "A task's history versions (runs that archived their publish folder), newest first",
			Response: "HistoryList", Query: []apiParam{
				{Name: "limit", Type: "integer", Description: "page size, 1 to 500 (default 50)"},
				{Name: "cursor", Description: "the next cursor of the previous page"},
			}},
		{Method: fiber.MethodGet, Path: "/tasks/:name/history/:version/files", Role: RoleViewer, Handler: s.apiHistoryFiles,
			Summary:  "The files one history version archived; version is a run id or a task_version (URL-encoded)",
			Response: "HistoryFiles"},
		{Method: fiber.MethodGet, Path: "/tasks/:name/diff", Role: RoleViewer, Handler: s.apiHistoryDiff,
			Summary:  "Unified diffs of the archived files between two versions (JSON pretty-printed first)",
			Response: "HistoryDiff", Query: []apiParam{
				{Name: "from", Description: "the older version: a run id or a task_version", Required: true},
				{Name: "to", Description: "the newer version: a run id or a task_version", Required: true},
				{Name: "file", Description: "only this file (default: every file of either version)"},
			}},
	}
}

// apiRun is a run as the API shows it.
type apiRun struct {
	ID             int64             `json:"id"`
	Task           string            `json:"task"`
	Version        string            `json:"version"`
	WorkflowID     string            `json:"workflow_id"`
	RunID          string            `json:"run_id"`
	Attempt        int               `json:"attempt"`
	ScheduledTime  time.Time         `json:"scheduled_time"`
	StartTime      time.Time         `json:"start_time"`
	EndTime        *time.Time        `json:"end_time"`
	Status         string            `json:"status"`
	ExitCode       *int              `json:"exit_code"`
	Error          string            `json:"error"`
	Params         map[string]string `json:"params"`
	BackfillID     *int64            `json:"backfill_id"`
	LogBytes       int64             `json:"log_bytes"`
	PublishedFiles []string          `json:"published_files"`
	StderrLines    int64             `json:"stderr_lines"`
	RetryAt        *time.Time        `json:"retry_at"`
}

// apiRunJSON is r as the API shows it, times in UTC.
func apiRunJSON(r tasktype.Run) apiRun {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	files := r.PublishedFiles
	if files == nil {
		files = []string{}
	}
	return apiRun{ID: r.ID, Task: r.TaskName, Version: r.Version, WorkflowID: r.WorkflowID, RunID: r.RunID,
		Attempt: max(r.Attempt, 1), ScheduledTime: r.ScheduledTime.UTC(), StartTime: r.StartTime.UTC(),
		EndTime: utc(r.EndTime), Status: string(r.Status), ExitCode: r.ExitCode, Error: r.Error, Params: r.Params,
		BackfillID: r.BackfillID, LogBytes: r.LogBytes, PublishedFiles: files, StderrLines: r.StderrLines,
		RetryAt: utc(r.RetryAt)}
}

// apiRunsJSON is runs as the API shows them, never null.
func apiRunsJSON(runs []tasktype.Run) []apiRun {
	out := make([]apiRun, 0, len(runs))
	for _, r := range runs {
		out = append(out, apiRunJSON(r))
	}
	return out
}

// apiRunParam reads the run the path's :id names.
func (s *Server) apiRunParam(c *fiber.Ctx) (tasktype.Run, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return tasktype.Run{}, fiber.NewError(fiber.StatusNotFound, "no such run")
	}
	run, err := s.store.GetRun(c.UserContext(), id)
	if errors.Is(err, store.ErrRunNotFound) {
		return run, fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no run %d", id))
	}
	return run, err
}

// apiLimit reads ?limit= as a page size: 1 to maxLimit, def when absent.
func apiLimit(c *fiber.Ctx, def, maxLimit int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("limit %q: want a whole number from 1 to %d", v, maxLimit))
	}
	return min(n, maxLimit), nil
}

// apiTime reads a run list bound: RFC 3339, or the console's form
// (a minute or a second in listZone, which "to" includes whole).
func apiTime(v string, isEnd bool) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	t, step, err := parseTimeInput(v)
	if err != nil {
		return nil, fmt.Errorf("time %q: want RFC 3339 (2026-11-25T10:00:00Z), or YYYY-MM-DDTHH:MM[:SS] in %s", v, listZone)
	}
	if isEnd {
		t = t.Add(step)
	}
	return &t, nil
}

// apiListRuns serves GET /runs: the console's run list as JSON.
func (s *Server) apiListRuns(c *fiber.Ctx) error {
	limit, err := apiLimit(c, 50, 500)
	if err != nil {
		return err
	}
	exit := c.Query("exit_code", c.Query("exit"))
	cursor := c.Query("cursor", c.Query("after"))
	f, err := parseRunFilter(c.Query("task"), c.Query("status"), exit, "", "", cursor)
	if err != nil {
		return apiError(c, fiber.StatusBadRequest, "bad_request", err.Error())
	}
	if f.From, err = apiTime(c.Query("from"), false); err != nil {
		return apiError(c, fiber.StatusBadRequest, "bad_request", "from: "+err.Error())
	}
	if f.To, err = apiTime(c.Query("to"), true); err != nil {
		return apiError(c, fiber.StatusBadRequest, "bad_request", "to: "+err.Error())
	}
	f.Limit = limit
	runs, next, err := s.store.SearchRuns(c.UserContext(), f)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"runs": apiRunsJSON(runs), "next": apiCursor(next)})
}

// apiCursor is a page cursor as the API answers it: null on the last page.
func apiCursor(c *store.RunCursor) *string {
	if c == nil {
		return nil
	}
	v := formatHistoryCursor(c)
	return &v
}

// apiGetRun serves GET /runs/:id.
func (s *Server) apiGetRun(c *fiber.Ctx) error {
	run, err := s.apiRunParam(c)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"run": apiRunJSON(run)})
}

// errRangeNotSatisfiable is a byte range that starts past a log's end.
var errRangeNotSatisfiable = errors.New("range not satisfiable")

// logRange is the part [start, end) of a log of size bytes a request
// asks for: ?offset=&limit= (partial false), or a single Range (partial
// true; several ranges, or one that does not parse, are ignored as RFC
// 9110 allows, and the whole log is sent).
func logRange(c *fiber.Ctx, size int64) (start, end int64, partial bool, err error) {
	if h := c.Get(fiber.HeaderRange); h != "" {
		if a, b, ok := parseByteRange(h); ok {
			switch {
			case a < 0: // the last -a bytes
				if b = -a; b == 0 || size == 0 {
					return 0, 0, true, errRangeNotSatisfiable
				}
				return max(0, size-b), size, true, nil
			case a >= size:
				return 0, 0, true, errRangeNotSatisfiable
			case b < 0: // to the end
				return a, size, true, nil
			default:
				return a, min(b+1, size), true, nil
			}
		}
	}
	end = size
	if v := c.Query("offset"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, fmt.Errorf("offset %q: want a whole number of bytes", v)
		}
		if n > size {
			return 0, 0, false, errRangeNotSatisfiable
		}
		start = n
	}
	if v := c.Query("limit"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, fmt.Errorf("limit %q: want a whole number of bytes", v)
		}
		end = min(size, start+n)
	}
	return start, end, false, nil
}

// parseByteRange reads a single "bytes=a-b", "bytes=a-" (b = -1) or
// "bytes=-n" (a = -n, b = -1) range.
func parseByteRange(h string) (a, b int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	num := func(v string) (int64, bool) {
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil && n >= 0 && v[0] != '+'
	}
	switch {
	case first == "" && last == "":
		return 0, 0, false
	case first == "":
		n, ok := num(last)
		return -n, -1, ok
	case last == "":
		n, ok := num(first)
		return n, -1, ok
	}
	x, ok1 := num(first)
	y, ok2 := num(last)
	return x, y, ok1 && ok2 && x <= y
}

// sectionCloser is a part of a file that closes the file when the
// response has been sent.
type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (r sectionCloser) Close() error { return r.f.Close() }

// apiRunLog serves GET /runs/:id/log: the log as text, or a part of it.
// Its path comes from the run's row and goes through openInTask, as the
// console's download does, so it never leads out of the task's folder.
func (s *Server) apiRunLog(c *fiber.Ctx) error {
	run, err := s.apiRunParam(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	f, err := s.openInTask(run.TaskName, run.LogPath)
	if errors.Is(err, errFileGone) && run.EndTime == nil {
		// Running, and nothing written yet: the log is empty so far.
		c.Set("X-Log-Size", "0")
		c.Type("txt", "utf-8")
		return c.SendString("")
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log of run %d: %w", run.ID, err)
	}
	size := fi.Size()
	start, end, partial, err := logRange(c, size)
	c.Set("X-Log-Size", strconv.FormatInt(size, 10))
	if errors.Is(err, errRangeNotSatisfiable) {
		f.Close()
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
		return apiError(c, fiber.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable",
			fmt.Sprintf("the range starts past the log's end: the log has %d bytes", size))
	}
	if err != nil {
		f.Close()
		return apiError(c, fiber.StatusBadRequest, "bad_request", err.Error())
	}
	c.Set("X-Log-Offset", strconv.FormatInt(start, 10))
	c.Type("txt", "utf-8")
	if partial {
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	return c.SendStream(sectionCloser{io.NewSectionReader(f, start, end-start), f}, int(end-start))
}

// apiRunLogStream serves GET /runs/:id/log/stream: the log live as
// server-sent events, as the console's live tail sends it, under the
// same limits on open tails; the stream ends when the run has ended
// (after an "end" event), the client goes, the server stops, the
// caller's token stops being valid, or after maxTail.
func (s *Server) apiRunLogStream(c *fiber.Ctx) error {
	run, err := s.apiRunParam(c)
	if err != nil {
		return err
	}
	var offset int64
	if v := c.Query("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return apiError(c, fiber.StatusBadRequest, "bad_request", fmt.Sprintf("offset %q: want a whole number of bytes", v))
		}
	}
	if last, err := strconv.ParseInt(c.Get("Last-Event-ID"), 10, 64); err == nil && last >= 0 {
		offset = last
	}
	return s.streamTail(c, run, offset, apiUser(c).User, maxTail, s.apiTokenAlive(bearerToken(c)),
		func(r tasktype.Run) any { return apiLogEnd{Status: string(r.Status), ExitCode: r.ExitCode} })
}

// apiLogEnd is the data of a log stream's "end" event.
type apiLogEnd struct {
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
}

// apiFire is a fire's result: its attempts, and the last one's outcome.
type apiFire struct {
	WorkflowID string `json:"workflow_id"`
	Task       string `json:"task"`
	// Done says the fire is over: its workflow has closed (or, without
	// Temporal, its last attempt has ended and no retry is due).
	Done     bool   `json:"done"`
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	// WorkflowStatus is Temporal's word for the workflow ("running",
	// "completed", "terminated"…), "" when Temporal was not asked or does
	// not know it.
	WorkflowStatus string   `json:"workflow_status,omitempty"`
	Runs           []apiRun `json:"runs"`
}

// maxFireWait bounds a long poll of a fire; firePoll is how often it
// looks when Temporal cannot tell it when the fire ends.
const (
	maxFireWait = 60 * time.Second
	firePoll    = 200 * time.Millisecond
)

// apiGetFire serves GET /fires/:workflow_id, waiting with ?wait= until
// the fire is done.
func (s *Server) apiGetFire(c *fiber.Ctx) error {
	id, err := url.PathUnescape(c.Params("workflow_id"))
	if err != nil || id == "" {
		return apiError(c, fiber.StatusNotFound, "not_found", "no such fire")
	}
	var wait time.Duration
	if v := c.Query("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil {
			n, nerr := strconv.ParseFloat(v, 64)
			if nerr != nil || !(n >= 0) {
				return apiError(c, fiber.StatusBadRequest, "bad_request", fmt.Sprintf("wait %q: want a duration like 30s", v))
			}
			wait = time.Duration(min(n, maxFireWait.Seconds()) * float64(time.Second))
		}
		if wait < 0 {
			return apiError(c, fiber.StatusBadRequest, "bad_request", fmt.Sprintf("wait %q: want a duration like 30s", v))
		}
		wait = min(wait, maxFireWait)
	}
	ctx := c.UserContext()
	deadline := time.Now().Add(wait)
	for {
		fire, found, err := s.fireState(ctx, id)
		if err != nil {
			return err
		}
		if fire.Done || !time.Now().Before(deadline) {
			if !found {
				return apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no fire with workflow id %q", id))
			}
			return apiJSON(c, fiber.StatusOK, fire)
		}
		s.waitForClose(ctx, id, deadline)
		select {
		case <-ctx.Done():
		case <-s.stop:
		default:
			continue
		}
		// The request or the server ends: answer with what is known.
		if !found {
			return apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("no fire with workflow id %q", id))
		}
		return apiJSON(c, fiber.StatusOK, fire)
	}
}

// waitForClose waits until the fire's workflow closes or deadline
// passes: through Temporal's own long poll of the workflow (the SDK's
// Get), so a waiting `schetask run --wait` hears of the end at once. It
// waits one firePoll instead without a Temporal client, or when Temporal
// answers at once without the workflow having closed (not started yet).
func (s *Server) waitForClose(ctx context.Context, workflowID string, deadline time.Time) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-wctx.Done():
		}
	}()
	start := time.Now()
	if s.opts.Control != nil && s.opts.Control.Client != nil {
		err := s.opts.Control.Client.GetWorkflow(wctx, workflowID, "").Get(wctx, nil)
		if err == nil || wctx.Err() != nil || time.Since(start) >= firePoll {
			return
		}
	}
	select {
	case <-time.After(firePoll - time.Since(start)):
	case <-wctx.Done():
	}
}

// fireState reads a fire: its runs from the database, and whether its
// workflow has closed from Temporal (when the console has a client).
// found is false when neither knows the workflow.
func (s *Server) fireState(ctx context.Context, workflowID string) (fire apiFire, found bool, err error) {
	runs, err := s.store.FireRuns(ctx, workflowID)
	if err != nil {
		return fire, false, err
	}
	fire = apiFire{WorkflowID: workflowID, Runs: apiRunsJSON(runs)}
	var last *tasktype.Run
	if len(runs) > 0 {
		last = &runs[len(runs)-1]
		fire.Task, fire.Status, fire.ExitCode = last.TaskName, string(last.Status), last.ExitCode
	}
	wfStatus, known, err := s.workflowStatus(ctx, workflowID)
	if err != nil {
		return fire, false, err
	}
	if !known {
		// No Temporal, or it has forgotten the workflow: the rows say.
		fire.Done = last != nil && last.EndTime != nil && last.RetryAt == nil
		return fire, last != nil, nil
	}
	fire.WorkflowStatus = workflowStatusNames[wfStatus]
	fire.Done = wfStatus != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if fire.Task == "" && s.opts.Control != nil {
		fire.Task = taskOfWorkflowID(s.opts.Control.ScheduleIDPrefix, workflowID)
	}
	if fire.Done && last != nil && last.EndTime == nil {
		// The workflow closed without its end hook (terminated, or past
		// its timeout backstop): say what the sync's run reconciler will
		// record on the row.
		switch wfStatus {
		case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
			fire.Status, fire.ExitCode = string(tasktype.RunKilled), ptrTo(tasktype.ExitKilled)
		case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
			fire.Status, fire.ExitCode = string(tasktype.RunTimedOut), ptrTo(tasktype.ExitTimedOut)
		default:
			fire.Status, fire.ExitCode = string(tasktype.RunLost), ptrTo(tasktype.ExitLost)
		}
	}
	return fire, true, nil
}

// workflowStatusNames are Temporal's workflow statuses as a fire shows them.
var workflowStatusNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          "running",
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "completed",
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           "failed",
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         "canceled",
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "terminated",
	enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued_as_new",
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "timed_out",
}

// ptrTo is a pointer to a copy of v.
func ptrTo[T any](v T) *T { return &v }

// workflowStatus asks Temporal for the status of the workflow's latest
// run; known is false without a Temporal client or when Temporal does
// not know the workflow (never started, or past its retention).
func (s *Server) workflowStatus(ctx context.Context, workflowID string) (status enumspb.WorkflowExecutionStatus, known bool, err error) {
	if s.opts.Control == nil || s.opts.Control.Client == nil {
		return status, false, nil
	}
	d, err := s.opts.Control.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return status, false, nil
	case err != nil:
		s.logger.Warn("describe workflow of a fire", slog.String("workflow_id", workflowID), slog.Any("error", err))
		return status, false, fiber.NewError(fiber.StatusServiceUnavailable,
			fmt.Sprintf("Temporal did not say whether workflow %q has closed: %v", workflowID, err))
	}
	return d.GetWorkflowExecutionInfo().GetStatus(), true, nil
}

// taskOfWorkflowID is the task a fire's workflow id names
// ("<schedule id>-run-…" for runs started through the API, "<schedule
// id>-<time>" for the schedule's own), "" when it names none.
func taskOfWorkflowID(prefix, workflowID string) string {
	rest, ok := strings.CutPrefix(workflowID, prefix)
	if !ok {
		return ""
	}
	if name, _, ok := strings.Cut(rest, "-run-"); ok && tasktype.ValidateName(name) == nil {
		return name
	}
	return ""
}

// apiTaskName reads and checks the path's :name.
func apiTaskName(c *fiber.Ctx) (string, error) {
	name := c.Params("name")
	if tasktype.ValidateName(name) != nil {
		return "", fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no task %q", name))
	}
	return name, nil
}

// apiTaskHistory serves GET /tasks/:name/history: the task's archived
// versions, newest first, a page at a time.
func (s *Server) apiTaskHistory(c *fiber.Ctx) error {
	name, err := apiTaskName(c)
	if err != nil {
		return err
	}
	limit, err := apiLimit(c, historyRuns, 500)
	if err != nil {
		return err
	}
	q := store.HistoryPage{Limit: limit}
	if v := c.Query("cursor"); v != "" {
		if q.Older, err = parseHistoryCursor(v); err != nil {
			return apiError(c, fiber.StatusBadRequest, "bad_request", err.Error())
		}
	}
	runs, older, _, err := s.store.ArchivedRuns(c.UserContext(), name, q)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": name, "versions": apiRunsJSON(runs), "next": apiCursor(older)})
}

// apiVersion reads a version of the task: a run id, or a task_version
// (URL-encoded, as its slashes must be in a path).
func (s *Server) apiVersion(c *fiber.Ctx, task, v string) (tasktype.Run, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "#")
	if v == "" {
		return tasktype.Run{}, fiber.NewError(fiber.StatusBadRequest, "name a version: a run id or a task_version")
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	var run tasktype.Run
	var err error
	if id, perr := strconv.ParseInt(v, 10, 64); perr == nil {
		run, err = s.store.GetRun(c.UserContext(), id)
	} else {
		run, err = s.store.RunByVersion(c.UserContext(), task, v)
	}
	if errors.Is(err, store.ErrRunNotFound) || (err == nil && run.TaskName != task) {
		return run, fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no version %q of task %q", v, task))
	}
	return run, err
}

// apiHistoryFile is one file a version archived; Size is nil when the
// file is gone from the disk (or cannot be read).
type apiHistoryFile struct {
	Name    string `json:"name"`
	Size    *int64 `json:"size"`
	Missing string `json:"missing,omitempty"`
}

// apiHistoryFiles serves GET /tasks/:name/history/:version/files.
func (s *Server) apiHistoryFiles(c *fiber.Ctx) error {
	name, err := apiTaskName(c)
	if err != nil {
		return err
	}
	run, err := s.apiVersion(c, name, c.Params("version"))
	if err != nil {
		return err
	}
	files := []apiHistoryFile{}
	if run.HistoryPath != "" {
		for _, file := range run.PublishedFiles {
			hf := apiHistoryFile{Name: file}
			f, err := s.openInTask(run.TaskName, run.HistoryPath+"/"+file)
			if err == nil {
				if fi, serr := f.Stat(); serr == nil {
					hf.Size = ptrTo(fi.Size())
				}
				f.Close()
			} else {
				var fe *fiber.Error
				if !errors.As(err, &fe) {
					return err
				}
				hf.Missing = fe.Message
			}
			files = append(files, hf)
		}
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": name, "version": run.Version, "run": apiRunJSON(run), "files": files})
}

// apiFileDiff is the diff of one file between two versions: Diff is the
// unified diff ("" when Identical, or when Note says why it was not
// compared).
type apiFileDiff struct {
	File      string `json:"file"`
	Identical bool   `json:"identical"`
	Diff      string `json:"diff"`
	Note      string `json:"note,omitempty"`
}

// apiHistoryDiff serves GET /tasks/:name/diff?from=&to=[&file=]: unified
// diffs between two versions, file by file, as the console's diff page
// makes them (JSON pretty-printed on both sides, bounded in size).
func (s *Server) apiHistoryDiff(c *fiber.Ctx) error {
	name, err := apiTaskName(c)
	if err != nil {
		return err
	}
	from, err := s.apiVersion(c, name, c.Query("from"))
	if err != nil {
		return err
	}
	to, err := s.apiVersion(c, name, c.Query("to"))
	if err != nil {
		return err
	}
	files := unionSorted(from.PublishedFiles, to.PublishedFiles)
	if file := c.Query("file"); file != "" {
		if !slices.Contains(files, file) {
			return apiError(c, fiber.StatusNotFound, "not_found", fmt.Sprintf("neither version has file %q", file))
		}
		files = []string{file}
	}
	diffs := make([]apiFileDiff, 0, len(files))
	for _, file := range files {
		d, err := s.diffVersions(from, to, file)
		if err != nil {
			return err
		}
		diffs = append(diffs, d)
	}
	return apiJSON(c, fiber.StatusOK, fiber.Map{"task": name, "from": apiRunJSON(from), "to": apiRunJSON(to), "files": diffs})
}

// diffVersions diffs one file between versions a and b as diffPage does;
// a file one version lacks is diffed against nothing.
func (s *Server) diffVersions(a, b tasktype.Run, file string) (apiFileDiff, error) {
	d := apiFileDiff{File: file}
	lines, asIs, err := s.fileDiff(a, b, file)
	var fe *fiber.Error
	switch {
	case errors.Is(err, errNotDiffable):
		d.Note = "not compared: " + err.Error() + "; download both versions instead"
		return d, nil
	case errors.As(err, &fe):
		d.Note = "not compared: " + fe.Message
		return d, nil
	case err != nil:
		return d, err
	}
	d.Note = asIs
	d.Identical = len(lines) == 0
	var out strings.Builder
	for _, l := range lines {
		out.WriteString(l.Text)
		out.WriteByte('\n')
	}
	d.Diff = out.String()
	return d, nil
}

// apiTokenAlive says, for a long stream, whether the token plain still
// lets its caller read: not revoked or expired, its user not disabled or
// removed. An error reading it counts as alive, as for the console's
// sessions: a database hiccup should not cut every stream.
func (s *Server) apiTokenAlive(plain string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		tok, err := s.store.LookupToken(ctx, plain)
		switch {
		case errors.Is(err, store.ErrTokenNotFound):
			return false
		case err != nil:
			return true
		}
		return tok.Active(time.Now()) && !tok.UserDisabled && Role(tok.UserRole).Valid()
	}
}
