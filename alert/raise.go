package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/schetask/schetask/store"
)

// NotifyWorkflow is the name of the workflow that delivers one alert on
// every channel (notify.Workflow).
const NotifyWorkflow = "Notify"

// NotifyInput is the Notify workflow's argument.
type NotifyInput struct {
	Alert Alert
	// RetryMaxInterval caps the wait between two tries of a channel.
	RetryMaxInterval time.Duration
	// GiveUpAfter is how long a channel is retried before the alert is
	// given up on for that channel.
	GiveUpAfter time.Duration
}

// Event is something that may deserve an alert.
type Event struct {
	Kind     Kind
	TaskName string
	// Key identifies the event: raising the same key again changes nothing.
	Key string
	// RunID is the run's row in t_task_exec_list, or 0.
	RunID int64
	// Title is the one-line summary; Text explains.
	Title    string
	Text     string
	ExitCode *int
	// Stderr is the run's stored stderr head; the alert keeps an excerpt.
	Stderr []string
}

// Raised is what became of an event.
type Raised struct {
	// AlertID is the alert's row, or 0 when nothing was recorded.
	AlertID int64
	// Sent is false when the repeat limit held the alert back.
	Sent bool
}

// Raiser records events as alerts and starts their delivery through
// Temporal. Any schetask process may raise; raising is idempotent.
type Raiser struct {
	// Config is what NewRaiser was given, with its defaults.
	Config
	Store  *store.Store
	Client client.Client
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Excerpt sizes: what a chat message can hold comfortably.
const (
	excerptLines = 20
	excerptWidth = 300
)

// Raise records ev under the repeat limit and, when it is to be sent,
// starts its delivery. When the record is made but the delivery cannot be
// started (Temporal down), Raise logs it and returns no error: the alert
// waits in t_task_alert and DispatchPending starts it later.
func (r *Raiser) Raise(ctx context.Context, ev Event) (Raised, error) {
	if ev.Key == "" {
		return Raised{}, errors.New("raise alert: empty key")
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	nowhere, err := r.noChannel(ctx, ev.TaskName)
	if err != nil {
		return Raised{}, fmt.Errorf("raise alert: %w", err)
	}
	undelivered := false
	row, created, err := r.Store.RecordAlert(ctx, ev.Key, ev.TaskName, string(ev.Kind.Topic()),
		func(st store.AlertState) (store.AlertState, *store.NewAlert) {
			// The repeat limit paces alerts whether or not a channel
			// carries them: its state moves the same either way.
			next, d := Decide(State(st), ev.Kind, now, r.RepeatEvery)
			if !d.Record {
				return store.AlertState(next), nil
			}
			undelivered = d.Send && nowhere != ""
			na := &store.NewAlert{Kind: string(ev.Kind), Title: title(ev, d.Repeat), Body: ev.Text,
				ExitCode: ev.ExitCode, Excerpt: Excerpt(ev.Stderr, excerptLines, excerptWidth),
				Sent: d.Send && !undelivered, Repeat: d.Repeat, Suppressed: d.Suppressed}
			if ev.RunID != 0 {
				na.ExecID = &ev.RunID
			}
			return store.AlertState(next), na
		})
	if err != nil {
		return Raised{}, fmt.Errorf("raise alert: %w", err)
	}
	if row.ID == 0 {
		return Raised{}, nil
	}
	res := Raised{AlertID: row.ID, Sent: row.Sent}
	log := r.logger().With(slog.String("task", ev.TaskName), slog.String("kind", string(ev.Kind)), slog.Int64("alert", row.ID))
	if created && undelivered {
		log.Warn("alert not sent: no channel carries it", slog.String("title", row.Title), slog.String("why", nowhere))
		if err := r.Store.RecordDelivery(ctx, row.ID, NoChannel, store.Delivery{At: now.UTC(), Error: nowhere}); err != nil {
			return res, fmt.Errorf("raise alert: %w", err)
		}
		return res, nil
	}
	if !row.Sent {
		log.Info("alert held back by the repeat limit", slog.String("title", row.Title))
		return res, nil
	}
	if row.DispatchedAt != nil {
		return res, nil
	}
	if err := r.dispatch(ctx, row); err != nil {
		log.Warn("alert recorded; delivery will be started later", slog.Any("error", err))
	}
	return res, nil
}

// NoChannel is the key, in an alert's deliveries, of the reason no
// channel carried it; no channel has this name.
const NoChannel = "none"

// noChannel says why no configured channel would carry an alert of the
// named task (its own limit, or nothing configured), or "" when one would
// or the configured channels are not known.
func (r *Raiser) noChannel(ctx context.Context, taskName string) (string, error) {
	if r.Channels == nil {
		return "", nil
	}
	if len(r.Channels) == 0 {
		return "no channel configured", nil
	}
	t, err := r.Store.GetTask(ctx, taskName)
	if errors.Is(err, store.ErrTaskNotFound) {
		t, _, err = r.Store.DeletedTask(ctx, taskName)
		if errors.Is(err, store.ErrTaskNotFound) {
			return "", nil // the configured channels take it
		}
	}
	if err != nil {
		return "", err
	}
	route := Route{Channels: t.AlertChannels}
	for _, c := range r.Channels {
		if route.Uses(c) {
			return "", nil
		}
	}
	return fmt.Sprintf("no channel configured among those the task allows (%s; configured: %s)",
		strings.Join(t.AlertChannels, ", "), strings.Join(r.Channels, ", ")), nil
}

// DeliveryState says, for the console, what became of a recorded alert:
// held back by the repeat limit, not sent for want of a channel, or sent,
// with each channel's outcome as far as it is known.
func DeliveryState(a store.AlertRow) string {
	if !a.Sent {
		if d, ok := a.Deliveries[NoChannel]; ok {
			return "not sent: " + d.Error
		}
		return "held back"
	}
	var sent, failed []string
	for _, ch := range slices.Sorted(maps.Keys(a.Deliveries)) {
		if a.Deliveries[ch].Error != "" {
			failed = append(failed, ch)
		} else {
			sent = append(sent, ch)
		}
	}
	switch {
	case len(sent) == 0 && len(failed) == 0:
		return "sending"
	case len(failed) == 0:
		return "yes: " + strings.Join(sent, ", ")
	case len(sent) == 0:
		return "failed: " + strings.Join(failed, ", ")
	}
	return "yes: " + strings.Join(sent, ", ") + "; failed: " + strings.Join(failed, ", ")
}

func title(ev Event, repeat bool) string {
	if !repeat {
		return ev.Title
	}
	switch ev.Kind.Topic() {
	case TopicFailure:
		return "still failing: " + ev.Title
	case TopicMissed:
		return "still missing runs: " + ev.Title
	}
	return ev.Title
}

// DispatchPending starts the delivery of sent alerts whose delivery was
// never started (their raiser could not reach Temporal), and returns how
// many it started.
func (r *Raiser) DispatchPending(ctx context.Context) (int, error) {
	rows, err := r.Store.UndispatchedAlerts(ctx, time.Now().Add(-2*time.Second), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, row := range rows {
		if err := r.dispatch(ctx, row); err != nil {
			// Temporal is still away, most likely: try the rest next time.
			return n, err
		}
		n++
	}
	return n, nil
}

// dispatchTimeout bounds one attempt to start an alert's delivery.
const dispatchTimeout = 3 * time.Second

// WorkflowID is the id of an alert's Notify workflow.
func (r *Raiser) WorkflowID(alertID int64) string {
	return r.WorkflowIDPrefix + "alert:" + strconv.FormatInt(alertID, 10)
}

// dispatch builds the alert's message and starts its Notify workflow,
// once: a second start of the same id is taken for success.
func (r *Raiser) dispatch(ctx context.Context, row store.AlertRow) error {
	a, err := r.build(ctx, row)
	if err != nil {
		return err
	}
	// While Temporal is down the SDK would retry for a long time; the alert
	// is safe in t_task_alert, so give up soon and let DispatchPending retry.
	startCtx, cancel := context.WithTimeout(ctx, dispatchTimeout)
	defer cancel()
	_, err = r.Client.ExecuteWorkflow(startCtx, client.StartWorkflowOptions{
		ID:                       r.WorkflowID(row.ID),
		TaskQueue:                r.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Deliveries give up per channel after GiveUpAfter; this is a backstop.
		WorkflowExecutionTimeout: r.GiveUpAfter + time.Hour,
		RetryPolicy:              &temporal.RetryPolicy{MaximumAttempts: 1},
	}, NotifyWorkflow, NotifyInput{Alert: a, RetryMaxInterval: r.RetryMaxInterval, GiveUpAfter: r.GiveUpAfter})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start delivery of alert %d: %w", row.ID, err)
	}
	return r.Store.MarkAlertDispatched(ctx, row.ID)
}

// build turns an alert row into the message: the task's owners and
// overrides (from its tombstone when it was deleted), the run and links.
func (r *Raiser) build(ctx context.Context, row store.AlertRow) (Alert, error) {
	a := Alert{ID: row.ID, Kind: Kind(row.Kind), TaskName: row.TaskName, Title: row.Title, Text: row.Body,
		ExitCode: row.ExitCode, Excerpt: row.Excerpt, Repeat: row.Repeat, Suppressed: row.Suppressed, At: row.CreatedAt}
	t, err := r.Store.GetTask(ctx, row.TaskName)
	if errors.Is(err, store.ErrTaskNotFound) {
		t, _, err = r.Store.DeletedTask(ctx, row.TaskName)
		if errors.Is(err, store.ErrTaskNotFound) {
			err = nil // deleted without a trace: the configured defaults only
		}
	}
	if err != nil {
		return a, fmt.Errorf("build alert %d: %w", row.ID, err)
	}
	a.Owners = t.Owners
	a.Route = Route{Channels: t.AlertChannels, SlackChannel: t.SlackChannel}
	if row.ExecID != nil {
		run, err := r.Store.GetRun(ctx, *row.ExecID)
		if err != nil {
			return a, fmt.Errorf("build alert %d: %w", row.ID, err)
		}
		a.Run = &RunRef{ID: run.ID, Version: run.Version, WorkflowID: run.WorkflowID, RunID: run.RunID,
			ScheduledTime: run.ScheduledTime}
	}
	a.Links = r.links(row.TaskName, a.Run)
	return a, nil
}

func (r *Raiser) links(taskName string, run *RunRef) []Link {
	var links []Link
	console := strings.TrimRight(r.ConsoleURL, "/")
	if console != "" {
		if run != nil {
			links = append(links, Link{Label: "Run in the console", URL: fmt.Sprintf("%s/runs/%d", console, run.ID)})
		} else {
			links = append(links, Link{Label: "Task in the console", URL: console + "/tasks/" + url.PathEscape(taskName)})
		}
	}
	ui := strings.TrimRight(r.TemporalUIURL, "/")
	if ui != "" && run != nil {
		links = append(links, Link{Label: "Run in Temporal Web", URL: fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history",
			ui, url.PathEscape(r.Namespace), url.PathEscape(run.WorkflowID), url.PathEscape(run.RunID))})
	}
	return links
}

func (r *Raiser) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// TaskDeleted raises the alert for a scheduled task whose row was deleted,
// once per deletion, and forgets the task's repeat-limit memory so a new
// task of the same name starts clean.
func (r *Raiser) TaskDeleted(ctx context.Context, name string) error {
	key := "deleted:" + name
	text := "The task's row was deleted from t_task_list, so its schedule was removed: it will not run again. Its runs, logs and history are kept."
	if _, tomb, err := r.Store.DeletedTask(ctx, name); err == nil {
		key += ":" + strconv.FormatInt(tomb, 10)
	} else if !errors.Is(err, store.ErrTaskNotFound) {
		return err
	} else {
		key += ":" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	if _, err := r.Raise(ctx, Event{Kind: KindDeleted, TaskName: name, Key: key,
		Title: "task deleted; its schedule was removed", Text: text}); err != nil {
		return err
	}
	return r.Store.ForgetAlertState(ctx, name)
}

// NewRaiser makes the Raiser of cfg, its zero fields set to their
// defaults; it fails when cfg is wrong, naming the field.
func NewRaiser(cfg Config, st *store.Store, c client.Client, logger *slog.Logger) (*Raiser, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Raiser{Config: cfg, Store: st, Client: c, Logger: logger.With(slog.String("component", "alert"))}, nil
}
