package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A server killed with kill -9 is started again, with what it left in its
// process group killed first (Postgres's backends would keep the new
// postmaster from starting); the log and the reported state say so.
func TestSupervisedServerIsRestartedAfterKill9(t *testing.T) {
	t.Parallel()
	leftoverFile := filepath.Join(t.TempDir(), "leftover")
	s := newSupervised(t, "sleep 300 & echo $! > "+leftoverFile+"; exec sleep 301",
		SuperviseOptions{FirstDelay: 10 * time.Millisecond})
	first := s.pid()
	leftover := waitForPID(t, leftoverFile)

	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() string {
		if s.launches.Load() < 2 || s.pid() == first {
			return "not restarted"
		}
		return ""
	})
	if processRuns(leftover) {
		t.Errorf("the dead server's leftover process %d still runs", leftover)
	}
	log := s.log.String()
	for _, want := range []string{"sleeper exited unexpectedly (signal: killed); restarting (1/5)", "sleeper back"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	states := s.states()
	if len(states) != 3 || !strings.HasPrefix(states[0], "up: up since") ||
		!strings.HasPrefix(states[1], "down: restarting since") || !strings.Contains(states[1], "signal: killed (restart 1/5)") ||
		!strings.Contains(states[2], "restarts: 1, the last after signal: killed") || !strings.HasPrefix(states[2], "up: ") {
		t.Errorf("reported states %q, want up, restarting after signal: killed, up with one restart", states)
	}
}

// A server that dies more often than MaxRestarts within the window is left
// down, and Supervise says which, why, and where its log is.
func TestSupervisedServerThatKeepsDyingIsLeftDown(t *testing.T) {
	t.Parallel()
	s := newSupervised(t, "exit 3", SuperviseOptions{MaxRestarts: 2, FirstDelay: 10 * time.Millisecond})
	var err error
	select {
	case err = <-s.result:
	case <-time.After(10 * time.Second):
		t.Fatal("Supervise did not give up on a server that exits at once")
	}
	if err == nil || !strings.Contains(err.Error(), "sleeper keeps dying (3 times within 1m0s, last: exit status 3)") ||
		!strings.Contains(err.Error(), "see "+s.logFile) {
		t.Errorf("Supervise = %v, want it to name the server, its deaths and its log", err)
	}
	if n := s.launches.Load(); n != 3 {
		t.Errorf("%d starts, want the first and 2 restarts", n)
	}
	if states := s.states(); !strings.HasPrefix(states[len(states)-1], "down: down since") {
		t.Errorf("last reported state %q, want down", states[len(states)-1])
	}
}

// Stop, or the end of the context, ends the watch without a restart: a
// Ctrl-C must not bring the servers back while they are being stopped.
func TestSupervisedServerStaysStoppedAfterStop(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		stop func(t *testing.T, s *supervised)
	}{
		{desc: "Stop", stop: func(t *testing.T, s *supervised) {
			if err := s.Stop(); err != nil {
				t.Error(err)
			}
		}},
		{desc: "context ended, then Stop", stop: func(t *testing.T, s *supervised) {
			s.cancel()
			if err := s.Stop(); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := newSupervised(t, "exec sleep 300", SuperviseOptions{FirstDelay: 10 * time.Millisecond})
			tt.stop(t, s)
			select {
			case err := <-s.result:
				if err != nil {
					t.Errorf("Supervise = %v after a stop", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Supervise did not return after a stop")
			}
			if n := s.launches.Load(); n != 1 || strings.Contains(s.log.String(), "restarting") {
				t.Errorf("%d starts after a stop, want 1; log:\n%s", n, s.log)
			}
		})
	}
}

// The dev stack's Postgres killed with kill -9, while a client is
// connected, is back within 10 s on its data.
func TestSupervisedPostgresIsBackAfterKill9WithItsData(t *testing.T) {
	t.Parallel()
	opts, log := passwordCluster(t)
	// As schetask dev runs it: without synchronous commits, a commit may
	// still be in the memory of the processes kill -9 ends.
	opts.Durable = true
	pg := startPostgres(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- pg.Supervise(ctx, SuperviseOptions{Logger: opts.Logger}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-result; err != nil {
			t.Errorf("Supervise: %v", err)
		}
	})
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before the kill')`); err != nil {
		t.Fatal(err)
	}
	cmd, _ := pg.current()

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, 10*time.Second, func() string {
		c, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			return err.Error()
		}
		defer c.Close(context.Background())
		var v string
		if err := c.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil {
			return err.Error()
		}
		if v != "before the kill" {
			return "kept holds " + v
		}
		if !strings.Contains(log.String(), "postgres back") {
			return "the log lacks postgres back:\n" + log.String()
		}
		return ""
	})
	t.Logf("postgres back %s after kill -9", time.Since(killed).Round(time.Millisecond))
}

// supervised is a shell script run as a supervised server.
type supervised struct {
	*child
	launches atomic.Int32
	log      *lockedBuffer
	result   chan error
	cancel   context.CancelFunc

	mu       sync.Mutex
	reported []string
	// pids are the processes started, whose groups the test's end kills.
	pids []int
}

// newSupervised starts script as a server and supervises it until the
// test ends.
func newSupervised(t *testing.T, script string, opts SuperviseOptions) *supervised {
	t.Helper()
	s := &supervised{log: &lockedBuffer{}, result: make(chan error, 1)}
	s.child = &child{name: "sleeper", logFile: filepath.Join(t.TempDir(), "sleeper.log"), stopSignal: syscall.SIGTERM, wait: 5 * time.Second}
	s.launch = func(context.Context) error {
		s.launches.Add(1)
		cmd := exec.Command("sh", "-c", script)
		if err := s.start(cmd, nil); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pids = append(s.pids, cmd.Process.Pid)
		return nil
	}
	if err := s.launch(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(s.log, nil))
	opts.Report = func(state string, up bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.reported = append(s.reported, map[bool]string{true: "up: ", false: "down: "}[up]+state)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.result <- s.Supervise(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		_ = s.Stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, pid := range s.pids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	return s
}

// pid returns the current process's id.
func (s *supervised) pid() int {
	cmd, _ := s.current()
	return cmd.Process.Pid
}

// states returns the states reported so far, each after "up: " or "down: ".
func (s *supervised) states() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reported...)
}

// waitForPID waits for file to hold a process id and returns it.
func waitForPID(t *testing.T, file string) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			return err.Error()
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return err.Error()
		}
		return ""
	})
	return pid
}

// processRuns reports whether pid is a process that is not a zombie.
func processRuns(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// waitFor calls cond until it returns "" or timeout passes, then fails
// with what it last said.
func waitFor(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
