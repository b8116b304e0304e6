package tasksync

import (
	"testing"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// TestTheScheduleCarriesTheRetryPolicyAndWaitsForEveryAttempt: a task's
// retry policy goes into the schedule's workflow input, and the
// workflow's execution timeout covers every attempt, the waits between
// them and the hooks; a task without retries keeps its input as it was
// (no Retry), so its schedule is not rewritten by the upgrade.
func TestTheScheduleCarriesTheRetryPolicyAndWaitsForEveryAttempt(t *testing.T) {
	s := &Syncer{cfg: Config{KillGrace: 10 * time.Second, MaxRunDuration: time.Hour}}
	task := tasktype.Task{Name: "gold", Rule: "0 0 3 * * *", TimeZone: "UTC", Timeout: time.Minute, Overlap: tasktype.OverlapSkip,
		Retry: tasktype.Retry{Max: 2, Delay: 10 * time.Second, Backoff: 2, MaxDelay: time.Hour}}
	d, err := s.desiredSchedule(task)
	if err != nil {
		t.Fatal(err)
	}
	if d.input.Retry == nil || *d.input.Retry != task.Retry {
		t.Errorf("input retry %+v, want %+v", d.input.Retry, task.Retry)
	}
	// Three attempts of 60 s + 10 s grace, waits of 10 s and 20 s, 5 min for the hooks.
	if want := 3*70*time.Second + 30*time.Second + 65*time.Minute; d.timeout != want {
		t.Errorf("execution timeout %s, want %s", d.timeout, want)
	}

	task.Retry = tasktype.Retry{}.WithDefaults()
	d, err = s.desiredSchedule(task)
	if err != nil {
		t.Fatal(err)
	}
	if d.input.Retry != nil || d.timeout != 70*time.Second+65*time.Minute {
		t.Errorf("without retries: input retry %+v, timeout %s; want none and 6m10s", d.input.Retry, d.timeout)
	}
}
