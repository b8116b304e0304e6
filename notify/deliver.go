package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
)

// Deliverer holds the Notify workflow's activities: it sends an alert on
// one channel and records each channel's outcome on the alert's row.
// Register one value with the worker.
type Deliverer struct {
	Channels []Channel
	Store    *store.Store
	Logger   *slog.Logger
}

// DeliverInput names the channel and the alert.
type DeliverInput struct {
	Channel string
	Alert   alert.Alert
}

// ChannelNames lists the channels configured on this worker.
func (d *Deliverer) ChannelNames(ctx context.Context) ([]string, error) {
	names := make([]string, 0, len(d.Channels))
	for _, c := range d.Channels {
		names = append(names, c.Name())
	}
	return names, nil
}

// Deliver sends the alert on one channel. A failure is retried by
// Temporal with backoff, unless it is permanent (a bad address, a revoked
// token): then the alert is given up for that channel at once.
func (d *Deliverer) Deliver(ctx context.Context, in DeliverInput) error {
	log := d.logger().With(slog.String("channel", in.Channel), slog.Int64("alert", in.Alert.ID),
		slog.String("task", in.Alert.TaskName), slog.Int("attempt", int(activity.GetInfo(ctx).Attempt)))
	var ch Channel
	for _, c := range d.Channels {
		if c.Name() == in.Channel {
			ch = c
		}
	}
	if ch == nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("channel %q is not configured on this worker", in.Channel), "ChannelNotConfigured", nil)
	}
	if err := d.send(ctx, ch, in.Alert); err != nil {
		// The log gets the whole error; Temporal and the alert's row get
		// what it is safe to show (see deliveryError).
		if IsPermanent(err) {
			log.Error("alert delivery failed for good", slog.Any("error", ErrorDetail(err)))
			return temporal.NewNonRetryableApplicationError(err.Error(), "PermanentDeliveryError", err)
		}
		log.Warn("alert delivery failed; retrying", slog.Any("error", ErrorDetail(err)))
		return err
	}
	log.Info("alert delivered")
	metrics.Alerts.WithLabelValues(in.Channel, "sent").Inc()
	if err := d.Store.RecordDelivery(ctx, in.Alert.ID, in.Channel, store.Delivery{At: time.Now().UTC()}); err != nil {
		// Sent is sent: a retry would send it twice.
		log.Warn("record delivery", slog.Any("error", err))
	}
	return nil
}

// send delivers the alert on ch. A task with a webhook of its own gets
// the alert there, signed with its own secret, both read now from the
// database: the URL as it is at delivery (a fixed URL fixes the retries
// still pending), and the secret never travels in the alert.
func (d *Deliverer) send(ctx context.Context, ch Channel, a alert.Alert) error {
	w, ok := ch.(*Webhook)
	if !ok {
		return ch.Send(ctx, a)
	}
	hook, err := d.Store.TaskWebhook(ctx, a.TaskName)
	if errors.Is(err, store.ErrTaskNotFound) {
		return w.Send(ctx, a)
	}
	if err != nil {
		return &deliveryError{msg: "webhook: could not read the task's webhook", detail: err}
	}
	if hook.URL == "" {
		return w.Send(ctx, a)
	}
	return w.SendToTask(ctx, a, hook)
}

// FailureInput is a channel's final failure for an alert.
type FailureInput struct {
	AlertID int64
	Channel string
	Error   string
}

// RecordFailure records that a channel gave up on an alert.
func (d *Deliverer) RecordFailure(ctx context.Context, in FailureInput) error {
	metrics.Alerts.WithLabelValues(in.Channel, "failed").Inc()
	return d.Store.RecordDelivery(ctx, in.AlertID, in.Channel, store.Delivery{At: time.Now().UTC(), Error: in.Error})
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}
