package notify

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/schetask/schetask/alert"
)

// WorkflowResult says which channels took the alert and which gave up.
type WorkflowResult struct {
	Delivered []string
	Failed    map[string]string
}

// Workflow delivers one alert on every configured channel its task allows,
// all at once: each channel is retried with backoff on its own, so an
// outage of one delays its message and blocks no other. It is started by
// alert.Raiser under the name alert.NotifyWorkflow.
func Workflow(ctx workflow.Context, in alert.NotifyInput) (WorkflowResult, error) {
	var d *Deliverer
	res := WorkflowResult{Failed: map[string]string{}}
	logger := workflow.GetLogger(ctx)
	quick := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var names []string
	if err := workflow.ExecuteActivity(quick, d.ChannelNames).Get(ctx, &names); err != nil {
		return res, err
	}
	var channels []string
	for _, n := range names {
		if in.Alert.Route.Uses(n) {
			channels = append(channels, n)
		}
	}
	if len(channels) == 0 {
		logger.Warn("no alert channel configured for this task", "task", in.Alert.TaskName, "alert", in.Alert.ID)
		return res, nil
	}

	maxInterval, giveUp := in.RetryMaxInterval, in.GiveUpAfter
	if maxInterval <= 0 {
		maxInterval = time.Minute
	}
	if giveUp <= 0 {
		giveUp = 24 * time.Hour
	}
	deliverCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: giveUp,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: maxInterval},
	})
	wg := workflow.NewWaitGroup(ctx)
	for _, ch := range channels {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			err := workflow.ExecuteActivity(deliverCtx, d.Deliver, DeliverInput{Channel: ch, Alert: in.Alert}).Get(gctx, nil)
			if err == nil {
				res.Delivered = append(res.Delivered, ch)
				return
			}
			res.Failed[ch] = err.Error()
			logger.Error("alert not delivered", "channel", ch, "alert", in.Alert.ID, "error", err)
			_ = workflow.ExecuteActivity(quick, d.RecordFailure, FailureInput{
				AlertID: in.Alert.ID, Channel: ch, Error: err.Error()}).Get(gctx, nil)
		})
	}
	wg.Wait(ctx)
	return res, nil
}
