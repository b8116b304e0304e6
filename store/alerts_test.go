package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

// TestRecordAlertDecidesOncePerKey raises the same event from many
// goroutines at once, as retried activities and several processes may:
// one row, one decision, the state advanced once.
func TestRecordAlertDecidesOncePerKey(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{Name: "gold"})
	var mu sync.Mutex
	decided := 0
	decide := func(st store.AlertState) (store.AlertState, *store.NewAlert) {
		mu.Lock()
		decided++
		mu.Unlock()
		st.Suppressed++
		return st, &store.NewAlert{Kind: "failed", Title: "run #1 failed", Sent: true}
	}
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row, _, err := env.Store.RecordAlert(ctx, "failed:1", "gold", "failure", decide)
			ids[i], errs[i] = row.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] || ids[0] == 0 {
			t.Fatalf("raise %d: id %d, error %v; want id %d", i, ids[i], errs[i], ids[0])
		}
	}
	if decided != 1 {
		t.Errorf("decided %d times, want once", decided)
	}
	rows, err := env.Store.ListAlerts(ctx, "gold", 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("alerts: %d rows, %v; want 1", len(rows), err)
	}
	var suppressed int
	var warned bool
	if err := env.Store.Pool().QueryRow(ctx, `SELECT s.suppressed, t.last_warning_time IS NOT NULL
		FROM t_task_alert_state s JOIN t_task_list t USING (task_name)`).Scan(&suppressed, &warned); err != nil {
		t.Fatal(err)
	}
	if suppressed != 1 || !warned {
		t.Errorf("state suppressed %d, last_warning_time set %v; want 1 and set", suppressed, warned)
	}
}
