// Package alert holds what an alert is, when one is sent and when it is
// held back: the five kinds of the seed system (timeout, non-zero exit,
// missed run, deleted task, the task's own notify) plus recovery, runs
// unlike the task's usual ones and missed deadlines, the repeat limit per
// task, and raising an alert so that Temporal delivers it. The channels
// that carry it are in package notify.
package alert

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of alert.
const (
	// KindTimeout: a run passed its task's timeout.
	KindTimeout Kind = "timeout"
	// KindFailed: a run ended with a non-zero exit code.
	KindFailed Kind = "failed"
	// KindLost: a run's worker died under it.
	KindLost Kind = "lost"
	// KindMissed: the rule said a run should have started and none did.
	KindMissed Kind = "missed"
	// KindDeleted: a scheduled task's row was deleted from t_task_list.
	KindDeleted Kind = "deleted"
	// KindCustom: the task raised it itself (notify in the task helper).
	KindCustom Kind = "custom"
	// KindRecovered: a task that was failing succeeded again.
	KindRecovered Kind = "recovered"
	// KindSlow: a run is still going far past what the task's newest
	// succeeded runs took (see SlowAfter).
	KindSlow Kind = "slow"
	// KindFast: a run succeeded in under a tenth of the task's usual time.
	KindFast Kind = "fast"
	// KindDidNothing: a run succeeded but published nothing, or logged far
	// less, when the task's usual runs did.
	KindDidNothing Kind = "did_nothing"
	// KindDeadline: a logical date's run had not succeeded by the task's
	// deadline (late, still running, waiting for an upstream, failed or
	// never started; see monitor.CheckDeadlines).
	KindDeadline Kind = "deadline"
)

// Kinds are every kind, in the order above; t_task_alert's kind_known
// check accepts exactly these (TestDatabaseAcceptsExactlyTheAlertKinds).
var Kinds = []Kind{KindTimeout, KindFailed, KindLost, KindMissed, KindDeleted, KindCustom, KindRecovered,
	KindSlow, KindFast, KindDidNothing, KindDeadline}

// Severity says how bad an alert is, for colours and subjects.
func (k Kind) Severity() string {
	switch k {
	case KindRecovered:
		return "ok"
	case KindCustom, KindMissed, KindDeleted, KindSlow, KindFast, KindDidNothing:
		return "warning"
	}
	return "error"
}

// Alert is one message to send about a task, on every channel. It is the
// Notify workflow's input, so it is visible in Temporal Web: it never
// holds a secret.
type Alert struct {
	// ID is the alert's row in t_task_alert.
	ID       int64
	Kind     Kind
	TaskName string
	// Title is the one-line summary, Text the explanation.
	Title string
	Text  string
	// ExitCode is the run's exit code (failed, lost, timeout), or nil.
	ExitCode *int
	// Excerpt is the start of the run's stderr, trimmed for a message.
	Excerpt []string
	// Repeat is true when the same trouble was already announced ("still failing").
	Repeat bool
	// Suppressed counts the alerts of this task held back by the repeat
	// limit since the last one sent.
	Suppressed int
	// Run identifies the run the alert is about, when there is one.
	Run *RunRef
	// Links point at the run (or task) in the console and in Temporal Web.
	Links []Link
	// Owners are the task's owners: e-mail addresses and Slack member ids.
	Owners []string
	// Route holds the task's channel overrides.
	Route Route
	// At is when the alert was raised.
	At time.Time
}

// RunRef identifies a run.
type RunRef struct {
	// ID is the run's row in t_task_exec_list.
	ID            int64
	Version       string
	WorkflowID    string
	RunID         string
	ScheduledTime time.Time
}

// Link is a labelled URL.
type Link struct {
	Label string
	URL   string
}

// Route is a task's overrides of the configured channels.
type Route struct {
	// Channels limits the channels used for the task ("slack", "email",
	// "webhook"); empty means every configured one.
	Channels []string
	// SlackChannel replaces the configured Slack channel (bot token only).
	SlackChannel string
	// A task's own webhook URL is not carried here: it often holds a token,
	// and the route is part of the Notify workflow's input, kept in
	// Temporal's history. The webhook channel reads it, with the task's
	// secret, from the database when it delivers. (Histories from before
	// carry a WebhookURL field, which decoding ignores.)
}

// Uses reports whether the route allows the named channel.
func (r Route) Uses(channel string) bool {
	if len(r.Channels) == 0 {
		return true
	}
	for _, c := range r.Channels {
		if c == channel {
			return true
		}
	}
	return false
}

// Emails are the owners that are e-mail addresses.
func (a Alert) Emails() []string {
	var out []string
	for _, o := range a.Owners {
		if strings.Contains(o, "@") && !strings.HasPrefix(o, "@") {
			out = append(out, o)
		}
	}
	return out
}

// SlackMembers are the owners that are Slack member ids (U…/W…) or
// @handles, for mentions.
func (a Alert) SlackMembers() []string {
	var out []string
	for _, o := range a.Owners {
		if !strings.Contains(strings.TrimPrefix(o, "@"), "@") {
			out = append(out, strings.TrimPrefix(o, "@"))
		}
	}
	return out
}

// Subject is a one-line subject for e-mail and notifications.
func (a Alert) Subject() string {
	return fmt.Sprintf("[schetask] %s: %s", a.TaskName, a.Title)
}

// Body is the plain-text body: text, excerpt, suppressed count and links.
func (a Alert) Body() string {
	var b strings.Builder
	b.WriteString(a.Title)
	b.WriteString("\n\n")
	if a.Text != "" {
		b.WriteString(a.Text)
		b.WriteString("\n\n")
	}
	if a.Run != nil {
		fmt.Fprintf(&b, "Run #%d (version %s, scheduled %s)\n", a.Run.ID, a.Run.Version, a.Run.ScheduledTime.UTC().Format(time.RFC3339))
	}
	if a.ExitCode != nil {
		fmt.Fprintf(&b, "Exit code: %d\n", *a.ExitCode)
	}
	if len(a.Excerpt) > 0 {
		b.WriteString("\nstderr:\n")
		for _, l := range a.Excerpt {
			b.WriteString("  ")
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	if a.Suppressed > 0 {
		fmt.Fprintf(&b, "\n%s\n", a.SuppressedNote())
	}
	if len(a.Links) > 0 {
		b.WriteString("\n")
		for _, l := range a.Links {
			fmt.Fprintf(&b, "%s: %s\n", l.Label, l.URL)
		}
	}
	return b.String()
}

// SuppressedNote says how many alerts the repeat limit held back, or "".
func (a Alert) SuppressedNote() string {
	switch a.Suppressed {
	case 0:
		return ""
	case 1:
		return "1 alert of this task was suppressed since the last message."
	}
	return fmt.Sprintf("%d alerts of this task were suppressed since the last message.", a.Suppressed)
}

// Excerpt limits stderr lines for a message: at most lines lines of at
// most width bytes each (cut on a rune boundary).
func Excerpt(stderr []string, lines, width int) []string {
	var out []string
	for i, l := range stderr {
		if i == lines {
			out = append(out, fmt.Sprintf("… %d more lines in the log", len(stderr)-lines))
			break
		}
		if len(l) > width {
			cut := width
			for cut > 0 && !utf8RuneStart(l[cut]) {
				cut--
			}
			l = l[:cut] + "…"
		}
		out = append(out, l)
	}
	return out
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
