package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/monitor"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// TestDeadlineNamesTheUpstreamThatHoldsItUp is acceptance 5 of #17, on a
// real chain: report runs after extract, which fires every 30 s and
// sleeps 20 s; report's deadline is 10 s after the nominal time, so when
// it passes report still waits, and one deadline alert says so, naming
// extract and its running run. summary runs after quick, which sleeps
// 1 s, with the same deadline: on time, no alert.
func TestDeadlineNamesTheUpstreamThatHoldsItUp(t *testing.T) {
	s := startSystem(t, true, func(env *testenv.Env) { env.Config.MonitorInterval = 500 * time.Millisecond })
	s.writeTask(t, "extract", map[string]string{"index.sh": "sleep 20\n"})
	s.writeTask(t, "quick", map[string]string{"index.sh": "sleep 1\n"})
	for _, name := range []string{"report", "summary"} {
		s.writeTask(t, name, map[string]string{"index.sh": "echo done\n"})
	}
	// Every 30 s: the period is 30 s, so a logical date is its fire time.
	const every30s = "*/30 * * * * *"
	s.insertTask(t, &testenv.TaskOpts{Name: "extract", Rule: every30s})
	s.insertTask(t, &testenv.TaskOpts{Name: "quick", Rule: every30s})
	for after, name := range map[string]string{"extract": "report", "quick": "summary"} {
		s.insertTask(t, &testenv.TaskOpts{Name: name})
		s.exec(t, `UPDATE t_task_list SET rule = '', after = $2, deadline = '+10s' WHERE task_name = $1`, name, []string{after})
	}
	// The monitor checks fires from a few seconds after a task's last
	// change (monitor.Config.Settle): take the first fire after that.
	checkedFrom := time.Now().Add(monitor.SettleDefault + time.Second)
	up := s.waitRun(t, "extract", 45*time.Second, "fired after the tasks were set up", func(r tasktype.Run) bool {
		return !r.ScheduledTime.Before(checkedFrom)
	})
	ld := up.ScheduledTime
	if up.LogicalDate != nil && !up.LogicalDate.Equal(ld) {
		t.Fatalf("extract's run #%d: logical date %s, want its fire %s", up.ID, up.LogicalDate, ld)
	}
	key := fmt.Sprintf("deadline:report:%d", ld.Unix())

	var alerted store.AlertRow
	testenv.Eventually(t, 20*time.Second, func() string {
		for _, a := range s.alertRows(t, "report") {
			if a.DedupeKey == key {
				alerted = a
				return ""
			}
		}
		return fmt.Sprintf("no deadline alert of report for %s; its alerts: %q", ld.UTC().Format(time.RFC3339), s.alertsOf(t, "report", alert.Kinds...))
	})
	wantTitle := fmt.Sprintf("waiting for upstream extract (running: run #%d since ", up.ID)
	if alerted.Kind != string(alert.KindDeadline) || !strings.Contains(alerted.Title, wantTitle) {
		t.Errorf("report's deadline alert: %s %q, want a deadline alert saying %q", alerted.Kind, alerted.Title, wantTitle)
	}
	if alerted.CreatedAt.Before(ld.Add(10 * time.Second)) {
		t.Errorf("report's deadline alert was raised at %s, before the deadline %s", alerted.CreatedAt, ld.Add(10*time.Second))
	}

	// The chain still runs report for the date, once extract ends; the
	// alert stays the only one of its date.
	s.waitRun(t, "report", 30*time.Second, "ran for extract's date", func(r tasktype.Run) bool {
		return r.LogicalDate != nil && r.LogicalDate.Equal(ld) && r.Status == tasktype.RunSucceeded
	})
	// On time: summary ran for the same date before its deadline, and the
	// monitor checked that deadline (report's shows it has) a few times.
	s.waitRun(t, "summary", 5*time.Second, "succeeded for the date", func(r tasktype.Run) bool {
		return r.LogicalDate != nil && r.LogicalDate.Equal(ld) && r.Status == tasktype.RunSucceeded
	})
	if got := s.alertsOf(t, "summary", alert.KindDeadline); len(got) != 0 {
		t.Errorf("summary ran on time and got deadline alerts %q", got)
	}
	n := 0
	for _, a := range s.alertRows(t, "report") {
		if a.DedupeKey == key {
			n++
		}
		if a.Kind == string(alert.KindDeadline) && !strings.Contains(a.Title, "upstream extract") {
			t.Errorf("report's deadline alert %q does not name extract", a.Title)
		}
	}
	if n != 1 {
		t.Errorf("%d deadline alerts of report for %s, want 1", n, ld.UTC().Format(time.RFC3339))
	}
}
