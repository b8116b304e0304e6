package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// NormalMinRuns is how many succeeded runs a task needs before its runs
// are compared with them.
const NormalMinRuns = 5

// SlowMarginDefault is the floor of the slow threshold over p95, for
// tasks whose row does not set slow_margin_seconds.
const SlowMarginDefault = time.Minute

// SlowAfter is how long a run of t may go before it is slow:
// max(3 × p95, p95 + margin) of the task's newest succeeded runs. ok is
// false when the task does not learn (learn_normal off) or has fewer than
// NormalMinRuns succeeded runs to learn from.
func SlowAfter(t tasktype.Task, n store.RunNormal) (after time.Duration, ok bool) {
	if !t.LearnNormal || n.Runs < NormalMinRuns {
		return 0, false
	}
	margin := SlowMarginDefault
	if t.SlowMargin != nil {
		margin = *t.SlowMargin
	}
	return max(3*n.P95, n.P95+margin), true
}

// SlowEvent is the slow alert of a run that has gone for elapsed, once
// per run.
func SlowEvent(run tasktype.Run, n store.RunNormal, after, elapsed time.Duration) Event {
	return Event{Kind: KindSlow, TaskName: run.TaskName, RunID: run.ID,
		Key: fmt.Sprintf("slow:%d", run.ID),
		Title: fmt.Sprintf("run #%d still running after %s; usually %s – %s",
			run.ID, HumanDuration(elapsed), HumanDuration(n.P5), HumanDuration(n.P95)),
		Text: fmt.Sprintf("The task's last %d succeeded runs took %s – %s (5th to 95th percentile, median %s); "+
			"a run is slow past max(3 × p95, p95 + margin) = %s. It goes on; this alert is sent once per run.",
			n.Runs, HumanDuration(n.P5), HumanDuration(n.P95), HumanDuration(n.Median), HumanDuration(after))}
}

// HumanDuration writes d for a message: "14 m 02 s", "2 h 05 m", "1.4 s".
func HumanDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d m %02d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %02d m", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// EndedEvents are the alerts a succeeded run deserves for being unlike
// the task's usual runs n (those before it): fast, when it took under a
// tenth of their median; did nothing, when it published nothing while most
// of them published, or logged under a tenth of their median log. None
// when the task does not learn or has fewer than NormalMinRuns runs.
func EndedEvents(t tasktype.Task, run tasktype.Run, n store.RunNormal) []Event {
	if !t.LearnNormal || n.Runs < NormalMinRuns || run.Status != tasktype.RunSucceeded ||
		run.ProcessStartTime == nil || run.EndTime == nil {
		return nil
	}
	var evs []Event
	usually := fmt.Sprintf("usually %s – %s", HumanDuration(n.P5), HumanDuration(n.P95))
	if took := run.EndTime.Sub(*run.ProcessStartTime); took < n.Median/10 {
		evs = append(evs, Event{Kind: KindFast, TaskName: run.TaskName, RunID: run.ID,
			Key:   fmt.Sprintf("fast:%d", run.ID),
			Title: fmt.Sprintf("run #%d took %s; %s", run.ID, HumanDuration(took), usually),
			Text: fmt.Sprintf("The run succeeded in under a tenth of the median (%s) of the task's last %d succeeded runs "+
				"(%s is their 5th to 95th percentile): check that it did its work.", HumanDuration(n.Median), n.Runs, usually)})
	}
	var why []string
	if len(run.PublishedFiles) == 0 && 2*n.Published > n.Runs {
		why = append(why, fmt.Sprintf("published nothing; usually publishes (%d of the last %d runs did)", n.Published, n.Runs))
	}
	if run.LogBytes < n.MedianLogBytes/10 {
		why = append(why, fmt.Sprintf("logged %d bytes; usually %d (median of the last %d runs)", run.LogBytes, n.MedianLogBytes, n.Runs))
	}
	if len(why) > 0 {
		evs = append(evs, Event{Kind: KindDidNothing, TaskName: run.TaskName, RunID: run.ID,
			Key:   fmt.Sprintf("did_nothing:%d", run.ID),
			Title: fmt.Sprintf("run #%d succeeded but %s", run.ID, strings.Join(why, "; ")),
			Text:  "The run exited 0 but did far less than the task's usual runs: check its log and its inputs."})
	}
	return evs
}
