package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/schetask/schetask/taskdef"
)

// Task is a task as the API gives it: its definition and what the server
// keeps about it, which a request does not set.
type Task struct {
	taskdef.Definition
	// Version identifies the task's settings as last saved (updated_at
	// in Unix microseconds); UpdateTask sends it back as If-Match.
	Version       string     `json:"version,omitempty"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
	LastStartTime *time.Time `json:"last_start_time,omitempty"`
	LastEndTime   *time.Time `json:"last_end_time,omitempty"`
}

// TaskQuery filters the task list; zero fields do not filter.
type TaskQuery struct {
	// Q searches names and descriptions, as the console's search box.
	Q string
	// Status is enabled or disabled.
	Status string
}

// ListTasks returns the tasks, by name.
func (c *Client) ListTasks(ctx context.Context, q TaskQuery) ([]Task, error) {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	var out struct {
		Tasks []Task `json:"tasks"`
	}
	err := c.do(ctx, http.MethodGet, "/tasks", v, nil, &out)
	return out.Tasks, err
}

// GetTask returns one task.
func (c *Client) GetTask(ctx context.Context, name string) (Task, error) {
	var out struct {
		Task Task `json:"task"`
	}
	err := c.do(ctx, http.MethodGet, "/tasks/"+pathEscape(name), nil, nil, &out)
	return out.Task, err
}

// CreateTask adds a task.
func (c *Client) CreateTask(ctx context.Context, def taskdef.Definition) (Task, error) {
	var out struct {
		Task Task `json:"task"`
	}
	err := c.do(ctx, http.MethodPost, "/tasks", nil, def, &out)
	return out.Task, err
}

// UpdateTask replaces a task's settings with def, provided the task is
// still at version (as GetTask gave it): a task changed since is refused
// with a conflict error.
func (c *Client) UpdateTask(ctx context.Context, def taskdef.Definition, version string) (Task, error) {
	req, err := c.request(ctx, http.MethodPut, "/tasks/"+pathEscape(def.Name), nil, def)
	if err != nil {
		return Task{}, err
	}
	req.Header.Set("If-Match", strconv.Quote(version))
	var out struct {
		Task Task `json:"task"`
	}
	err = c.doRequest(req, &out)
	return out.Task, err
}

// DeleteTask removes a task (its schedule goes with it; its runs stay).
func (c *Client) DeleteTask(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/tasks/"+pathEscape(name), nil, nil, nil)
}

// ApplyRequest is a set of definitions to make the tasks match, in one
// transaction.
type ApplyRequest struct {
	Tasks []taskdef.Definition `json:"tasks"`
	// Prune deletes the tasks that no definition names.
	Prune bool `json:"prune,omitempty"`
	// DryRun says what would change without changing it.
	DryRun bool `json:"dry_run,omitempty"`
	// AllowEmpty lets Prune with no definitions delete every task.
	AllowEmpty bool `json:"allow_empty,omitempty"`
}

// ApplyResult is what an apply changed (or would).
type ApplyResult struct {
	Changes []taskdef.Change `json:"changes"`
}

// Apply makes the tasks match the definitions. Invalid definitions are
// refused as a whole with an *Error whose Details name each one's index
// in req.Tasks and its field.
func (c *Client) Apply(ctx context.Context, req ApplyRequest) (ApplyResult, error) {
	if req.Tasks == nil {
		req.Tasks = []taskdef.Definition{}
	}
	var out ApplyResult
	err := c.do(ctx, http.MethodPost, "/apply", nil, req, &out)
	return out, err
}
