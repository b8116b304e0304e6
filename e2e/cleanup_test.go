package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// taskUser is the account tasks run as.
const taskUser = "schetask-task"

// taskProcesses lists the live processes of the task user that belong to
// this test's tasks: their environment names a folder under its TasksDir.
// Other tests run tasks as the same user at the same time; they are not
// counted.
func taskProcesses(t *testing.T, s *system) []int {
	t.Helper()
	u, err := user.Lookup(taskUser)
	if err != nil {
		t.Fatalf("task user: %v", err)
	}
	uid := u.Uid
	mark := []byte("SCHETASK_TASK_DIR=" + s.env.Config.TasksDir + string(filepath.Separator))
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || !hasUID(status, uid) {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(env, mark) || !pidAlive(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// hasUID reports whether a /proc/<pid>/status has uid as its real uid.
func hasUID(status []byte, uid string) bool {
	for _, line := range strings.Split(string(status), "\n") {
		if f, ok := strings.CutPrefix(line, "Uid:"); ok {
			fields := strings.Fields(f)
			return len(fields) > 0 && fields[0] == uid
		}
	}
	return false
}

// requireNoTaskProcesses waits until no process of this test's tasks is
// left, and names those that stay.
func requireNoTaskProcesses(t *testing.T, s *system, within time.Duration) {
	t.Helper()
	testenv.Eventually(t, within, func() string {
		if pids := taskProcesses(t, s); len(pids) > 0 {
			var what []string
			for _, pid := range pids {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				what = append(what, fmt.Sprintf("%d %q", pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
			}
			return fmt.Sprintf("processes of the task user left behind: %s", strings.Join(what, ", "))
		}
		return ""
	})
}

// readPID reads a pid a task wrote to a file.
func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// leaveBehind starts two children in the entrypoint's own process group
// (no setsid) and exits at once: a sleeper whose pid it publishes, and a
// ticker that would keep writing to the run's output.
const leaveBehind = `#!/bin/sh
sleep 600 &
echo $! > "$SCHETASK_PUBLISH_DIR/gc.pid"
(while :; do echo tick; sleep 0.2; done) &
echo $! > "$SCHETASK_PUBLISH_DIR/ticker.pid"
echo bye
exit 0
`

// TestABackgroundChildDiesWhenItsEntrypointExits: the run ends when its
// entrypoint does; children it left in the background are killed then,
// not when they please, and what they would print afterwards is not part
// of the run's log.
func TestABackgroundChildDiesWhenItsEntrypointExits(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "leaver", map[string]string{"index.sh": leaveBehind})
	s.insertTask(t, &testenv.TaskOpts{Name: "leaver", Rule: never})
	s.runNow(t, "leaver")
	run := s.waitRun(t, "leaver", 30*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
	if run.Status != tasktype.RunSucceeded || run.ExitCode == nil || *run.ExitCode != 0 {
		t.Fatalf("run: %s", describeRuns([]tasktype.Run{run}))
	}
	gc := readPID(t, filepath.Join(s.layout.Abs(run.HistoryPath), "gc.pid"))
	ticker := readPID(t, filepath.Join(s.layout.Abs(run.HistoryPath), "ticker.pid"))
	// Gone by the time the run is recorded as ended: no waiting here.
	for _, pid := range []int{gc, ticker} {
		if pidAlive(pid) {
			t.Errorf("process %d the entrypoint left behind outlived its run", pid)
		}
	}
	requireGone(t, gc, ticker)
	requireNoTaskProcesses(t, s, 5*time.Second)
	log, err := os.ReadFile(s.layout.Abs(run.LogPath))
	if err != nil {
		t.Fatal(err)
	}
	// The ticker prints every 0.2 s: the log closed within about a second
	// of the entrypoint's exit, not when the worker gave up waiting for
	// the output to close.
	if ticks := strings.Count(string(log), "tick\n"); ticks >= 5 || !strings.Contains(string(log), "bye\n") {
		t.Errorf("the log went on after the entrypoint exited (%d ticks):\n%s", ticks, log)
	}
	if d := run.EndTime.Sub(*run.ProcessStartTime); d > 10*time.Second {
		t.Errorf("a task that exits at once took %s to end", d)
	}
}
