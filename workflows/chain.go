package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/schetask/schetask/activities"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// ChainGateInput is what a gate waits for (activities.ChainGateInput).
type ChainGateInput = activities.ChainGateInput

// ChainSignal is an upstream run's end as a gate receives it.
type ChainSignal = activities.ChainSignal

// SignalUpstreamEnded is the signal carrying a ChainSignal to a gate.
const SignalUpstreamEnded = activities.SignalUpstreamEnded

// ChainGate waits, for one downstream task and logical date, for its
// upstreams' runs to end, and starts the task once when its condition
// holds. An upstream's first end counts, but a later success replaces a
// failure (a re-run). NotifyChain starts the gate with the first
// upstream's signal (SignalWithStart), so no end is lost while it is
// starting; the gate's state is durable in Temporal, so a worker or
// Temporal restart loses nothing, and t_chain_wait shows it at every
// change; a gate opened again for the date (after one gave up, or
// started the task) goes on from the ends the last one counted. When the
// condition can no longer hold (all_succeeded with a
// failed upstream) the task is reported not running, but the gate keeps
// listening until in.Until for a re-run; at Until it gives up and says
// which upstreams never reported.
func ChainGate(ctx workflow.Context, in ChainGateInput) error {
	g := gate{in: in, arrived: map[string]store.GateArrival{}, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if err := g.loadEarlier(ctx); err != nil {
		return err
	}
	signals := workflow.GetSignalChannel(ctx, SignalUpstreamEnded)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	expired := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
		var s ChainSignal
		c.Receive(ctx, &s)
		g.arrive(s)
	})
	if wait := in.Until.Sub(workflow.Now(ctx)); wait > 0 {
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) { expired = true })
	} else {
		expired = true
	}
	for {
		// Take every signal already there before deciding.
		for sel.HasPending() {
			sel.Select(ctx)
		}
		if !expired && len(g.arrived) == 0 {
			sel.Select(ctx)
			continue
		}
		switch verdict, why := g.verdict(); verdict {
		case gateHolds:
			return g.start(ctx)
		case gateCannot:
			if err := g.record(ctx, store.ChainNotRunning, why, false); err != nil {
				return err
			}
		default:
			if expired {
				if err := g.record(ctx, store.ChainNotRunning, "", true); err != nil {
					return err
				}
				break
			}
			if err := g.record(ctx, store.ChainWaiting, "", false); err != nil {
				return err
			}
		}
		if expired {
			// An end that came while the verdict was being recorded (it
			// was sent, so its sender counts it as delivered) is taken,
			// not dropped with the gate: decide again.
			if sel.HasPending() {
				continue
			}
			return nil
		}
		sel.Select(ctx)
	}
}

// gate is a ChainGate's state.
type gate struct {
	in      ChainGateInput
	arrived map[string]store.GateArrival
	id      string
	// recorded is the last state written, to write only changes.
	recorded string
}

// loadEarlier takes the upstream ends an earlier gate of the same task
// and date counted: a gate that gave up, or one that started the task,
// before this upstream's end came.
func (g *gate) loadEarlier(ctx workflow.Context) error {
	var a *activities.Activities
	loadCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	var earlier map[string]store.GateArrival
	if err := workflow.ExecuteLocalActivity(loadCtx, a.ChainArrivals, activities.ChainArrivalsInput{
		Task: g.in.Task, LogicalDate: g.in.LogicalDate}).Get(ctx, &earlier); err != nil {
		return fmt.Errorf("read earlier arrivals: %w", err)
	}
	for _, u := range g.in.Upstreams {
		if e, ok := earlier[u]; ok {
			g.arrive(ChainSignal{Task: u, RunID: e.RunID, WorkflowID: e.WorkflowID, Status: e.Status})
		}
	}
	return nil
}

// arrive counts an upstream's end: its first, or a success after a
// failure.
func (g *gate) arrive(s ChainSignal) {
	known := false
	for _, u := range g.in.Upstreams {
		known = known || u == s.Task
	}
	if !known {
		return // not (or no longer) an upstream of this gate's task
	}
	if old, ok := g.arrived[s.Task]; ok && (old.Status == tasktype.RunSucceeded || s.Status != tasktype.RunSucceeded) {
		return
	}
	g.arrived[s.Task] = store.GateArrival{RunID: s.RunID, Status: s.Status, WorkflowID: s.WorkflowID}
}

type gateVerdict int

const (
	gateWaits  gateVerdict = iota // not yet
	gateHolds                     // start the task
	gateCannot                    // cannot hold unless an upstream is re-run
)

// verdict applies the condition to what arrived.
func (g *gate) verdict() (gateVerdict, string) {
	succeeded, ended := 0, 0
	var failed []string
	for _, u := range g.in.Upstreams {
		a, ok := g.arrived[u]
		if !ok {
			continue
		}
		ended++
		if a.Status == tasktype.RunSucceeded {
			succeeded++
		} else {
			failed = append(failed, fmt.Sprintf("upstream %s %s (run #%d)", u, a.Status, a.RunID))
		}
	}
	all := len(g.in.Upstreams)
	switch g.in.Condition {
	case tasktype.AfterAnySucceeded:
		if succeeded > 0 {
			return gateHolds, ""
		}
		if ended == all {
			return gateCannot, joinWhy(failed) + "; any_succeeded needs one to succeed"
		}
	case tasktype.AfterAllDone:
		if ended == all {
			return gateHolds, ""
		}
	default:
		if succeeded == all {
			return gateHolds, ""
		}
		if len(failed) > 0 {
			return gateCannot, joinWhy(failed)
		}
	}
	return gateWaits, ""
}

func joinWhy(parts []string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}

// start starts the task's run for the logical date, once, and records
// that it did, or why it did not.
func (g *gate) start(ctx workflow.Context) error {
	var ids []int64
	for _, u := range g.in.Upstreams {
		if a, ok := g.arrived[u]; ok {
			ids = append(ids, a.RunID)
		}
	}
	var a *activities.Activities
	startCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		// The start is idempotent (one workflow id per task and date):
		// keep trying through a Temporal or database outage.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	var res activities.StartChainRunResult
	if err := workflow.ExecuteActivity(startCtx, a.StartChainRun, activities.StartChainRunInput{
		Task: g.in.Task, LogicalDate: g.in.LogicalDate, UpstreamRuns: ids,
	}).Get(ctx, &res); err != nil {
		return fmt.Errorf("start %s for %s: %w", g.in.Task, g.in.LogicalDate.Format(time.RFC3339), err)
	}
	if res.NotRunning != "" {
		return g.record(ctx, store.ChainNotRunning, res.NotRunning, false)
	}
	return g.record(ctx, store.ChainStarted, "started as "+res.WorkflowID, false)
}

// record writes the gate's state to t_chain_wait when it changed.
func (g *gate) record(ctx workflow.Context, state, reason string, expired bool) error {
	key := fmt.Sprintf("%s|%s|%v|%v", state, reason, expired, g.arrived)
	if key == g.recorded {
		return nil
	}
	var a *activities.Activities
	recCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	if err := workflow.ExecuteLocalActivity(recCtx, a.RecordChainWait, activities.RecordChainWaitInput{
		Gate: g.in, Arrived: g.arrived, State: state, Reason: reason, Expired: expired, WorkflowID: g.id,
	}).Get(ctx, nil); err != nil {
		return fmt.Errorf("record chain wait: %w", err)
	}
	g.recorded = key
	return nil
}
