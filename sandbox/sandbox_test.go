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

func TestNewRefusesATaskUserThatDoesNotExist(t *testing.T) {
	t.Parallel()
	_, err := New(Options{User: "no-such-user-x", Cgroup: CgroupOff, canSwitch: func() bool { return true }})
	if err == nil || !strings.Contains(err.Error(), `"no-such-user-x" does not exist`) {
		t.Fatalf("New with a missing user: %v", err)
	}
	_, err = New(Options{User: "schetask-task", Users: []string{"root"}, Cgroup: CgroupOff, canSwitch: func() bool { return true }})
	if err == nil || !strings.Contains(err.Error(), "is root") {
		t.Fatalf("New allowing root: %v", err)
	}
}

// TestARunHoldsItsWholeTreeAndItsLimits starts a process that escapes its
// group with setsid, on this host's real cgroups, as the task user.
func TestARunHoldsItsWholeTreeAndItsLimits(t *testing.T) {
	t.Parallel()
	if !canSwitchUsers() {
		t.Skip("needs root: the worker's isolation switches users and writes cgroups")
	}
	sb, err := New(Options{User: "schetask-task", Cgroup: CgroupAuto})
	if err != nil {
		t.Fatal(err)
	}
	if sb.Mode() == ModePgroup {
		t.Fatalf("no writable cgroup here: %s", sb.Describe())
	}
	if _, err := sb.Prepare(1, "nobody-else", limits(0, 0, 0)); err == nil || !strings.Contains(err.Error(), "not a user this worker allows") {
		t.Errorf("run_as outside the allowed users: %v", err)
	}
	run, err := sb.Prepare(2, "", limits(64, 0.5, 64))
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	tmp, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	_ = os.Chmod(tmp, 0o777) // the task user writes here
	out := filepath.Join(tmp, "pid")
	cmd := exec.Command("sh", "-c", "setsid sleep 600 & echo $! > "+out+"; exec sleep 600")
	if err := run.Start(cmd); err != nil {
		t.Fatal(err)
	}
	var escaped int
	deadline := time.Now().Add(5 * time.Second)
	for escaped == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(out)
		escaped, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if escaped == 0 {
		t.Fatal("the child never wrote its pid")
	}
	if !run.Contains(cmd.Process.Pid) || !run.Contains(escaped) || run.Contains(os.Getpid()) {
		t.Errorf("Contains: main %v, setsid child %v, the test itself %v", run.Contains(cmd.Process.Pid), run.Contains(escaped), run.Contains(os.Getpid()))
	}
	// A task may call its helper before Start has returned (the start
	// thread is still leaving the run's v1 cgroups): membership of the
	// cgroup is enough.
	started := run.pid.Swap(0)
	if !run.Contains(escaped) {
		t.Error("Contains must not need Start to have returned when the run has a cgroup")
	}
	run.pid.Store(started)
	st, _ := os.ReadFile("/proc/" + strconv.Itoa(escaped) + "/status")
	if !strings.Contains(string(st), "Uid:\t"+strconv.Itoa(int(run.Account().UID))) {
		t.Errorf("the child does not run as %s:\n%s", run.Account().Name, st)
	}
	for _, d := range run.Cgroups() {
		if f := filepath.Join(d, "memory.limit_in_bytes"); fileExists(f) {
			if b, _ := os.ReadFile(f); strings.TrimSpace(string(b)) != strconv.Itoa(64<<20) {
				t.Errorf("%s = %s", f, b)
			}
		}
	}
	if err := run.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	res := run.End(cmd.ProcessState)
	if alive(escaped) {
		t.Errorf("the setsid child %d outlived the kill", escaped)
	}
	if res.Usage.CPUUserSeconds == nil || res.Usage.PeakMemoryBytes == nil {
		t.Errorf("no usage: %+v", res.Usage)
	}
	dirs := run.Cgroups()
	if err := run.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if fileExists(d) {
			t.Errorf("cgroup %s left behind", d)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}
