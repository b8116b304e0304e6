package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// Run is one run (one attempt of a fire) as the API gives it.
type Run struct {
	ID             int64              `json:"id"`
	Task           string             `json:"task"`
	Version        string             `json:"version"`
	WorkflowID     string             `json:"workflow_id"`
	RunID          string             `json:"run_id"`
	Attempt        int                `json:"attempt"`
	ScheduledTime  time.Time          `json:"scheduled_time"`
	StartTime      time.Time          `json:"start_time"`
	EndTime        *time.Time         `json:"end_time"`
	Status         tasktype.RunStatus `json:"status"`
	ExitCode       *int               `json:"exit_code"`
	Error          string             `json:"error"`
	Params         map[string]string  `json:"params"`
	BackfillID     *int64             `json:"backfill_id"`
	LogBytes       int64              `json:"log_bytes"`
	PublishedFiles []string           `json:"published_files"`
	StderrLines    int64              `json:"stderr_lines"`
	RetryAt        *time.Time         `json:"retry_at"`
}

// RunQuery filters the run list; zero fields do not filter.
type RunQuery struct {
	Task   string
	Status string
	// ExitCode filters on one exit code when not nil.
	ExitCode *int
	// Q searches the runs as the console's search box does.
	Q        string
	From, To time.Time
	// Limit is the page size (the server's default when zero).
	Limit int
	// Cursor is a RunPage's Next, for the page after it.
	Cursor string
}

// RunPage is one page of the run list, newest first; Next is the cursor
// of the page after it ("" on the last page).
type RunPage struct {
	Runs []Run  `json:"runs"`
	Next string `json:"next"`
}

// ListRuns returns one page of runs.
func (c *Client) ListRuns(ctx context.Context, q RunQuery) (RunPage, error) {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("task", q.Task)
	set("status", q.Status)
	if q.ExitCode != nil {
		v.Set("exit_code", strconv.Itoa(*q.ExitCode))
	}
	set("q", q.Q)
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	set("cursor", q.Cursor)
	var page RunPage
	err := c.do(ctx, http.MethodGet, "/runs", v, nil, &page)
	return page, err
}

// GetRun returns one run.
func (c *Client) GetRun(ctx context.Context, id int64) (Run, error) {
	var out struct {
		Run Run `json:"run"`
	}
	err := c.do(ctx, http.MethodGet, "/runs/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out.Run, err
}

// Log returns limit bytes of a run's log from offset (limit 0: all that
// is there). A log with nothing past offset is empty, not an error.
func (c *Client) Log(ctx context.Context, id, offset, limit int64) ([]byte, error) {
	v := url.Values{}
	if offset > 0 {
		v.Set("offset", strconv.FormatInt(offset, 10))
	}
	if limit > 0 {
		v.Set("limit", strconv.FormatInt(limit, 10))
	}
	req, err := c.request(ctx, http.MethodGet, "/runs/"+strconv.FormatInt(id, 10)+"/log", v, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read run %d's log: %w", id, err)
	}
	return b, nil
}

// Fire is the result of one fire of a task (one RunTask workflow): its
// attempts and, once Done, the last attempt's status and exit code.
type Fire struct {
	WorkflowID string             `json:"workflow_id"`
	Task       string             `json:"task"`
	Done       bool               `json:"done"`
	Status     tasktype.RunStatus `json:"status"`
	ExitCode   *int               `json:"exit_code"`
	// WorkflowStatus is Temporal's word for the fire's workflow
	// ("running", "completed", "terminated"…), "" when unknown.
	WorkflowStatus string `json:"workflow_status,omitempty"`
	Runs           []Run  `json:"runs"`
}

// Newest is the fire's latest attempt, if it has one.
func (f Fire) Newest() (Run, bool) {
	var newest Run
	for _, r := range f.Runs {
		if r.Attempt > newest.Attempt || (r.Attempt == newest.Attempt && r.ID > newest.ID) {
			newest = r
		}
	}
	return newest, newest.ID != 0
}

// GetFire returns a fire's result; with wait > 0 the server holds the
// answer until the fire is done or wait has passed.
func (c *Client) GetFire(ctx context.Context, workflowID string, wait time.Duration) (Fire, error) {
	v := url.Values{}
	if wait > 0 {
		v.Set("wait", wait.String())
	}
	var f Fire
	err := c.do(ctx, http.MethodGet, "/fires/"+pathEscape(workflowID), v, nil, &f)
	return f, err
}
