package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestAlertNoChannelCarriesIsNotSent: when no configured channel would
// carry a task's alert (none configured, or none of those the task
// allows), the alert is recorded as not sent, with why, and not
// dispatched; the repeat limit still paces it as before.
func TestAlertNoChannelCarriesIsNotSent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc     string
		webhook  bool     // SCHETASK_WEBHOOK_URL set
		channels []string // the task's alert_channels
		want     string   // DeliveryState of the first alert
	}{
		{desc: "nothing configured", want: "not sent: no channel configured"},
		{desc: "the task allows only slack", webhook: true, channels: []string{"slack"},
			want: "not sent: no channel configured among those the task allows (slack; configured: webhook)"},
		{desc: "the webhook carries it", webhook: true, want: "sending"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t)
			ctx := context.Background()
			cfg := env.Config
			if tt.webhook {
				cfg.Webhook = config.WebhookConfig{URL: "https://hooks.example.com/schetask"}
			}
			if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "* * * * *", TimeZone: "UTC",
				TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip,
				AlertChannels: tt.channels}); err != nil {
				t.Fatal(err)
			}
			r, err := alert.NewRaiser(serviceconfig.Alert(cfg), env.Store, env.Temporal, env.Logger)
			if err != nil {
				t.Fatal(err)
			}
			r.WorkflowIDPrefix = "t" + strings.ReplaceAll(t.Name(), "/", "-") + time.Now().Format("150405.000000") + "-"
			carried := strings.HasPrefix(tt.want, "sending")
			for i, want := range []string{tt.want, "held back"} {
				res, err := r.Raise(ctx, alert.Event{Kind: alert.KindFailed, TaskName: "gold",
					Key: "failed:" + string(rune('1'+i)), Title: "run failed"})
				if err != nil {
					t.Fatal(err)
				}
				id := r.WorkflowID(res.AlertID)
				t.Cleanup(func() { _ = env.Temporal.TerminateWorkflow(context.Background(), id, "", "test over") })
				row, err := env.Store.GetAlert(ctx, res.AlertID)
				if err != nil {
					t.Fatal(err)
				}
				if got := alert.DeliveryState(row); got != want {
					t.Errorf("alert %d: %q, want %q", i+1, got, want)
				}
				if i == 0 && (res.Sent != carried || row.Sent != carried || (row.DispatchedAt != nil) != carried) {
					t.Errorf("first alert: raised sent %v, row sent %v, dispatched %v; want all %v",
						res.Sent, row.Sent, row.DispatchedAt != nil, carried)
				}
				if i == 1 && (res.Sent || row.Repeat) {
					t.Errorf("second alert within the repeat limit: sent %v, repeat %v; want held back", res.Sent, row.Repeat)
				}
			}
		})
	}
}
