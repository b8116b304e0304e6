package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// In hybrid mode a run takes a launcher already inside fresh v1 cgroups:
// its process is born in them with the run's limits, the launcher's
// thread leaves them (the worker is never a member when the run is
// killed), a new spare is made, and a run closed without a start lets
// its launcher go and removes its cgroups. Removing takeSpare from
// Prepare, or the launch from Start, fails this test.
func TestARunStartsFromASpareLauncherInItsCgroups(t *testing.T) {
	t.Parallel()
	if !canSwitchUsers() {
		t.Skip("needs root: the worker's isolation switches users and writes cgroups")
	}
	sb, err := New(Options{User: "schetask-task", Cgroup: CgroupAuto})
	if err != nil {
		t.Fatal(err)
	}
	if sb.Mode() != ModeHybrid {
		t.Skipf("spare launchers are for hybrid hosts; this one is %s", sb.Mode())
	}
	waitSpares := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); len(sb.spares) < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d spare launchers after 10 s, want %d", len(sb.spares), n)
			}
		}
	}
	waitSpares(spareLaunchers)

	run, err := sb.Prepare(1, "", limits(64, 0, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if run.launcher == nil {
		t.Fatal("the run did not take a spare launcher")
	}
	mem := run.v1["memory"]
	if b, err := os.ReadFile(filepath.Join(mem, "memory.limit_in_bytes")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(64<<20) {
		t.Errorf("memory limit in the spare's cgroup: %q %v", b, err)
	}
	cmd := exec.Command("sleep", "600")
	if err := run.Start(cmd); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	own, _ := os.ReadFile("/proc/" + pid + "/cgroup")
	if !strings.Contains(string(own), filepath.Base(mem)) {
		t.Errorf("the process's cgroups %q do not name the run's %s", own, filepath.Base(mem))
	}
	// Only the run's process stays in its v1 cgroups: the launcher's
	// thread has left them.
	for _, d := range run.v1Dirs() {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			b, _ := os.ReadFile(filepath.Join(d, "tasks"))
			if strings.TrimSpace(string(b)) == pid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s holds %q, want only the run's process %s", d, b, pid)
			}
		}
	}
	waitSpares(spareLaunchers)
	run.End(nil)
	_ = cmd.Wait()
	if err := run.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mem); !os.IsNotExist(err) {
		t.Errorf("the run's memory cgroup is still there: %v", err)
	}

	// A run that never starts gives its launcher back and leaves nothing.
	unused, err := sb.Prepare(2, "", limits(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if unused.launcher == nil {
		t.Fatal("the second run did not take a spare launcher")
	}
	dirs := unused.v1Dirs()
	if err := unused.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is still there after Close: %v", d, err)
		}
	}
}
