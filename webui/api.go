package webui

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/schetask/schetask/store"
)

// The REST API lives under apiPrefix. It is mounted before the console's
// session and CSRF middlewares and never reaches them: a request carries a
// bearer token (Authorization: Bearer stk_…), checked against t_api_token
// and its user on every request, and no cookie is read or set, so there is
// nothing for a forged cross-site request to ride on. Every answer under
// the prefix, an unknown route included, is JSON, and every error has one
// shape (apiErrorBody). The routes are tables (apiRoute), from which the
// OpenAPI document at /api/v1/openapi.json is generated (openapi.go); a
// test walks the document, so a route cannot be served undocumented.
const apiPrefix = "/api/v1"

// defaultAPIRate is how many requests a token may make per minute when
// Options.APIRate is zero (SCHETASK_API_RATE).
const defaultAPIRate = 600

// defaultBackfillMax is the most fires one backfill may start when
// Options.BackfillMax is zero (SCHETASK_BACKFILL_MAX).
const defaultBackfillMax = 1000

// apiRoute is one operation of the REST API.
type apiRoute struct {
	// Method is the HTTP method; Path is under apiPrefix, with parameters
	// written {name} (OpenAPI's way; Fiber's :name is accepted too).
	Method, Path string
	// Role is the least role that may call it; "" is public (no token).
	Role Role
	// Summary is the one line the document shows.
	Summary string
	// Handler serves it.
	Handler fiber.Handler
	// Request and Response name component schemas (openapi.go) of the
	// JSON body read and the body answered; "" for none.
	Request, Response string
	// Query are the query parameters it reads; Headers the request headers.
	Query, Headers []apiParam
	// Produces is the response's media type; "" is application/json.
	Produces string
	// Status is the success status; 0 is 200.
	Status int
}

// apiParam is a query parameter (or request header) of an apiRoute.
type apiParam struct {
	// Name is the parameter's name.
	Name string
	// Type is its JSON schema type: "" (string), "integer" or "boolean".
	Type string
	// Description says what it does.
	Description string
	// Required says it must be given.
	Required bool
}

// apiPrincipal is who calls the API: the token's user, with the token's
// role or the user's, whichever is lower, as it is at this request.
type apiPrincipal struct {
	User string
	Role Role
	// Token is the token's name; TokenID its row.
	Token   string
	TokenID int64
}

// Actor is p as the audit names it: "alice (token deploy)".
func (p apiPrincipal) Actor(action string) store.Actor {
	return store.Actor{Name: fmt.Sprintf("%s (token %s)", p.User, p.Token), Action: action}
}

// apiPrincipalLocal is where apiAuthenticate leaves the caller.
const apiPrincipalLocal = "api_principal"

// apiUser returns the request's caller (zero on a public route).
func apiUser(c *fiber.Ctx) apiPrincipal {
	p, _ := c.Locals(apiPrincipalLocal).(apiPrincipal)
	return p
}

// apiErrorBody is the one shape of every API error.
type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
	// Task is, on a refused stale update (409), the task as it is now.
	Task any `json:"task,omitempty"`
}

// apiErrorDetail says what went wrong: a stable code, a message for
// people, and for invalid input the fields (name → message) or details.
type apiErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Details []any             `json:"details,omitempty"`
}

// The error codes, by HTTP status; a status missing here answers
// bad_request (4xx) or internal (5xx).
var apiErrorCodes = map[int]string{
	fiber.StatusBadRequest:            "bad_request",
	fiber.StatusUnauthorized:          "unauthorized",
	fiber.StatusForbidden:             "forbidden",
	fiber.StatusNotFound:              "not_found",
	fiber.StatusMethodNotAllowed:      "method_not_allowed",
	fiber.StatusConflict:              "conflict",
	fiber.StatusRequestEntityTooLarge: "bad_request",
	fiber.StatusUnprocessableEntity:   "invalid",
	fiber.StatusPreconditionRequired:  "precondition_required",
	fiber.StatusTooManyRequests:       "rate_limited",
	fiber.StatusInternalServerError:   "internal",
	fiber.StatusServiceUnavailable:    "unavailable",
}

// apiCode is the error code of an HTTP status.
func apiCode(status int) string {
	if code, ok := apiErrorCodes[status]; ok {
		return code
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// apiError answers status with the error shape; it returns nil, for
// handlers to return.
func apiError(c *fiber.Ctx, status int, code, message string) error {
	return apiSendError(c, status, apiErrorBody{Error: apiErrorDetail{Code: code, Message: message}})
}

// apiInvalid answers 422 invalid with what is wrong with which field.
func apiInvalid(c *fiber.Ctx, fields map[string]string, message string) error {
	return apiSendError(c, fiber.StatusUnprocessableEntity, apiErrorBody{Error: apiErrorDetail{Code: "invalid", Message: message, Fields: fields}})
}

func apiSendError(c *fiber.Ctx, status int, body apiErrorBody) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(body)
}

// apiJSON answers status with v as JSON.
func apiJSON(c *fiber.Ctx, status int, v any) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(v)
}

// decodeJSON reads the request's JSON body into v, strictly: an unknown
// field, a wrong type, or anything after the value is refused with 400
// bad_request. An empty body leaves v as it is.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the request body: "+err.Error())
	}
	if dec.More() {
		return fiber.NewError(fiber.StatusBadRequest, "the request body: more than one JSON value")
	}
	return nil
}

// apiRoutes are every table of the API: tasks, apply and alerts
// (api_tasks.go), runs and history (api_runs.go), actions (api_actions.go).
func (s *Server) apiRoutes() []apiRoute {
	var all []apiRoute
	all = append(all, s.taskAPIRoutes()...)
	all = append(all, s.runAPIRoutes()...)
	all = append(all, s.actionAPIRoutes()...)
	return all
}

// mountAPI serves the API's routes under apiPrefix: framing (JSON errors,
// logging, recovery), then the token check, the rate limit, each route
// with its role, and a JSON 404 or 405 for anything else.
func (s *Server) mountAPI() error {
	routes := append(s.apiRoutes(), apiRoute{Method: fiber.MethodGet, Path: "/openapi.json",
		Summary: "This document: the API's operations, in OpenAPI 3.0", Handler: s.openAPI, Response: "OpenAPI"})
	doc, err := json.Marshal(openAPIDocument(routes))
	if err != nil {
		return fmt.Errorf("openapi document: %w", err)
	}
	s.apiDoc = doc
	public := map[string]bool{}
	for _, r := range routes {
		if r.Role == "" {
			public[r.Method+" "+apiPrefix+fiberPath(r.Path)] = true
		}
	}
	rate := s.opts.APIRate
	s.app.Use(apiPrefix, s.apiFrame)
	s.app.Use(apiPrefix, s.apiAuthenticate(public))
	s.app.Use(apiPrefix, limiter.New(limiter.Config{
		Max: rate, Expiration: time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string {
			if p := apiUser(c); p.TokenID != 0 {
				return "token:" + strconv.FormatInt(p.TokenID, 10)
			}
			return "ip:" + c.IP()
		},
		LimitReached: func(c *fiber.Ctx) error {
			return apiError(c, fiber.StatusTooManyRequests, "rate_limited",
				fmt.Sprintf("more than %d requests a minute with this token; wait %s seconds", rate, c.GetRespHeader(fiber.HeaderRetryAfter)))
		},
	}))
	for _, r := range routes {
		s.app.Add(r.Method, apiPrefix+fiberPath(r.Path), requireAPIRole(r.Role), r.Handler)
		if r.Method == fiber.MethodGet {
			s.app.Add(fiber.MethodHead, apiPrefix+fiberPath(r.Path), requireAPIRole(r.Role), r.Handler)
		}
	}
	s.app.Use(apiPrefix, apiNoRoute(routes))
	return nil
}

// apiFrame wraps every API request: a handler's error or panic becomes
// the JSON error shape (never the console's error page), and the request
// is logged, without its token.
func (s *Server) apiFrame(c *fiber.Ctx) (err error) {
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("api handler panicked", slog.String("method", c.Method()), slog.String("path", c.Path()),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			err = apiError(c, fiber.StatusInternalServerError, "internal", "something went wrong; the console log has the details")
		}
		p := apiUser(c)
		s.logger.Info("api request", slog.String("method", c.Method()), slog.String("path", c.Path()),
			slog.Int("status", c.Response().StatusCode()), slog.Duration("took", time.Since(start)),
			slog.String("user", p.User), slog.String("token", p.Token))
	}()
	if err = c.Next(); err == nil {
		return nil
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return apiError(c, fe.Code, apiCode(fe.Code), fe.Message)
	}
	s.logger.Error("api request failed", slog.String("method", c.Method()), slog.String("path", c.Path()), slog.Any("error", err))
	return apiError(c, fiber.StatusInternalServerError, "internal", "something went wrong; the console log has the details")
}

// bearerToken is the token of an Authorization: Bearer header, or "".
func bearerToken(c *fiber.Ctx) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(c.Get(fiber.HeaderAuthorization)), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// tokenTouchEvery is how often a token's last_used_at is written: at most
// once a minute, so that a busy token does not make every read a write.
const tokenTouchEvery = time.Minute

// apiAuthenticate finds the caller of every request but the public ones:
// the bearer token's row and its user, read on every request, so that a
// revoked or expired token, or a disabled, removed or demoted user, is
// refused or limited from the next request on.
func (s *Server) apiAuthenticate(public map[string]bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		method := c.Method()
		if method == fiber.MethodHead {
			method = fiber.MethodGet
		}
		if public[method+" "+c.Path()] {
			return c.Next()
		}
		plain := bearerToken(c)
		if plain == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="schetask"`)
			return apiError(c, fiber.StatusUnauthorized, "unauthorized", "send an API token: Authorization: Bearer <token> (create one in the console, under API tokens)")
		}
		ctx := c.UserContext()
		tok, err := s.store.LookupToken(ctx, plain)
		if err != nil && !errors.Is(err, store.ErrTokenNotFound) {
			return err
		}
		why := ""
		switch {
		case err != nil:
			why = "unknown token"
		case tok.RevokedAt != nil:
			why = "the token was revoked"
		case tok.ExpiresAt != nil && !time.Now().Before(*tok.ExpiresAt):
			why = "the token expired"
		case tok.UserDisabled:
			why = "the token's user is disabled"
		case !Role(tok.Role).Valid() || !Role(tok.UserRole).Valid():
			why = "the token's role is unknown"
		}
		if why != "" {
			s.logger.Info("api token refused", slog.String("why", why), slog.String("token", tok.Name), slog.String("user", tok.Username))
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="schetask", error="invalid_token"`)
			return apiError(c, fiber.StatusUnauthorized, "unauthorized", "the token is unknown, revoked or expired, or its user is disabled")
		}
		role := Role(tok.Role)
		if !Role(tok.UserRole).Allows(role) {
			role = Role(tok.UserRole)
		}
		c.Locals(apiPrincipalLocal, apiPrincipal{User: tok.Username, Role: role, Token: tok.Name, TokenID: tok.ID})
		if tok.LastUsedAt == nil || time.Since(*tok.LastUsedAt) >= tokenTouchEvery {
			if err := s.store.TouchToken(ctx, tok.ID, tokenTouchEvery); err != nil {
				s.logger.Warn("api token last use not recorded", slog.Any("error", err))
			}
		}
		return c.Next()
	}
}

// requireAPIRole refuses callers below need (403 forbidden).
func requireAPIRole(need Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if need == "" {
			return c.Next()
		}
		if p := apiUser(c); !p.Role.Allows(need) {
			return apiError(c, fiber.StatusForbidden, "forbidden",
				fmt.Sprintf("this needs the %s role; the token acts as %s", need, p.Role))
		}
		return c.Next()
	}
}

// apiNoRoute answers what no route took: 405 with Allow when the path is
// a route's with another method, else 404.
func apiNoRoute(routes []apiRoute) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var allow []string
		for _, r := range routes {
			if !matchAPIPath(r.Path, strings.TrimPrefix(c.Path(), apiPrefix)) {
				continue
			}
			methods := []string{r.Method}
			if r.Method == fiber.MethodGet {
				methods = append(methods, fiber.MethodHead)
			}
			for _, m := range methods {
				if !slices.Contains(allow, m) {
					allow = append(allow, m)
				}
			}
		}
		if len(allow) > 0 {
			c.Set(fiber.HeaderAllow, strings.Join(allow, ", "))
			return apiError(c, fiber.StatusMethodNotAllowed, "method_not_allowed",
				fmt.Sprintf("%s is not served here; this path takes %s", c.Method(), strings.Join(allow, ", ")))
		}
		return apiError(c, fiber.StatusNotFound, "not_found", "no such API route: see "+apiPrefix+"/openapi.json")
	}
}

// apiPathParam matches a path parameter, {name} or Fiber's :name with an
// optional constraint (:id<int>).
var apiPathParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}|:([A-Za-z_][A-Za-z0-9_]*)(<[^>]*>)?`)

// fiberPath is a route's path as Fiber writes it (:name).
func fiberPath(p string) string {
	p = strings.TrimPrefix(p, apiPrefix)
	return apiPathParam.ReplaceAllStringFunc(p, func(m string) string {
		if strings.HasPrefix(m, "{") {
			return ":" + m[1:len(m)-1]
		}
		return m
	})
}

// openAPIPath is a route's path as OpenAPI writes it ({name}), and its
// parameters' names.
func openAPIPath(p string) (string, []string) {
	p = strings.TrimPrefix(p, apiPrefix)
	var names []string
	out := apiPathParam.ReplaceAllStringFunc(p, func(m string) string {
		sub := apiPathParam.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		names = append(names, name)
		return "{" + name + "}"
	})
	return out, names
}

// matchAPIPath reports whether path (under apiPrefix) is pattern's, a
// parameter matching any one segment.
func matchAPIPath(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], ":") {
			// A parameter; ":id<int>" takes digits only, as Fiber's route does.
			if xs[i] == "" || (strings.HasSuffix(ps[i], "<int>") && strings.Trim(xs[i], "0123456789") != "") {
				return false
			}
			continue
		}
		if !strings.EqualFold(ps[i], xs[i]) {
			return false
		}
	}
	return true
}

// openAPI serves the document, generated once at start.
func (s *Server) openAPI(c *fiber.Ctx) error {
	sum := sha256.Sum256(s.apiDoc)
	c.Set(fiber.HeaderETag, fmt.Sprintf(`"%x"`, sum[:8]))
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(http.StatusOK).Send(s.apiDoc)
}
