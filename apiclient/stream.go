package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StreamOptions tune StreamLog.
type StreamOptions struct {
	// From is the byte offset of the log to start at.
	From int64
	// GiveUpAfter is how long the stream may stay broken (no connection,
	// no event) before StreamLog gives up; 2 minutes when zero.
	GiveUpAfter time.Duration
}

// StreamLog writes a run's log to w as it grows, from opts.From, until
// the run ends, and returns the run's final status. The log comes as
// server-sent events ("log" events carry text as a JSON string, each with
// the log's byte offset after it as its id; one "end" event carries the
// run's status); a broken connection is opened again from the last offset,
// so no text is written twice or lost. An API error that a retry cannot
// mend (unauthorized, not found…) ends it at once.
func (c *Client) StreamLog(ctx context.Context, id int64, w io.Writer, opts StreamOptions) (string, error) {
	giveUp := opts.GiveUpAfter
	if giveUp <= 0 {
		giveUp = 2 * time.Minute
	}
	offset := opts.From
	lastProgress := time.Now()
	backoff := 200 * time.Millisecond
	for {
		status, newOffset, err := c.streamOnce(ctx, id, offset, w)
		if newOffset > offset {
			offset, lastProgress, backoff = newOffset, time.Now(), 200*time.Millisecond
		}
		if err == nil && status != "" {
			return status, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && !retryable(apiErr) {
			return "", err
		}
		if errors.Is(err, errWrite) {
			return "", err
		}
		if time.Since(lastProgress) > giveUp {
			if err == nil {
				err = errors.New("the stream kept ending before the run did")
			}
			return "", fmt.Errorf("stream run %d's log: gave up after %s: %w", id, giveUp, err)
		}
		wait := backoff
		if apiErr != nil && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// errWrite marks a failure to write the log out, which no retry mends.
var errWrite = errors.New("write the log")

// retryable reports whether an API error may pass by itself.
func retryable(e *Error) bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// streamOnce reads one connection of the stream; it returns the run's
// status when the "end" event came, and the offset reached.
func (c *Client) streamOnce(ctx context.Context, id, offset int64, w io.Writer) (string, int64, error) {
	v := url.Values{}
	if offset > 0 {
		v.Set("offset", strconv.FormatInt(offset, 10))
	}
	req, err := c.request(ctx, http.MethodGet, "/runs/"+strconv.FormatInt(id, 10)+"/log/stream", v, nil)
	if err != nil {
		return "", offset, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if offset > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(offset, 10))
	}
	resp, err := c.send(req)
	if err != nil {
		return "", offset, err
	}
	defer resp.Body.Close()
	var ev sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			ev.add(line)
			continue
		}
		// A blank line dispatches the event.
		switch ev.name {
		case "log", "":
			if ev.hasData {
				if _, err := io.WriteString(w, ev.text()); err != nil {
					return "", offset, fmt.Errorf("%w: %w", errWrite, err)
				}
			}
			if ev.id != "" {
				if n, err := strconv.ParseInt(ev.id, 10, 64); err == nil {
					offset = n
				}
			}
		case "end":
			return orDefault(ev.text(), "ended"), offset, nil
		}
		ev = sseEvent{}
	}
	if err := sc.Err(); err != nil {
		return "", offset, fmt.Errorf("read run %d's log stream: %w", id, err)
	}
	return "", offset, nil
}

// sseEvent is one server-sent event being read.
type sseEvent struct {
	name, id string
	data     []string
	hasData  bool
}

func (e *sseEvent) add(line string) {
	if strings.HasPrefix(line, ":") {
		return // a comment: keepalive
	}
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "event":
		e.name = value
	case "id":
		e.id = value
	case "data":
		e.data, e.hasData = append(e.data, value), true
	}
}

// text is the event's data: a JSON string decoded, else the data as sent.
func (e *sseEvent) text() string {
	raw := strings.Join(e.data, "\n")
	var s string
	if json.Unmarshal([]byte(raw), &s) == nil {
		return s
	}
	return raw
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
