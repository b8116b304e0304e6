package tasksync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/tasktype"
)

// ReconcileRuns closes the rows of runs whose workflow ended without its
// end hook: terminated by hand or by the terminate_other overlap policy,
// or stopped by the execution-timeout backstop. Such a run would
// otherwise say "running" for ever. It returns how many rows it closed.
func (s *Syncer) ReconcileRuns(ctx context.Context) (int, error) {
	runs, err := s.store.OpenRunsStartedBefore(ctx, time.Now().Add(-s.AbandonedAfter), 500)
	if err != nil {
		return 0, err
	}
	closed := 0
	var errs []error
	for _, r := range runs {
		d, err := s.client.DescribeWorkflowExecution(ctx, r.WorkflowID, r.RunID)
		var notFound *serviceerror.NotFound
		var status enumspb.WorkflowExecutionStatus
		switch {
		case errors.As(err, &notFound):
			status = enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
		case err != nil:
			errs = append(errs, fmt.Errorf("describe workflow of run %d: %w", r.ID, err))
			continue
		default:
			status = d.WorkflowExecutionInfo.Status
		}
		var runStatus tasktype.RunStatus
		var code int
		var msg string
		switch status {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			continue
		case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
			runStatus, code, msg = tasktype.RunKilled, tasktype.ExitKilled, "workflow terminated (by hand or by the terminate_other overlap policy); the end hook did not run"
		case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
			runStatus, code, msg = tasktype.RunTimedOut, tasktype.ExitTimedOut, "workflow passed its execution timeout backstop; the end hook did not run"
		default:
			runStatus, code, msg = tasktype.RunLost, tasktype.ExitLost, fmt.Sprintf("workflow ended (%s) without recording the run", status)
		}
		ok, err := s.store.CloseAbandonedRun(ctx, r.ID, runStatus, code, msg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		closed++
		metrics.RunEnded(r.TaskName, string(runStatus), time.Since(r.StartTime))
		s.logger.Warn("closed an abandoned run", slog.String("task", r.TaskName), slog.Int64("run", r.ID),
			slog.String("status", string(runStatus)), slog.String("reason", msg))
		if s.OnRunClosed != nil {
			run, err := s.store.GetRun(ctx, r.ID)
			if err == nil {
				err = s.OnRunClosed(ctx, run)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("alert of closed run %d: %w", r.ID, err))
			}
		}
	}
	return closed, errors.Join(errs...)
}
