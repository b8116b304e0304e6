package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Alert is one alert raised about a task, and what became of it.
type Alert struct {
	ID    int64  `json:"id"`
	Task  string `json:"task"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Body  string `json:"body"`
	// Run is the run the alert is about, if any.
	Run      *int64   `json:"run"`
	ExitCode *int     `json:"exit_code"`
	Excerpt  []string `json:"excerpt"`
	// Sent says the alert went out; Repeat that it repeats one already
	// announced; Suppressed counts those the repeat limit held back.
	Sent         bool       `json:"sent"`
	Repeat       bool       `json:"repeat"`
	Suppressed   int        `json:"suppressed"`
	DispatchedAt *time.Time `json:"dispatched_at"`
	// Deliveries is each channel's delivery, as the API describes it.
	Deliveries map[string]json.RawMessage `json:"deliveries"`
	CreatedAt  time.Time                  `json:"created_at"`
}

// AlertQuery filters the alert list; zero fields do not filter.
type AlertQuery struct {
	Task  string
	Limit int
	// Before is an AlertPage's Next, for the page after it.
	Before string
}

// AlertPage is one page of alerts, newest first.
type AlertPage struct {
	Alerts []Alert `json:"alerts"`
	Next   string  `json:"next"`
}

// ListAlerts returns one page of alerts.
func (c *Client) ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	v := url.Values{}
	if q.Task != "" {
		v.Set("task", q.Task)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	var page AlertPage
	err := c.do(ctx, http.MethodGet, "/alerts", v, nil, &page)
	return page, err
}
