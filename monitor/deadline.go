package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The deadline check. A task's logical dates come from its own rule's
// fires (the nominal time is the fire) or, for a task that only runs
// after others, from its upstreams' fires truncated to its period (the
// nominal time is the logical date, as its chain runs are scheduled).
// Each date whose deadline passed within the lookback and whose runs had
// not succeeded by then gets one deadline alert, saying what the date's
// run was doing: late, still running, retrying, waiting for an upstream
// (which, and what that upstream's run is doing), not running (the
// chain's reason), failed, never started, or succeeded only after it.

// deadlineSettle is how long after a deadline passes it is checked, so a
// run that ended just before it has its row closed.
const deadlineSettle = 2 * time.Second

// deadlineLookback is how long ago a deadline may have passed and still be
// checked: a monitor that was down an hour still reports what it missed.
func (m *Monitor) deadlineLookback() time.Duration { return 2*m.Interval + time.Hour }

// wallSpan bounds how long after its logical date a time-of-day deadline
// falls: the next day's time, plus an hour a DST change may add.
const wallSpan = 25 * time.Hour

// dueDate is a logical date of a task whose deadline is checked.
type dueDate struct {
	logical time.Time
	// nominal is the fire the date is named by: the task's own, or its
	// logical date for a task that runs after others.
	nominal time.Time
	// fired is the earliest fire behind the date (the upstream's, for a
	// task that runs after others).
	fired    time.Time
	deadline time.Time
}

// CheckDeadlines raises, for every enabled task with a deadline, one
// deadline alert per logical date whose deadline passed (within the
// lookback, after the task's last change) without a run of that date
// having succeeded by then. It returns how many alerts it raised.
func (m *Monitor) CheckDeadlines(ctx context.Context) (int, error) {
	tasks, err := m.Store.ListTasks(ctx)
	if err != nil {
		return 0, fmt.Errorf("check deadlines: %w", err)
	}
	byName := make(map[string]tasktype.Task, len(tasks))
	for _, t := range tasks {
		byName[t.Name] = t
	}
	total := 0
	var errs []error
	for _, t := range tasks {
		if t.Deadline == "" {
			continue
		}
		n, err := m.checkTaskDeadlines(ctx, t, byName)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("check deadlines: task %q: %w", t.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

func (m *Monitor) checkTaskDeadlines(ctx context.Context, t tasktype.Task, byName map[string]tasktype.Task) (int, error) {
	if t.Status != tasktype.StatusOn {
		return 0, nil // paused on purpose: its dates are not due
	}
	d, err := tasktype.ParseDeadline(t.Deadline)
	if err != nil || d.IsZero() {
		return 0, nil // the database refuses it; nothing to check
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return 0, nil
	}
	since, ok, err := m.checkedSince(ctx, t)
	if err != nil || !ok {
		return 0, err
	}
	now := m.now()
	period := taskPeriod(t, byName, nil)
	dates := m.dueDates(t, d, loc, period, byName, since, now.Add(-m.deadlineLookback()), now.Add(-deadlineSettle))
	if len(dates) == 0 {
		return 0, nil
	}
	keys := make([]string, len(dates))
	for i, dd := range dates {
		keys[i] = deadlineKey(t.Name, dd.logical)
	}
	raised, err := m.Store.RecordedAlertKeys(ctx, keys)
	if err != nil {
		return 0, err
	}
	dates = slices.DeleteFunc(dates, func(dd dueDate) bool { return raised[deadlineKey(t.Name, dd.logical)] })
	if len(dates) == 0 {
		return 0, nil
	}
	first, last := dates[0].logical, dates[len(dates)-1].logical
	runs, err := m.Store.RunsOfDates(ctx, t.Name, first, last, last.Add(max(period, time.Second)))
	if err != nil {
		return 0, err
	}
	byDate := map[int64][]tasktype.Run{}
	for _, r := range runs {
		ld := rule.LogicalDate(r.ScheduledTime, period, loc)
		if r.LogicalDate != nil {
			ld = *r.LogicalDate
		}
		byDate[ld.UnixNano()] = append(byDate[ld.UnixNano()], r)
	}
	n := 0
	var errs []error
	for _, dd := range dates {
		rs := byDate[dd.logical.UnixNano()]
		if slices.ContainsFunc(rs, func(r tasktype.Run) bool {
			return r.Status == tasktype.RunSucceeded && r.EndTime != nil && !r.EndTime.After(dd.deadline)
		}) {
			continue
		}
		st, err := m.dateState(ctx, t, dd, rs, period, loc, byName, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := m.Alerts.Raise(ctx, deadlineEvent(t, dd, st, loc)); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// checkedSince is when the task's settings and schedule last changed, and
// a little more (Settle): dates fired before are not checked. ok is false
// when sync could not apply the task (sync reports that).
func (m *Monitor) checkedSince(ctx context.Context, t tasktype.Task) (since time.Time, ok bool, err error) {
	sync, synced, err := m.Store.GetSyncState(ctx, t.Name)
	if err != nil {
		return since, false, err
	}
	if synced && sync.Error != "" {
		return since, false, nil
	}
	since = t.UpdatedAt
	if synced && sync.SyncedAt.After(since) {
		since = sync.SyncedAt
	}
	return since.Add(m.Settle), true, nil
}

// dueDates are the task's logical dates whose deadline is in (from, to]
// and after since, fired at or after since, oldest first.
func (m *Monitor) dueDates(t tasktype.Task, d tasktype.Deadline, loc *time.Location, period time.Duration,
	byName map[string]tasktype.Task, since, from, to time.Time) []dueDate {
	span := d.After
	if span == 0 {
		span = wallSpan
	}
	// A date's nominal time is at most span before its deadline and
	// before the end of its period after it.
	lo := from.Add(-span - period)
	if lo.Before(since) {
		lo = since.Add(-time.Nanosecond)
	}
	hi := to.Add(period)
	var out []dueDate
	index := map[int64]int{} // logical date → its place in out
	add := func(logical, nominal, fired time.Time) {
		if fired.Before(since) {
			return
		}
		dl := d.At(logical, nominal, loc)
		if !dl.After(from) || dl.After(to) || !dl.After(since) {
			return
		}
		if i, ok := index[logical.UnixNano()]; ok {
			if fired.Before(out[i].fired) {
				out[i].fired = fired
			}
			return
		}
		index[logical.UnixNano()] = len(out)
		out = append(out, dueDate{logical: logical, nominal: nominal, fired: fired, deadline: dl})
	}
	if r, err := rule.Parse(t.Rule); err == nil {
		for _, f := range fires(r, loc, lo, hi) {
			add(rule.LogicalDate(f, period, loc), f, f)
		}
	} else if len(t.After) > 0 {
		for _, u := range t.After {
			up, ok := byName[u]
			if !ok || up.Status != tasktype.StatusOn {
				continue // a deleted or paused upstream names no dates
			}
			upSince := since
			if s := up.UpdatedAt.Add(m.Settle); s.After(upSince) {
				upSince = s // the upstream's fires before its own change are not checked either
			}
			for _, f := range scheduledTimes(up, byName, lo, hi, map[string]bool{t.Name: true}) {
				if !f.Before(upSince) {
					ld := rule.LogicalDate(f, period, loc)
					add(ld, ld, f)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b dueDate) int { return a.logical.Compare(b.logical) })
	return out
}

// fires are r's fire times in (from, to], at most maxFiresPerCheck.
func fires(r rule.Rule, loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for next := r.Next(from, loc); !next.IsZero() && !next.After(to) && len(out) < maxFiresPerCheck; next = r.Next(next, loc) {
		out = append(out, next)
	}
	return out
}

// scheduledTimes are the scheduled times of t's runs in (from, to]: its
// rule's fires, or, for a task that runs after others, its logical dates
// from theirs (its chain runs are scheduled at their logical date).
func scheduledTimes(t tasktype.Task, byName map[string]tasktype.Task, from, to time.Time, seen map[string]bool) []time.Time {
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return nil
	}
	if r, err := rule.Parse(t.Rule); err == nil {
		return fires(r, loc, from, to)
	}
	if seen[t.Name] {
		return nil // a cycle the database should have refused
	}
	seen[t.Name] = true
	defer delete(seen, t.Name)
	period := taskPeriod(t, byName, nil)
	var out []time.Time
	found := map[int64]bool{}
	for _, u := range t.After {
		up, ok := byName[u]
		if !ok || up.Status != tasktype.StatusOn {
			continue
		}
		for _, f := range scheduledTimes(up, byName, from.Add(-period), to, seen) {
			if ld := rule.LogicalDate(f, period, loc); ld.After(from) && !ld.After(to) && !found[ld.UnixNano()] {
				found[ld.UnixNano()] = true
				out = append(out, ld)
			}
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// taskPeriod is the time between two logical dates of t: its rule's
// (rule.Period), or, for a task that runs after others, the longest of
// its upstreams' (a day for one that does not exist).
func taskPeriod(t tasktype.Task, byName map[string]tasktype.Task, seen map[string]bool) time.Duration {
	if p, ok := rule.Period(t.Rule); ok {
		return p
	}
	if seen == nil {
		seen = map[string]bool{}
	}
	if seen[t.Name] || len(t.After) == 0 {
		return 24 * time.Hour
	}
	seen[t.Name] = true
	defer delete(seen, t.Name)
	var longest time.Duration
	for _, u := range t.After {
		p := 24 * time.Hour
		if up, ok := byName[u]; ok {
			p = taskPeriod(up, byName, seen)
		}
		longest = max(longest, p)
	}
	return longest
}

// dateState is what a logical date's run was doing when its deadline was
// checked.
type dateState struct {
	// Short is the state in a few words, for the title; Detail explains.
	Short  string
	Detail string
	// Run is the run it is about, or 0; ExitCode its exit code.
	Run      int64
	ExitCode *int
}

// dateState says what the date's runs rs (oldest first) were doing, or,
// when there is none, why: the fire is late or never came, or the chain
// waits for an upstream or will not run.
func (m *Monitor) dateState(ctx context.Context, t tasktype.Task, dd dueDate, rs []tasktype.Run, period time.Duration,
	loc *time.Location, byName map[string]tasktype.Task, now time.Time) (dateState, error) {
	at := func(x time.Time) string { return x.In(loc).Format(timeLayout) }
	if i := slices.IndexFunc(rs, func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded && r.EndTime != nil }); i >= 0 {
		r := rs[i]
		late := alert.HumanDuration(r.EndTime.Sub(dd.deadline))
		return dateState{Short: fmt.Sprintf("succeeded late (run #%d ended %s after it)", r.ID, late),
			Detail: fmt.Sprintf("Run #%d succeeded only at %s, %s after the deadline.", r.ID, at(*r.EndTime), late),
			Run:    r.ID}, nil
	}
	if len(rs) > 0 {
		r := rs[len(rs)-1]
		if r.Status == tasktype.RunRunning {
			return dateState{Short: fmt.Sprintf("still running (run #%d since %s)", r.ID, at(r.StartTime)),
				Detail: fmt.Sprintf("Run #%d started at %s and was still running at the deadline.", r.ID, at(r.StartTime)),
				Run:    r.ID}, nil
		}
		ended := runEnding(r)
		if r.RetryAt != nil {
			return dateState{Short: fmt.Sprintf("retrying (run #%d %s; next attempt at %s)", r.ID, ended, at(*r.RetryAt)),
				Detail: fmt.Sprintf("Run #%d (attempt %d) %s; the next attempt is due at %s.", r.ID, max(r.Attempt, 1), ended, at(*r.RetryAt)),
				Run:    r.ID, ExitCode: r.ExitCode}, nil
		}
		return dateState{Short: fmt.Sprintf("failed (run #%d %s)", r.ID, ended),
			Detail: fmt.Sprintf("Run #%d %s, and no attempt of this date succeeded.", r.ID, ended),
			Run:    r.ID, ExitCode: r.ExitCode}, nil
	}
	if _, err := rule.Parse(t.Rule); err == nil {
		if now.Sub(dd.nominal) <= m.wait() {
			return dateState{Short: fmt.Sprintf("late (the run due at %s has not started)", at(dd.nominal)),
				Detail: fmt.Sprintf("The run due at %s had not started at the deadline.", at(dd.nominal))}, nil
		}
		return dateState{Short: fmt.Sprintf("never started (no run for the fire due at %s)", at(dd.nominal)),
			Detail: fmt.Sprintf("No run started for the fire due at %s; the missed-run alert says more when the schedule let it slip.", at(dd.nominal))}, nil
	}
	return m.chainState(ctx, t, dd, period, loc, byName)
}

// chainState says why a task that runs after others has no run for a
// date: what its chain's gate recorded (t_chain_wait), and, for each
// upstream it still waits for, what that upstream's run for the date is
// doing.
func (m *Monitor) chainState(ctx context.Context, t tasktype.Task, dd dueDate, period time.Duration,
	loc *time.Location, byName map[string]tasktype.Task) (dateState, error) {
	at := func(x time.Time) string { return x.In(loc).Format(timeLayout) }
	w, ok, err := m.Store.GetChainWait(ctx, t.Name, dd.logical)
	if err != nil {
		return dateState{}, err
	}
	if ok && w.State == store.ChainNotRunning {
		return dateState{Short: "not running: " + w.Reason,
			Detail: fmt.Sprintf("Its chain will not run it for this date: %s.", w.Reason)}, nil
	}
	if ok && w.State == store.ChainStarted {
		return dateState{Short: fmt.Sprintf("late (its chain started it at %s; no run has begun)", at(w.UpdatedAt)),
			Detail: fmt.Sprintf("Its upstreams' condition held at %s and its run was started, but no run of this date has begun.", at(w.UpdatedAt))}, nil
	}
	upstreams, cond := t.After, t.AfterCondition
	if ok {
		upstreams, cond = w.Upstreams, w.Condition
	}
	var holding, details []string
	for _, u := range upstreams {
		if a, arrived := w.Arrived[u]; ok && arrived && (a.Status == tasktype.RunSucceeded || cond == tasktype.AfterAllDone) {
			continue // this one does not hold it up
		}
		us, err := m.upstreamState(ctx, u, dd.logical, period, loc, byName)
		if err != nil {
			return dateState{}, err
		}
		holding = append(holding, fmt.Sprintf("%s (%s)", u, us))
		details = append(details, fmt.Sprintf("%s: %s", u, us))
	}
	word := "upstream"
	if len(holding) != 1 {
		word = "upstreams"
	}
	return dateState{Short: fmt.Sprintf("waiting for %s %s", word, strings.Join(holding, ", ")),
		Detail: fmt.Sprintf("It runs after %s (%s) and was still waiting for %s %s.", strings.Join(upstreams, ", "), cond,
			word, strings.Join(details, "; "))}, nil
}

// upstreamState says what the upstream task's run for the logical date
// (its runs scheduled within the downstream's period from it) is doing.
func (m *Monitor) upstreamState(ctx context.Context, name string, logical time.Time, period time.Duration,
	loc *time.Location, byName map[string]tasktype.Task) (string, error) {
	at := func(x time.Time) string { return x.In(loc).Format(timeLayout) }
	up, exists := byName[name]
	runs, err := m.Store.RunsScheduledIn(ctx, name, logical, logical.Add(max(period, time.Second)))
	if err != nil {
		return "", err
	}
	if len(runs) > 0 {
		r := runs[len(runs)-1]
		switch {
		case r.Status == tasktype.RunRunning:
			return fmt.Sprintf("running: run #%d since %s", r.ID, at(r.StartTime)), nil
		case r.Status == tasktype.RunSucceeded && r.EndTime != nil:
			return fmt.Sprintf("succeeded: run #%d at %s", r.ID, at(*r.EndTime)), nil
		case r.RetryAt != nil:
			return fmt.Sprintf("retrying: run #%d %s, next attempt at %s", r.ID, runEnding(r), at(*r.RetryAt)), nil
		}
		return fmt.Sprintf("failed: run #%d %s", r.ID, runEnding(r)), nil
	}
	switch {
	case !exists:
		return "deleted", nil
	case up.Status != tasktype.StatusOn:
		if up.StatusNote != "" {
			return fmt.Sprintf("paused: %s", up.StatusNote), nil
		}
		return "paused", nil
	}
	return "has not run for this date", nil
}

// runEnding says how an ended run ended, after "run #N".
func runEnding(r tasktype.Run) string {
	code := ""
	if r.ExitCode != nil {
		code = fmt.Sprintf(" with exit code %d", *r.ExitCode)
	}
	switch r.Status {
	case tasktype.RunTimedOut:
		return "timed out"
	case tasktype.RunKilled:
		return "was killed"
	case tasktype.RunLost:
		return "was lost with its worker"
	}
	return "failed" + code
}

// Layouts of the times in deadline alerts, in the task's zone.
const (
	dateLayout = "2006-01-02 15:04:05 MST"
	timeLayout = "2006-01-02 15:04:05"
)

func deadlineKey(task string, logical time.Time) string {
	return fmt.Sprintf("deadline:%s:%d", task, logical.Unix())
}

// deadlineEvent is the alert of a date that missed its deadline: the title
// says the state in a few words, the text the deadline, date and detail.
func deadlineEvent(t tasktype.Task, dd dueDate, st dateState, loc *time.Location) alert.Event {
	return alert.Event{
		Kind: alert.KindDeadline, TaskName: t.Name, Key: deadlineKey(t.Name, dd.logical), RunID: st.Run,
		ExitCode: st.ExitCode,
		Title:    fmt.Sprintf("not done by its deadline %s: %s", dd.deadline.In(loc).Format(dateLayout), st.Short),
		Text: fmt.Sprintf("The run for logical date %s (nominal time %s) had not succeeded by the task's deadline %q, "+
			"at %s. %s", dd.logical.In(loc).Format(dateLayout), dd.nominal.In(loc).Format(dateLayout), t.Deadline,
			dd.deadline.In(loc).Format(dateLayout), st.Detail),
	}
}
