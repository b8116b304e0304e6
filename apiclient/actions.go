package apiclient

import (
	"context"
	"net/http"
	"time"
)

// RunTask starts a run of the task now, with params (nil: none given),
// and returns its fire's workflow ID, for GetFire.
func (c *Client) RunTask(ctx context.Context, task string, params map[string]string) (string, error) {
	body := struct {
		Params map[string]string `json:"params,omitempty"`
	}{params}
	var out struct {
		WorkflowID string `json:"workflow_id"`
	}
	err := c.do(ctx, http.MethodPost, "/tasks/"+pathEscape(task)+"/run", nil, body, &out)
	return out.WorkflowID, err
}

// Kill kills the task's running runs and returns how many it killed.
func (c *Client) Kill(ctx context.Context, task, reason string) (int, error) {
	body := struct {
		Reason string `json:"reason,omitempty"`
	}{reason}
	var out struct {
		Killed int `json:"killed"`
	}
	err := c.do(ctx, http.MethodPost, "/tasks/"+pathEscape(task)+"/kill", nil, body, &out)
	return out.Killed, err
}

// Pause stops the task's schedule from firing, with a note saying why.
func (c *Client) Pause(ctx context.Context, task, note string) error {
	body := struct {
		Note string `json:"note,omitempty"`
	}{note}
	return c.do(ctx, http.MethodPost, "/tasks/"+pathEscape(task)+"/pause", nil, body, nil)
}

// Resume lets the task's schedule fire again.
func (c *Client) Resume(ctx context.Context, task string) error {
	return c.do(ctx, http.MethodPost, "/tasks/"+pathEscape(task)+"/resume", nil, struct{}{}, nil)
}

// BackfillRequest is a range of the task's fires to run now.
type BackfillRequest struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// DryRun counts the fires without starting them.
	DryRun bool `json:"dry_run,omitempty"`
	// Overlap "task" runs them with the task's overlap policy; "" one at
	// a time, in order.
	Overlap string `json:"overlap,omitempty"`
}

// BackfillResult is how many fires a backfill starts (or would), the
// first and last of them, and the backfill's ID (0 on a dry run).
type BackfillResult struct {
	Fires      int        `json:"fires"`
	First      *time.Time `json:"first"`
	Last       *time.Time `json:"last"`
	BackfillID int64      `json:"backfill_id"`
}

// Backfill runs every fire of the task's rule in [From, To].
func (c *Client) Backfill(ctx context.Context, task string, req BackfillRequest) (BackfillResult, error) {
	var out BackfillResult
	err := c.do(ctx, http.MethodPost, "/tasks/"+pathEscape(task)+"/backfill", nil, req, &out)
	return out, err
}
