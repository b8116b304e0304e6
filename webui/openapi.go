package webui

import (
	"net/http"
	"strconv"
	"strings"
)

// openAPIDocument is the OpenAPI 3.0 document of the API, generated from
// its route tables: every operation with its path and query parameters,
// its request and response schemas, its security, and the errors it may
// answer. The component schemas are written out here, by hand.
func openAPIDocument(routes []apiRoute) map[string]any {
	paths := map[string]any{}
	for _, r := range routes {
		path, names := openAPIPath(r.Path)
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(r.Method)] = openAPIOperation(r, names)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "schetask API",
			"version": "1",
			"description": "Tasks, runs, actions and alerts of schetask. Authenticate with a personal API token " +
				"(console → API tokens): Authorization: Bearer stk_…. Errors answer " +
				`{"error": {"code", "message", "fields"?, "details"?}}.`,
		},
		"servers":    []any{map[string]any{"url": apiPrefix}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": map[string]any{"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "stk_…"}}, "schemas": openAPISchemas},
	}
}

// openAPIOperation is one route's operation object.
func openAPIOperation(r apiRoute, pathParams []string) map[string]any {
	op := map[string]any{
		"summary":     r.Summary,
		"operationId": operationID(r),
	}
	var params []any
	for _, name := range pathParams {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, p := range r.Query {
		params = append(params, openAPIParam(p, "query"))
	}
	for _, p := range r.Headers {
		params = append(params, openAPIParam(p, "header"))
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.Request != "" {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": schemaRef(r.Request)}}}
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if r.Response != "" && status != http.StatusNoContent {
		produces := r.Produces
		if produces == "" {
			produces = "application/json"
		}
		schema := schemaRef(r.Response)
		if produces != "application/json" {
			schema = map[string]any{"type": "string"}
		}
		ok["content"] = map[string]any{produces: map[string]any{"schema": schema}}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	errResp := func(status int) {
		responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status) + ": " + apiCode(status),
			"content": map[string]any{"application/json": map[string]any{"schema": schemaRef("Error")}}}
	}
	if r.Role == "" {
		op["security"] = []any{}
	} else {
		errResp(http.StatusUnauthorized)
		if r.Role != RoleViewer {
			errResp(http.StatusForbidden)
		}
		errResp(http.StatusTooManyRequests)
	}
	if len(pathParams) > 0 {
		errResp(http.StatusNotFound)
	}
	if r.Request != "" {
		errResp(http.StatusBadRequest)
		errResp(http.StatusUnprocessableEntity)
	}
	responses["default"] = map[string]any{"description": "an error",
		"content": map[string]any{"application/json": map[string]any{"schema": schemaRef("Error")}}}
	op["responses"] = responses
	if r.Role != "" {
		op["x-schetask-role"] = string(r.Role)
	}
	return op
}

// operationID names an operation from its method and path:
// "GET /tasks/{name}/history" is getTasksNameHistory.
func operationID(r apiRoute) string {
	path, _ := openAPIPath(r.Path)
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, part := range strings.FieldsFunc(path, func(c rune) bool { return c == '/' || c == '{' || c == '}' || c == '.' || c == '_' || c == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func openAPIParam(p apiParam, in string) map[string]any {
	oaType := p.Type
	if oaType == "" {
		oaType = "string"
	}
	out := map[string]any{"name": p.Name, "in": in, "schema": map[string]any{"type": oaType}}
	if p.Description != "" {
		out["description"] = p.Description
	}
	if p.Required {
		out["required"] = true
	}
	return out
}

func schemaRef(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// Shorthands for the schemas below.
func oaObject(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func oaArray(items any) map[string]any { return map[string]any{"type": "array", "items": items} }

// oaDescribed is schema o with a description.
func oaDescribed(o map[string]any, description string) map[string]any {
	o["description"] = description
	return o
}

func oaType(t string, description ...string) map[string]any {
	o := map[string]any{"type": t}
	if len(description) > 0 {
		o["description"] = description[0]
	}
	return o
}

func oaNullable(t string, description ...string) map[string]any {
	o := oaType(t, description...)
	o["nullable"] = true
	return o
}

func oaReadOnly(o map[string]any) map[string]any {
	o["readOnly"] = true
	return o
}

var (
	oaString    = oaType("string")
	oaInteger   = oaType("integer")
	oaBool      = oaType("boolean")
	oaDateTime  = map[string]any{"type": "string", "format": "date-time"}
	oaStringMap = map[string]any{"type": "object", "additionalProperties": oaType("string")}
)

// taskDefinitionProps are a task definition's fields (taskdef.Definition),
// t_task_list's column names; an optional field left out takes the
// console's default.
var taskDefinitionProps = map[string]any{
	"name":                oaType("string", "the task's folder under the tasks root; letters, digits, _ . -"),
	"rule":                oaType("string", "cron rule: 5 fields (min hour dom month dow) or 6 (with seconds first); may be blank (or left out) when after names tasks: the task then runs only after them"),
	"after":               oaDescribed(oaArray(oaString), "tasks this one runs after, per logical date, when after_condition holds of their runs; a chain may not loop (422 on fields.after naming the loop)"),
	"after_condition":     oaType("string", "all_succeeded (default), any_succeeded or all_done"),
	"on_failure":          oaDescribed(oaArray(oaString), "tasks run when a run of this one fails, after its last retry"),
	"deadline":            oaType("string", "by when the logical date's run must have succeeded: HH:MM in the task's time zone, or +<n>s|m|h after the nominal fire time (+2h); blank for none"),
	"time_zone":           oaType("string", "IANA zone the rule is read in; default UTC"),
	"timeout":             oaType("integer", "seconds a run may take; 0 none"),
	"timeout_action":      oaType("string", "what passing the timeout does: kill or warn"),
	"enabled":             oaType("boolean", "task_status on (true) or off"),
	"status_note":         oaType("string", "why the task is off"),
	"overlap_policy":      oaType("string", "skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all"),
	"owners":              oaArray(oaString),
	"description":         oaString,
	"alert_channels":      oaArray(oaString),
	"slack_channel":       oaString,
	"webhook_url":         oaString,
	"run_as":              oaString,
	"memory_limit_mb":     oaNullable("integer", "MiB; absent = the worker's default, 0 = none"),
	"cpu_limit":           oaNullable("number", "cores; absent = the worker's default, 0 = none"),
	"pids_limit":          oaNullable("integer", "absent = the worker's default, 0 = none"),
	"keep_runs":           oaNullable("integer", "absent = the global default, 0 = no limit"),
	"keep_days":           oaNullable("integer", "absent = the global default, 0 = no limit"),
	"learn_normal":        oaBool,
	"slow_margin_seconds": oaNullable("integer", "absent = 60"),
	"retry": oaObject(map[string]any{
		"max": oaInteger, "delay_seconds": oaInteger, "backoff": oaType("number"), "delay_max_seconds": oaInteger,
		"on": oaType("string", "exit codes and ranges that are retried, e.g. 1-99,120"), "timed_out": oaBool, "lost": oaBool,
	}),
	"params": oaArray(schemaRef("Param")),
}

// taskProps are a task as the API answers it: its definition and the
// read-only fields.
func taskProps() map[string]any {
	props := map[string]any{}
	for k, v := range taskDefinitionProps {
		props[k] = v
	}
	props["version"] = oaReadOnly(oaType("string", "updated_at in Unix microseconds: send it back in If-Match to update"))
	props["created_at"] = oaReadOnly(map[string]any{"type": "string", "format": "date-time"})
	props["updated_at"] = oaReadOnly(map[string]any{"type": "string", "format": "date-time"})
	props["last_start_time"] = oaReadOnly(map[string]any{"type": "string", "format": "date-time", "nullable": true})
	props["last_end_time"] = oaReadOnly(map[string]any{"type": "string", "format": "date-time", "nullable": true})
	return props
}

var runProps = map[string]any{
	"id": oaInteger, "task": oaString, "version": oaString, "workflow_id": oaString, "run_id": oaString, "attempt": oaInteger,
	"scheduled_time": oaDateTime, "start_time": oaDateTime, "end_time": oaNullable("string"),
	"status": oaType("string", "running, succeeded, failed, timed_out, killed or lost"), "exit_code": oaNullable("integer"),
	"error": oaString, "params": oaStringMap, "backfill_id": oaNullable("integer"), "log_bytes": oaInteger,
	"published_files": oaArray(oaString), "stderr_lines": oaInteger, "retry_at": oaNullable("string"),
}

// openAPISchemas are the component schemas the routes name.
var openAPISchemas = map[string]any{
	"Error": oaObject(map[string]any{
		"error": oaObject(map[string]any{
			"code": oaType("string", "unauthorized, forbidden, not_found, method_not_allowed, invalid, conflict, precondition_required, "+
				"too_many_fires, rate_limited, bad_request, unavailable, internal"),
			"message": oaString,
			"fields":  map[string]any{"type": "object", "additionalProperties": oaString, "description": "field → what is wrong with it"},
			"details": oaArray(map[string]any{"type": "object"}),
		}, "code", "message"),
		"task": map[string]any{"$ref": "#/components/schemas/Task", "description": "on a stale update (409): the task as it is now"},
	}, "error"),
	"OpenAPI":        map[string]any{"type": "object", "description": "this document"},
	"Param":          oaObject(map[string]any{"name": oaString, "default": oaString, "required": oaBool, "pattern": oaString}, "name"),
	"TaskDefinition": oaObject(taskDefinitionProps, "name"),
	"TaskInput":      oaObject(taskProps()),
	"Task":           oaObject(taskProps()),
	"TaskList":       oaObject(map[string]any{"tasks": oaArray(schemaRef("Task"))}, "tasks"),
	"TaskResponse":   oaObject(map[string]any{"task": schemaRef("Task")}, "task"),
	"ApplyRequest": oaObject(map[string]any{
		"tasks":   oaArray(schemaRef("TaskDefinition")),
		"prune":   oaType("boolean", "delete the tasks the list lacks"),
		"dry_run": oaType("boolean", "say what would change, change nothing"),
	}, "tasks"),
	"ApplyResponse": oaObject(map[string]any{
		"dry_run": oaBool,
		"changes": oaArray(oaObject(map[string]any{
			"task": oaString, "action": oaType("string", "create, update or delete"),
			"fields": oaArray(oaObject(map[string]any{"field": oaString, "before": oaString, "after": oaString})),
		})),
	}, "changes"),
	"Alert": oaObject(map[string]any{
		"id": oaInteger, "task": oaString, "kind": oaString, "title": oaString, "body": oaString, "run": oaNullable("integer", "the run's id"),
		"exit_code": oaNullable("integer"), "excerpt": oaArray(oaString), "sent": oaBool, "repeat": oaBool, "suppressed": oaInteger,
		"dispatched_at": oaNullable("string"), "deliveries": map[string]any{"type": "object",
			"additionalProperties": oaObject(map[string]any{"at": oaDateTime, "error": oaString})},
		"created_at": oaDateTime,
	}),
	"AlertList": oaObject(map[string]any{"alerts": oaArray(schemaRef("Alert")),
		"next": oaNullable("string", "pass as before= for the next page; null on the last")}, "alerts"),

	// Runs and history (api_runs.go).
	"Run":         oaObject(runProps),
	"RunList":     oaObject(map[string]any{"runs": oaArray(schemaRef("Run")), "next": oaNullable("string", "pass as cursor= for the next page; null on the last")}, "runs"),
	"RunResponse": oaObject(map[string]any{"run": schemaRef("Run")}, "run"),
	"Fire": oaObject(map[string]any{"workflow_id": oaString, "task": oaString, "done": oaBool, "status": oaString, "exit_code": oaNullable("integer"),
		"workflow_status": oaType("string", "Temporal's status of the workflow (running, completed, terminated…); absent without Temporal"), "runs": oaArray(schemaRef("Run"))}),
	"HistoryList": oaObject(map[string]any{"task": oaString, "versions": oaArray(schemaRef("Run")),
		"next": oaNullable("string", "pass as cursor= for the next page; null on the last")}, "versions"),
	"HistoryFiles": oaObject(map[string]any{"task": oaString, "version": oaString, "run": schemaRef("Run"),
		"files": oaArray(oaObject(map[string]any{"name": oaString, "size": oaNullable("integer"), "missing": oaString}))}, "files"),
	"HistoryDiff": oaObject(map[string]any{"task": oaString, "from": schemaRef("Run"), "to": schemaRef("Run"),
		"files": oaArray(oaObject(map[string]any{"file": oaString, "identical": oaBool, "diff": oaType("string", "unified diff"),
			"note": oaType("string", "why the file was not compared, or was compared as is")}))}, "files"),

	// Actions (api_actions.go).
	"RunRequest":      oaObject(map[string]any{"params": oaStringMap}),
	"RunStarted":      oaObject(map[string]any{"workflow_id": oaString}, "workflow_id"),
	"KillRequest":     oaObject(map[string]any{"reason": oaString}),
	"Killed":          oaObject(map[string]any{"killed": oaInteger}, "killed"),
	"PauseRequest":    oaObject(map[string]any{"note": oaString}),
	"BackfillRequest": oaObject(map[string]any{"from": oaDateTime, "to": oaDateTime, "dry_run": oaBool, "overlap": oaType("string", `"task" for the task's overlap policy; default one at a time`)}, "from", "to"),
	"BackfillResult":  oaObject(map[string]any{"fires": oaInteger, "first": oaNullable("string"), "last": oaNullable("string"), "backfill_id": oaNullable("integer")}, "fires"),
	"TaskStatus": oaObject(map[string]any{"task": oaString, "enabled": oaBool, "status_note": oaString,
		"changed": oaType("boolean", "false when the task already was so")}, "task", "enabled"),
	"Empty": map[string]any{"type": "object"},
}
