package activities

import (
	"context"
	"fmt"
)

// WarnInput is a warning about a run that goes on.
type WarnInput struct {
	TaskName string
	RunID    int64
	Reason   string
}

// Warn records a warning about a task (its last_warning_time). The alerts
// of a later version hang off this activity.
func (a *Activities) Warn(ctx context.Context, in WarnInput) error {
	a.logger().Warn("task warning", "task", in.TaskName, "run", in.RunID, "reason", in.Reason)
	if err := a.Store.MarkWarned(ctx, in.TaskName); err != nil {
		return fmt.Errorf("warn: %w", err)
	}
	return nil
}
