// Package apiclient is a typed client of schetask's REST API (/api/v1),
// the one the `schetask` CLI uses: tasks, definitions applied as code,
// runs and their logs, a fire's result, actions and alerts. Every call
// takes a context first; an answer that is not a success comes back as an
// *Error carrying the API's stable error code.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Client calls one schetask console's API.
type Client struct {
	// BaseURL is the console's address ("https://schetask.example.com");
	// "/api/v1" is added unless it ends with it already.
	BaseURL string
	// Token is an API token ("stk_…"), sent as a bearer token.
	Token string
	// HTTP sends the requests; nil is a client without an overall
	// timeout (log streams and long polls last), with 30 s to connect.
	HTTP *http.Client
}

// defaultHTTP is used when Client.HTTP is nil: no overall timeout, since
// streams and long polls outlast any sensible one.
var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: 2 * time.Minute,
	IdleConnTimeout:       90 * time.Second,
	TLSHandshakeTimeout:   10 * time.Second,
	MaxIdleConnsPerHost:   4,
}}

// Error is an answer of the API that is not a success, decoded from its
// error shape {"error": {"code", "message", "fields", "details"}}.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's stable code: unauthorized, forbidden, not_found,
	// invalid, conflict, precondition_required, too_many_fires,
	// rate_limited, unavailable, internal, bad_request.
	Code string
	// Message says what went wrong, for people.
	Message string
	// Fields maps a field of the request to what is wrong with it.
	Fields map[string]string
	// Details are per-item problems, such as apply's per-definition ones.
	Details []ErrorDetail
	// RetryAfter is the server's Retry-After on 429 and 503, if any.
	RetryAfter time.Duration
}

// ErrorDetail is one item's problem in an error: for apply, the index of
// the definition in the request, its task, the field and the message.
type ErrorDetail struct {
	Index   int    `json:"index"`
	Task    string `json:"task,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// The API's error codes.
const (
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeInvalid              = "invalid"
	CodeConflict             = "conflict"
	CodePreconditionRequired = "precondition_required"
	CodeTooManyFires         = "too_many_fires"
	CodeRateLimited          = "rate_limited"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
	CodeBadRequest           = "bad_request"
)

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d %s)", msg, e.Status, e.Code)
	for _, k := range sortedKeys(e.Fields) {
		if !strings.Contains(msg, e.Fields[k]) { // not said twice
			fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k])
		}
	}
	return b.String()
}

// IsCode reports whether err is an API error with the code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Details []ErrorDetail     `json:"details"`
	} `json:"error"`
}

// decodeError reads a failed answer into an *Error; a body not in the
// API's shape (a proxy's page, say) gives its first line as the message.
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode}
	var body errorBody
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Fields, e.Details = body.Error.Code, body.Error.Message, body.Error.Fields, body.Error.Details
	} else {
		line, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		e.Message = truncate(line, 200)
		e.Code = codeForStatus(resp.StatusCode)
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		var secs int
		if _, err := fmt.Sscanf(s, "%d", &secs); err == nil {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

// codeForStatus is the code an answer without the API's error shape gets.
func codeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusPreconditionRequired:
		return CodePreconditionRequired
	case http.StatusUnprocessableEntity:
		return CodeInvalid
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return CodeUnavailable
	case http.StatusBadRequest:
		return CodeBadRequest
	}
	return CodeInternal
}

// endpoint is the URL of path (under /api/v1) with query.
func (c *Client) endpoint(path string, query url.Values) (string, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		return "", errors.New("no API address: set SCHETASK_URL or --url")
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("API address %q: want http(s)://host[:port]", c.BaseURL)
	}
	if !strings.HasSuffix(base, "/api/v1") {
		base += "/api/v1"
	}
	s := base + path
	if len(query) > 0 {
		s += "?" + query.Encode()
	}
	return s, nil
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// request builds a request to path with the token and, when body is not
// nil, its JSON.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	u, err := c.endpoint(path, query)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode the request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "schetask-cli")
	return req, nil
}

// send sends req and returns the response when its status is a success,
// else the decoded *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err // a *url.Error: it names the method and the URL
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// do sends a JSON request and decodes a JSON answer into out (nil: none).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	req, err := c.request(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	return c.doRequest(req, out)
}

func (c *Client) doRequest(req *http.Request, out any) error {
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// pathEscape escapes one path segment (a task name, a workflow ID).
func pathEscape(s string) string { return url.PathEscape(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
