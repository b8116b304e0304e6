package notify

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/schetask/schetask/alert"
)

// TestNotifyChannelsFailAlone checks Notify's decisions: every channel the
// task allows is tried at once and retried on its own; a permanent failure
// is recorded and given up; a channel outside the task's route is skipped.
func TestNotifyChannelsFailAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		route         alert.Route
		fail          map[string]error // error per attempt below the count
		failTimes     map[string]int
		wantDelivered string
		wantFailed    string
		wantAttempts  map[string]int
	}{
		{name: "all channels deliver", wantDelivered: "email,slack,webhook",
			wantAttempts: map[string]int{"slack": 1, "email": 1, "webhook": 1}},
		{name: "a flaky channel is retried and the others are not held up",
			fail: map[string]error{"slack": errors.New("slack: 503")}, failTimes: map[string]int{"slack": 3},
			wantDelivered: "email,slack,webhook", wantAttempts: map[string]int{"slack": 4, "email": 1, "webhook": 1}},
		{name: "a permanent failure is given up at once and recorded",
			fail:      map[string]error{"email": temporal.NewNonRetryableApplicationError("email: 535 bad credentials", "PermanentDeliveryError", nil)},
			failTimes: map[string]int{"email": 100}, wantDelivered: "slack,webhook", wantFailed: "email",
			wantAttempts: map[string]int{"slack": 1, "email": 1, "webhook": 1}},
		{name: "the task's route limits the channels", route: alert.Route{Channels: []string{"webhook"}},
			wantDelivered: "webhook", wantAttempts: map[string]int{"webhook": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(Workflow)
			var mu sync.Mutex
			attempts := map[string]int{}
			var recorded []string
			env.RegisterActivityWithOptions(func(ctx context.Context) ([]string, error) {
				return []string{"slack", "email", "webhook"}, nil
			}, activity.RegisterOptions{Name: "ChannelNames"})
			env.RegisterActivityWithOptions(func(ctx context.Context, in DeliverInput) error {
				mu.Lock()
				defer mu.Unlock()
				attempts[in.Channel]++
				if in.Alert.ID != 9 {
					return errors.New("wrong alert")
				}
				if attempts[in.Channel] <= tt.failTimes[in.Channel] {
					return tt.fail[in.Channel]
				}
				return nil
			}, activity.RegisterOptions{Name: "Deliver"})
			env.RegisterActivityWithOptions(func(ctx context.Context, in FailureInput) error {
				mu.Lock()
				defer mu.Unlock()
				recorded = append(recorded, in.Channel)
				return nil
			}, activity.RegisterOptions{Name: "RecordFailure"})
			env.ExecuteWorkflow(Workflow, alert.NotifyInput{Alert: alert.Alert{ID: 9, TaskName: "gold", Route: tt.route},
				RetryMaxInterval: 2 * time.Second, GiveUpAfter: time.Hour})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var res WorkflowResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			sort.Strings(res.Delivered)
			var failed []string
			for ch := range res.Failed {
				failed = append(failed, ch)
			}
			sort.Strings(failed)
			if got := strings.Join(res.Delivered, ","); got != tt.wantDelivered {
				t.Errorf("delivered %s, want %s", got, tt.wantDelivered)
			}
			if got := strings.Join(failed, ","); got != tt.wantFailed || strings.Join(recorded, ",") != tt.wantFailed {
				t.Errorf("failed %s, recorded %v, want %s", got, recorded, tt.wantFailed)
			}
			for ch, n := range tt.wantAttempts {
				if attempts[ch] != n {
					t.Errorf("%s tried %d times, want %d", ch, attempts[ch], n)
				}
			}
			if len(attempts) != len(tt.wantAttempts) {
				t.Errorf("channels tried: %v, want %v", attempts, tt.wantAttempts)
			}
		})
	}
}
