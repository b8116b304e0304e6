package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/schetask/schetask/notify"
	"github.com/schetask/schetask/tasktype"
)

// receiver is a local webhook that notes when each alert arrived.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	at  map[int64]time.Time
}

func newReceiver() *receiver {
	r := &receiver{at: map[int64]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id, _ := strconv.ParseInt(req.Header.Get(notify.HeaderDelivery), 10, 64)
		r.mu.Lock()
		if _, ok := r.at[id]; !ok {
			r.at[id] = time.Now()
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

func (r *receiver) arrived(id int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[id]
	return t, ok
}

// AlertResult is the JSON the benchmark prints for alert delivery.
type AlertResult struct {
	Alerts      int `json:"alerts"`
	Undelivered int `json:"undelivered"`
	// Latency runs from the failed run's end to the alert's arrival.
	Latency Dist `json:"latency"`
}

// measureAlerts runs a task that always fails, every two seconds, with the
// repeat limit off, and times each failure from the run's end to its
// alert's arrival at the webhook.
func (b bench) measureAlerts(ctx context.Context, rcv *receiver, duration time.Duration) (AlertResult, error) {
	var res AlertResult
	const name = "failing"
	dir := filepath.Join(filepath.Dir(b.taskDir), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("console.error('boom'); process.exit(101);\n"), 0o644); err != nil {
		return res, err
	}
	if err := b.store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: "*/2 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "running a failing task every 2 s for %s, alerting on each failure…\n", duration)
	time.Sleep(duration)
	if err := b.store.SetTaskStatus(ctx, name, tasktype.StatusOff); err != nil {
		return res, err
	}
	var lat []float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		alerts, err := b.store.ListAlerts(ctx, name, 100000)
		if err != nil {
			return res, err
		}
		lat, res.Undelivered = lat[:0], 0
		for _, a := range alerts {
			if a.Kind != "failed" || a.ExecID == nil {
				continue
			}
			run, err := b.store.GetRun(ctx, *a.ExecID)
			if err != nil {
				return res, err
			}
			at, ok := rcv.arrived(a.ID)
			if !ok || run.EndTime == nil {
				res.Undelivered++
				continue
			}
			lat = append(lat, ms(at.Sub(*run.EndTime)))
		}
		if res.Undelivered == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lat) == 0 {
		return res, fmt.Errorf("no alert delivered in %s", duration)
	}
	res.Alerts = len(lat)
	res.Latency = summarize(lat)
	return res, nil
}
