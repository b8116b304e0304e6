package webui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdir"
	"github.com/schetask/schetask/tasktype"
)

type overviewData struct {
	page
	Flash *flash
	Tasks []taskRow
	Runs  []tasktype.Run
	// SortByDisk lists the tasks by disk use, largest first, with a
	// column for it (?sort=disk).
	SortByDisk bool
}

// taskRow is a task as the task list shows it.
type taskRow struct {
	tasktype.Task
	// Words is the rule in English, or why it is invalid (RuleError).
	Words     string
	RuleError bool
	// Next is the next fire time in the task's zone, when it fires.
	Next *time.Time
	// Last is the newest run (ID 0 when none).
	Last tasktype.Run
	// Disk is what the task's logs and history take, when the list is
	// sorted by it.
	Disk diskUse
}

// setting is one labelled value the task page lists.
type setting struct{ Label, Value string }

// IsolationSettings are the task's run-as user and limits as the task
// page lists them: "default" where the worker's applies, "no limit" for 0.
func (r taskRow) IsolationSettings() []setting {
	runAs, memory, cpu, pids := "default", "default", "default", "default"
	if r.RunAs != "" {
		runAs = r.RunAs
	}
	if m := r.MemoryLimitMB; m != nil {
		memory = orNoLimit(*m == 0, fmt.Sprintf("%d MiB", *m))
	}
	if c := r.CPULimit; c != nil {
		cpu = orNoLimit(*c == 0, strconv.FormatFloat(*c, 'f', -1, 64)+" cores")
	}
	if p := r.PidsLimit; p != nil {
		pids = orNoLimit(*p == 0, strconv.Itoa(*p)+" processes")
	}
	return []setting{{"run as", runAs}, {"memory limit", memory}, {"CPU limit", cpu}, {"process limit", pids}}
}

func orNoLimit(zero bool, text string) string {
	if zero {
		return "no limit"
	}
	return text
}

// Running reports whether the task's newest run is still going.
func (r taskRow) Running() bool { return r.Last.ID != 0 && r.Last.Status == tasktype.RunRunning }

func describeTask(t tasktype.Task, now time.Time) taskRow {
	row := taskRow{Task: t}
	loc, err := tasktype.ValidateTimeZone(t.TimeZone)
	if err != nil {
		row.Words, row.RuleError = err.Error(), true
		return row
	}
	r, err := rule.Parse(t.Rule)
	if err != nil {
		row.Words, row.RuleError = err.Error(), true
		return row
	}
	row.Words = r.Describe()
	if t.Status == tasktype.StatusOn {
		if next := fireTimes(r, now, loc, 1); len(next) == 1 {
			row.Next = &next[0]
		}
	}
	return row
}

func (s *Server) overview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	tasks, err := s.store.ListTasks(ctx)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	last, err := s.store.LastRuns(ctx)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	runs, err := s.store.ListRuns(ctx, "", 20)
	if err != nil {
		return fmt.Errorf("overview: %w", err)
	}
	now := time.Now()
	d := overviewData{page: s.page(c, "Tasks"), Runs: runs, Flash: s.takeFlash(c)}
	for _, t := range tasks {
		row := describeTask(t, now)
		row.Last = last[t.Name]
		d.Tasks = append(d.Tasks, row)
	}
	if c.Query("sort") == "disk" {
		d.SortByDisk = true
		s.sortByDiskUse(d.Tasks)
	}
	return s.render(c, "overview.html", d)
}

type taskData struct {
	page
	Task taskRow
	// NextFires are the next five fire times in the task's zone.
	NextFires []time.Time
	// Entrypoint is the command found in the deployed folder, or why none was.
	Entrypoint      string
	EntrypointError string
	Chart           template.HTML
	Sync            store.SyncState
	Synced          bool
	Runs            []tasktype.Run
	Alerts          []store.AlertRow
	Audit           []store.AuditEntry
	Deleted         bool
	// Chain is the task's place in the chains (chain.go).
	Chain chainSection
	// Flash is the message an action left for this page.
	Flash *flash
	// PauseNote and PauseError are a refused disable's note, as typed,
	// and why it was refused.
	PauseNote, PauseError string
	// Webhook is the task's own webhook URL as this user may see it (see
	// webhookShown); WebhookSecret, for admins only, signs what goes there.
	Webhook       string
	WebhookSecret string
	// RetentionDefaults are the global keep_runs and keep_days; Disk is
	// what the task's logs and history take.
	RetentionDefaults tasktype.Retention
	Disk              diskUse
}

// alertView is an alert as the task page lists it.
type alertView struct {
	store.AlertRow
	// Delivery says whether it went out, and where (alert.DeliveryState).
	Delivery string
}

// AlertRows are the task's alerts with what became of each.
func (d taskData) AlertRows() []alertView {
	out := make([]alertView, len(d.Alerts))
	for i, a := range d.Alerts {
		out[i] = alertView{AlertRow: a, Delivery: alert.DeliveryState(a)}
	}
	return out
}

// DeletePattern is the delete confirmation's pattern attribute: the
// task's name, matched literally (a '.' in it is not "any character").
// The server compares the typed name exactly; this is only the browser's
// early check.
func (d taskData) DeletePattern() string { return regexp.QuoteMeta(d.Task.Name) }

// webhookShown is a task's webhook URL as a user of role may see it:
// whole for admins; for others only its scheme and host, since the path
// and query often carry the receiver's token.
func webhookShown(raw string, role Role) string {
	if raw == "" || role.Allows(RoleAdmin) {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// hideWebhookURLs shows the webhook URLs in audit entries as role may see them.
func hideWebhookURLs(entries []store.AuditEntry, role Role) {
	for _, e := range entries {
		for _, m := range []map[string]any{e.Before, e.After} {
			if s, ok := m["webhook_url"].(string); ok {
				m["webhook_url"] = webhookShown(s, role)
			}
		}
	}
}

func (s *Server) taskPage(c *fiber.Ctx) error {
	return s.renderTaskPage(c, fiber.StatusOK, nil)
}

// renderTaskPage renders the page of the task named by :name with status;
// edit, when set, adds to what the page shows (a refused action's input).
func (s *Server) renderTaskPage(c *fiber.Ctx, status int, edit func(*taskData)) error {
	name := c.Params("name")
	if err := tasktype.ValidateName(name); err != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	ctx := c.UserContext()
	d := taskData{page: s.page(c, name)}
	t, err := s.store.GetTask(ctx, name)
	if errors.Is(err, store.ErrTaskNotFound) {
		t, _, err = s.store.DeletedTask(ctx, name)
		d.Deleted = true
	}
	if errors.Is(err, store.ErrTaskNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	if err != nil {
		return err
	}
	now := time.Now()
	d.Task = describeTask(t, now)
	// Only a task that is on fires: a disabled one lists none.
	if r, err := rule.Parse(t.Rule); err == nil && !d.Deleted && t.Status == tasktype.StatusOn {
		if loc, err := tasktype.ValidateTimeZone(t.TimeZone); err == nil {
			d.NextFires = fireTimes(r, now, loc, 5)
		}
	}
	d.Entrypoint, d.EntrypointError = s.entrypoint(name)
	d.RetentionDefaults, d.Disk = s.opts.Retention, s.taskDiskUse(name)
	if d.Sync, d.Synced, err = s.store.GetSyncState(ctx, name); err != nil {
		return err
	}
	if d.Runs, err = s.store.ListRuns(ctx, name, 100); err != nil {
		return err
	}
	d.Chart = runCharts(d.Runs, now)
	if len(d.Runs) > 0 {
		d.Task.Last = d.Runs[0]
	}
	if len(d.Runs) > 20 {
		d.Runs = d.Runs[:20]
	}
	if d.Alerts, err = s.store.ListAlerts(ctx, name, 20); err != nil {
		return err
	}
	if d.Audit, err = s.store.TaskAudit(ctx, name, 20); err != nil {
		return err
	}
	if d.Chain, err = s.taskChainSection(ctx, name); err != nil {
		return err
	}
	hideWebhookURLs(d.Audit, d.Role)
	d.Webhook = webhookShown(t.WebhookURL, d.Role)
	if t.WebhookURL != "" && d.Role.Allows(RoleAdmin) {
		hook, err := s.store.TaskWebhook(ctx, name)
		if err != nil && !errors.Is(err, store.ErrTaskNotFound) {
			return err
		}
		d.WebhookSecret = hook.Secret.Reveal()
	}
	if edit != nil {
		edit(&d)
	}
	if status == fiber.StatusOK {
		d.Flash = s.takeFlash(c)
	}
	c.Status(status)
	return s.render(c, "task.html", d)
}

// entrypoint says which command a run of the task would start, from its
// deployed folder, relative to the tasks root.
func (s *Server) entrypoint(name string) (cmd, problem string) {
	dir, err := tasktype.Layout{Root: s.opts.TasksDir}.TaskDir(name)
	if err != nil || s.opts.TasksDir == "" {
		return "", "the console does not know the tasks folder"
	}
	argv, err := taskdir.Entrypoint(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "not deployed: there is no folder task/" + name
	}
	if err != nil {
		return "", strings.ReplaceAll(err.Error(), strings.TrimRight(s.opts.TasksDir, "/"), "task")
	}
	for i, a := range argv {
		if rel, err := filepath.Rel(s.opts.TasksDir, a); err == nil && !strings.HasPrefix(rel, "..") {
			argv[i] = "task/" + rel
		}
	}
	return strings.Join(argv, " "), ""
}

type runData struct {
	page
	Run    tasktype.Run
	Alerts []store.AlertRow
	Log    logView
	// Attempts are every attempt of the run's fire, when there was more
	// than one (retries), first attempt first.
	Attempts []tasktype.Run
	// Upstreams are the runs whose ends started this one (a chain).
	Upstreams []upstreamRun
}

// upstreamRun is a run whose end started a chained run; Run is nil once
// retention removed it.
type upstreamRun struct {
	ID  int64
	Run *tasktype.Run
}

// upstreamRuns looks up the runs whose ends started run.
func (s *Server) upstreamRuns(ctx context.Context, run tasktype.Run) ([]upstreamRun, error) {
	if len(run.UpstreamRuns) == 0 {
		return nil, nil
	}
	found, err := s.store.RunsByID(ctx, run.UpstreamRuns)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*tasktype.Run, len(found))
	for i := range found {
		byID[found[i].ID] = &found[i]
	}
	out := make([]upstreamRun, len(run.UpstreamRuns))
	for i, id := range run.UpstreamRuns {
		out[i] = upstreamRun{ID: id, Run: byID[id]}
	}
	return out, nil
}

// runParam loads the run named by the :id parameter.
func (s *Server) runParam(c *fiber.Ctx) (tasktype.Run, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return tasktype.Run{}, fiber.NewError(fiber.StatusNotFound, "no such run")
	}
	run, err := s.store.GetRun(c.UserContext(), id)
	if errors.Is(err, store.ErrRunNotFound) {
		return run, fiber.NewError(fiber.StatusNotFound, "no such run")
	}
	return run, err
}

func (s *Server) runPage(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	alerts, err := s.store.RunAlerts(c.UserContext(), run.ID)
	if err != nil {
		return err
	}
	log, err := s.readLog(run, logOffset(c))
	if err != nil {
		return err
	}
	attempts, err := s.store.FireAttempts(c.UserContext(), run)
	if err != nil {
		return err
	}
	if len(attempts) < 2 {
		attempts = nil
	}
	upstreams, err := s.upstreamRuns(c.UserContext(), run)
	if err != nil {
		return err
	}
	return s.render(c, "run.html", runData{page: s.page(c, fmt.Sprintf("run #%d", run.ID)), Run: run, Alerts: alerts, Log: log,
		Attempts: attempts, Upstreams: upstreams})
}
