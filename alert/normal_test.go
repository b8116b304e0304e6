package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// TestEndedEventsCompareARunWithTheUsualOnes: a succeeded run far faster
// than the task's usual runs is "fast", one that published nothing or
// logged far less than they did "did nothing"; not before five runs, not
// when the task does not learn, not for runs that did not succeed.
func TestEndedEventsCompareARunWithTheUsualOnes(t *testing.T) {
	t.Parallel()
	// Usual: 30 runs of 2 m 10 s – 2 m 45 s, median 2 m 30 s, 20 of them
	// publishing, a median log of 40,000 bytes.
	usual := store.RunNormal{Runs: 30, P5: 130 * time.Second, Median: 150 * time.Second, P95: 165 * time.Second,
		Published: 20, MedianLogBytes: 40000}
	learning := tasktype.Task{Name: "gold", LearnNormal: true}
	run := func(took time.Duration, files int, logBytes int64, status tasktype.RunStatus) tasktype.Run {
		start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		end := start.Add(took)
		r := tasktype.Run{ID: 7, TaskName: "gold", Status: status, ProcessStartTime: &start, EndTime: &end, LogBytes: logBytes}
		for i := range files {
			r.PublishedFiles = append(r.PublishedFiles, fmt.Sprint("f", i))
		}
		return r
	}
	tests := []struct {
		name string
		task tasktype.Task
		run  tasktype.Run
		n    store.RunNormal
		want []string // kind: title
	}{
		{name: "a usual run", task: learning, run: run(140*time.Second, 1, 39000, tasktype.RunSucceeded), n: usual},
		{name: "far faster", task: learning, run: run(14*time.Second, 1, 39000, tasktype.RunSucceeded), n: usual,
			want: []string{"fast: run #7 took 14 s; usually 2 m 10 s – 2 m 45 s"}},
		{name: "a tenth of the median is not fast yet", task: learning, run: run(15*time.Second, 1, 39000, tasktype.RunSucceeded), n: usual},
		{name: "published nothing", task: learning, run: run(140*time.Second, 0, 39000, tasktype.RunSucceeded), n: usual,
			want: []string{"did_nothing: run #7 succeeded but published nothing; usually publishes (20 of the last 30 runs did)"}},
		{name: "published nothing, as most runs do", task: learning, run: run(140*time.Second, 0, 39000, tasktype.RunSucceeded),
			n: store.RunNormal{Runs: 30, Median: 150 * time.Second, Published: 15, MedianLogBytes: 40000}},
		{name: "logged far less", task: learning, run: run(140*time.Second, 1, 3999, tasktype.RunSucceeded), n: usual,
			want: []string{"did_nothing: run #7 succeeded but logged 3999 bytes; usually 40000 (median of the last 30 runs)"}},
		{name: "a task that never logs", task: learning, run: run(140*time.Second, 1, 0, tasktype.RunSucceeded),
			n: store.RunNormal{Runs: 30, Median: 150 * time.Second, Published: 30}},
		{name: "fewer than five runs teach nothing", task: learning, run: run(time.Second, 0, 0, tasktype.RunSucceeded),
			n: store.RunNormal{Runs: 4, Median: 150 * time.Second, Published: 4, MedianLogBytes: 40000}},
		{name: "learn_normal off", task: tasktype.Task{Name: "gold"}, run: run(time.Second, 0, 0, tasktype.RunSucceeded), n: usual},
		{name: "a failed run is the failed alert's business", task: learning, run: run(time.Second, 0, 0, tasktype.RunFailed), n: usual},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, ev := range alert.EndedEvents(tt.task, tt.run, tt.n) {
				got = append(got, fmt.Sprintf("%s: %s", ev.Kind, ev.Title))
				if ev.Key == "" || ev.RunID != 7 || ev.Kind.Topic() != alert.TopicNormal {
					t.Errorf("event %+v: want a key, the run and the normal topic", ev)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("EndedEvents:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}
