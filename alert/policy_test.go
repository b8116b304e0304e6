package alert

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// TestDecide plays sequences of outcomes through the repeat limit and
// checks what goes out. Each step is "<second>:<kind>"; the expected
// output lists what was sent as "<kind>" plus "+repeat" and "(N)" for the
// suppressed count.
func TestDecide(t *testing.T) {
	const every = 10 * time.Second
	tests := []struct {
		name  string
		steps string
		want  string
	}{
		{"first failure is sent", "0:failed", "failed"},
		{"success of a healthy task says nothing", "0:recovered 1:recovered", ""},
		{"failing every second: one alert, one still failing, one recovery",
			"0:failed 1:failed 2:failed 9:failed 10:failed 11:failed 12:recovered 13:recovered",
			"failed failed+repeat(3) recovered(1)"},
		{"a timeout then a failure is one trouble", "0:timeout 1:failed 2:recovered", "timeout recovered(1)"},
		{"alternating fail and success sends two messages per window",
			"0:failed 1:recovered 2:failed 3:recovered 4:failed 5:recovered 11:failed 12:recovered",
			"failed recovered failed(4) recovered"},
		{"repeat after the window without suppressions", "0:failed 10:failed", "failed failed+repeat"},
		{"deletions are never held back", "0:deleted 1:deleted", "deleted deleted"},
		{"missed runs are limited like failures", "0:missed 1:missed 10:missed", "missed missed+repeat(1)"},
		{"custom alerts are limited too", "0:custom 5:custom 6:custom 20:custom", "custom custom+repeat(2)"},
		{"deadlines have a limit of their own, not the failures'", "0:failed 1:deadline 2:deadline 3:failed 12:deadline",
			"failed deadline deadline+repeat(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := map[Topic]State{}
			t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			var sent []string
			for _, step := range strings.Fields(tt.steps) {
				var sec int
				var kind string
				if _, err := fmt.Sscanf(strings.Replace(step, ":", " ", 1), "%d %s", &sec, &kind); err != nil {
					t.Fatalf("bad step %q: %v", step, err)
				}
				k := Kind(kind)
				st, d := Decide(states[k.Topic()], k, t0.Add(time.Duration(sec)*time.Second), every)
				states[k.Topic()] = st
				if d.Send && !d.Record {
					t.Fatalf("step %s: sent but not recorded", step)
				}
				if !d.Send {
					continue
				}
				s := kind
				if d.Repeat {
					s += "+repeat"
				}
				if d.Suppressed > 0 {
					s += fmt.Sprintf("(%d)", d.Suppressed)
				}
				sent = append(sent, s)
			}
			if got := strings.Join(sent, " "); got != tt.want {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	got := Excerpt([]string{"one", "twöö-long", "three", "four"}, 2, 5)
	want := []string{"one", "twö…", "… 2 more lines in the log"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Excerpt = %q, want %q", got, want)
	}
}

func TestRunEvent(t *testing.T) {
	code := func(n int) *int { return &n }
	tests := []struct {
		status    tasktype.RunStatus
		exit      *int
		attempt   int
		wantKind  Kind
		wantTitle string
	}{
		{tasktype.RunSucceeded, code(0), 1, KindRecovered, "recovered: run #7 succeeded"},
		{tasktype.RunFailed, code(101), 1, KindFailed, "run #7 failed with exit code 101"},
		{tasktype.RunFailed, code(tasktype.ExitNoEntrypoint), 1, KindFailed, "run #7 failed with exit code 90"},
		{tasktype.RunLost, code(tasktype.ExitLost), 1, KindLost, "run #7 was lost with its worker"},
		{tasktype.RunTimedOut, code(tasktype.ExitTimedOut), 1, KindTimeout, "run #7 timed out"},
		{tasktype.RunKilled, code(tasktype.ExitKilled), 1, "", ""},
		{tasktype.RunRunning, nil, 1, "", ""},
		// The last attempt of a retried fire says how many were made.
		{tasktype.RunFailed, code(101), 3, KindFailed, "run #7 failed with exit code 101 after 3 attempts"},
		{tasktype.RunTimedOut, code(tasktype.ExitTimedOut), 2, KindTimeout, "run #7 timed out after 2 attempts"},
		{tasktype.RunSucceeded, code(0), 2, KindRecovered, "recovered: run #7 succeeded"},
	}
	for _, tt := range tests {
		ev, ok := RunEvent(tasktype.Run{ID: 7, TaskName: "gold", Status: tt.status, ExitCode: tt.exit, StderrHead: []string{"boom"}, Attempt: tt.attempt})
		if ok != (tt.wantKind != "") || ev.Kind != tt.wantKind || ev.Title != tt.wantTitle {
			t.Errorf("%s: got %v %q %q, want %q %q", tt.status, ok, ev.Kind, ev.Title, tt.wantKind, tt.wantTitle)
		}
		if ok && ev.Key != string(tt.wantKind)+":7" {
			t.Errorf("%s: key %q", tt.status, ev.Key)
		}
	}
}
