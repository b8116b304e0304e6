package alert

import (
	"context"
	"fmt"

	"github.com/schetask/schetask/tasktype"
)

// RunEvent is the event a finished run deserves: a failure, a lost run or
// a timeout, or a possible recovery when it succeeded. A run killed on
// request deserves none (whoever asked knows).
func RunEvent(run tasktype.Run) (Event, bool) {
	ev := Event{TaskName: run.TaskName, RunID: run.ID, ExitCode: run.ExitCode, Stderr: run.StderrHead, Text: run.Error}
	code := 0
	if run.ExitCode != nil {
		code = *run.ExitCode
	}
	switch run.Status {
	case tasktype.RunSucceeded:
		ev.Kind, ev.Title, ev.ExitCode = KindRecovered, fmt.Sprintf("recovered: run #%d succeeded", run.ID), nil
	case tasktype.RunFailed:
		ev.Kind, ev.Title = KindFailed, fmt.Sprintf("run #%d failed with exit code %d", run.ID, code)
	case tasktype.RunLost:
		ev.Kind, ev.Title = KindLost, fmt.Sprintf("run #%d was lost with its worker", run.ID)
	case tasktype.RunTimedOut:
		// Usually raised already when the timeout passed; the key makes it once.
		ev.Kind, ev.Title = KindTimeout, fmt.Sprintf("run #%d timed out", run.ID)
	default:
		return Event{}, false
	}
	if run.Attempt > 1 && ev.Kind != KindRecovered {
		// Only the last attempt of a fire raises its failure.
		ev.Title += fmt.Sprintf(" after %d attempts", run.Attempt)
	}
	ev.Key = fmt.Sprintf("%s:%d", ev.Kind, run.ID)
	return ev, true
}

// RunEnded raises the event a finished run deserves, if any.
func (r *Raiser) RunEnded(ctx context.Context, run tasktype.Run) error {
	ev, ok := RunEvent(run)
	if !ok {
		return nil
	}
	_, err := r.Raise(ctx, ev)
	return err
}
