package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/schetask/schetask/internal/testenv"
)

// Under `make run`, a Temporal or Postgres that dies is mended by the dev
// stack: kill -9 of the Temporal dev server, then of the postmaster, and
// each is back within 10 s on its data (the schedule in temporal.db, the
// runs in Postgres); /healthz answers 503 while it is down and says it
// was restarted once it is back, the log says so too, and the fires after
// it run on time. Ctrl-C still stops everything.
func TestDevStackRestartsAKilledTemporalAndPostgres(t *testing.T) {
	t.Parallel()
	stack := newDevStack(t)
	dev := stack.start()
	stack.insertGold("*/2 * * * * *")
	testenv.Eventually(t, 30*time.Second, func() string {
		if n := stack.countRuns(); n < 1 {
			return fmt.Sprintf("%d succeeded runs", n)
		}
		return ""
	})
	if status, body := stack.health(); status != 200 || !strings.Contains(body, "postgres: up since") ||
		!strings.Contains(body, "temporal: up since") {
		t.Errorf("/healthz = %d %q, want ok with postgres and temporal up", status, body)
	}

	for _, victim := range []struct {
		name string
		pid  func() int
	}{
		{name: "temporal", pid: stack.temporalPID},
		{name: "postgres", pid: stack.postmasterPID},
	} {
		before := stack.countRuns()
		if err := syscall.Kill(victim.pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		testenv.Eventually(t, 10*time.Second, func() string {
			if status, body := stack.health(); status != 503 || !strings.Contains(body, victim.name+": restarting since") {
				return fmt.Sprintf("/healthz = %d %q, want 503 with %s restarting", status, body, victim.name)
			}
			return ""
		})
		testenv.Eventually(t, time.Until(killed.Add(10*time.Second)), func() string {
			if status, body := stack.health(); status != 200 ||
				!strings.Contains(body, victim.name+": up since") || !strings.Contains(body, "restarts: 1, the last after signal: killed") {
				return fmt.Sprintf("/healthz = %d %q, want ok with %s back after one restart", status, body, victim.name)
			}
			return ""
		})
		back := time.Now()
		if n := stack.countRuns(); n < before {
			t.Errorf("%s: %d succeeded runs after the restart, %d before", victim.name, n, before)
		}
		lateness := stack.requireOnTimeFireAfter(back, 30*time.Second)
		t.Logf("%s back %s after kill -9; a fire after it ran %s late", victim.name,
			back.Sub(killed).Round(time.Millisecond), lateness.Round(time.Millisecond))
		for _, want := range []string{victim.name + " exited unexpectedly (signal: killed); restarting (1/5)", victim.name + " back"} {
			if !strings.Contains(stack.output.String(), want) {
				t.Errorf("the output lacks %q", want)
			}
		}
	}
	stack.stop(dev)
}

// temporalPID returns the process id of the dev stack's Temporal server,
// the one process started on its file.
func (s *devStack) temporalPID() int {
	s.t.Helper()
	pids, err := processesUsing(filepath.Join(s.data, "temporal.db"))
	if err != nil || len(pids) != 1 {
		s.t.Fatalf("processes on temporal.db: %v %v, want one", pids, err)
	}
	return pids[0]
}

// postmasterPID returns the process id of the dev stack's Postgres, from
// the first line of its postmaster.pid.
func (s *devStack) postmasterPID() int {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data, "postgres", "postmaster.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// requireOnTimeFireAfter waits up to timeout for a succeeded run of a fire
// scheduled after from that started within 2 s of its time, and returns
// how late the first fire scheduled after from started.
func (s *devStack) requireOnTimeFireAfter(from time.Time, timeout time.Duration) time.Duration {
	s.t.Helper()
	var firstLate time.Duration
	testenv.Eventually(s.t, timeout, func() string {
		conn, err := pgx.Connect(context.Background(), s.dbURL())
		if err != nil {
			return err.Error()
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), `SELECT scheduled_time, start_time, status FROM t_task_exec_list
			WHERE scheduled_time > $1 ORDER BY scheduled_time`, from)
		if err != nil {
			return err.Error()
		}
		defer rows.Close()
		var seen []string
		for i := 0; rows.Next(); i++ {
			var scheduled, started time.Time
			var status string
			if err := rows.Scan(&scheduled, &started, &status); err != nil {
				return err.Error()
			}
			late := started.Sub(scheduled)
			if i == 0 {
				firstLate = late
			}
			if status == "succeeded" && late < 2*time.Second {
				return ""
			}
			seen = append(seen, fmt.Sprintf("%s %s late", status, late.Round(time.Millisecond)))
		}
		if err := rows.Err(); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("no on-time succeeded run of a fire after %s; runs: %v", from.Format(time.TimeOnly), seen)
	})
	return firstLate
}
