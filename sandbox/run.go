package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schetask/schetask/proc"
	"github.com/schetask/schetask/tasktype"
)

// Run is one run's boundary, from Prepare to Close.
type Run struct {
	sb        *Sandbox
	account   *Account
	limits    tasktype.Limits
	v2        string            // the run's v2 cgroup folder ("" none)
	v1        map[string]string // controller → the run's v1 cgroup folder
	isolation string
	// pid is the main process's, once started (the helper socket's
	// goroutines read it while Start may still be finishing).
	pid atomic.Int64
	err error // the first limit that could not be written
}

func (r *Run) setErr(err error) {
	if r.err == nil && err != nil {
		r.err = fmt.Errorf("set the run's limits: %w", err)
	}
}

// Isolation says how the run is contained, for its row: the mode, the
// user ("user=<name>" or "same-user") and any limit the host cannot
// enforce ("unenforced=memory,cpu").
func (r *Run) Isolation() string { return r.isolation }

// Account is the user the run's process runs as; nil when it runs as the
// worker's own user.
func (r *Run) Account() *Account { return r.account }

// Limits are the run's limits.
func (r *Run) Limits() tasktype.Limits { return r.limits }

// v1Dirs are the run's v1 cgroup folders, each once (controllers
// mounted together share one).
func (r *Run) v1Dirs() []string {
	var out []string
	for _, c := range v1Controllers {
		if d := r.v1[c]; d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Cgroups are the run's cgroup folders, for the orphan reaper.
func (r *Run) Cgroups() []string {
	var out []string
	if r.v2 != "" {
		out = append(out, r.v2)
	}
	return append(out, r.v1Dirs()...)
}

// Start starts cmd inside the run: in its own process group, as the run's
// user, and born in the run's cgroups, so that not even its first
// instruction runs outside them.
func (r *Run) Start(cmd *exec.Cmd) error {
	if r.err != nil {
		return r.err
	}
	attr := cmd.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
		cmd.SysProcAttr = attr
	}
	attr.Setpgid = true
	if a := r.account; a != nil {
		attr.Credential = &syscall.Credential{Uid: a.UID, Gid: a.GID, Groups: a.Groups}
	}
	lateJoin := r.v2 != "" && r.sb.noClone3
	if r.v2 != "" && !lateJoin {
		fd, err := syscall.Open(r.v2, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the run's cgroup: %w", err)
		}
		defer syscall.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	var err error
	if len(r.v1) > 0 {
		err = startInV1(cmd, r.v1Dirs())
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return err
	}
	pid := cmd.Process.Pid
	r.pid.Store(int64(pid))
	if lateJoin {
		// clone3 is refused (Docker's default seccomp profile): the
		// process joins its cgroup right after it started.
		if err := writeFile(filepath.Join(r.v2, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			_ = proc.SignalGroup(pid, syscall.SIGKILL)
			return fmt.Errorf("join the run's cgroup: %w", err)
		}
	}
	return nil
}

// clone3Works reports whether a child can be born into a cgroup
// (clone3 with CLONE_INTO_CGROUP); Docker's default seccomp profile
// answers ENOSYS.
func clone3Works(dir string) bool {
	probe := filepath.Join(dir, "probe-"+randomSuffix())
	if err := os.Mkdir(probe, 0o755); err != nil {
		return false
	}
	defer func() { _ = removeDir(probe) }()
	fd, err := syscall.Open(probe, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	self, err := os.Executable()
	if err != nil {
		self = "/bin/true"
	}
	cmd := exec.Command(self, "-h")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := cmd.Start(); err != nil {
		return !errors.Is(err, syscall.ENOSYS)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return true
}

// startInV1 starts cmd from an OS thread that first joins the run's v1
// cgroups (v1 places threads, and a child is born in its parent thread's
// cgroups), then goes back to the worker's own. If it cannot go back, the
// goroutine ends locked to it and the runtime retires the thread.
//
// The thread moves itself by writing "0" (the calling thread) to each
// `tasks` file, never its tid: for a thread moving itself the kernel skips
// the host-wide cgroup_threadgroup_rwsem (cgroup_procs_write_start:
// "threadgroup_locked = pid || threadgroup"), whose write side waits for
// an RCU grace period (10–18 ms seen on a busy host) unless cgroup2 is
// mounted favordynmods.
func startInV1(cmd *exec.Cmd, dirs []string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		const tid = selfThread
		var joined []string
		back := func() {
			for _, d := range joined {
				// The worker's own cgroup holds the runs' folder.
				if err := writeFile(filepath.Join(filepath.Dir(filepath.Dir(d)), "tasks"), tid); err != nil {
					return
				}
			}
			runtime.UnlockOSThread()
		}
		for _, d := range dirs {
			if err := writeFile(filepath.Join(d, "tasks"), tid); err != nil {
				back()
				errc <- fmt.Errorf("join the run's cgroup: %w", err)
				return
			}
			joined = append(joined, d)
		}
		err := cmd.Start()
		back()
		errc <- err
	}()
	return <-errc
}

// selfThread, written to a v1 `tasks` file, moves the writing thread.
const selfThread = "0"

// isV2 reports whether dir is a cgroup v2 folder (it has cgroup.kill or
// cgroup.type, which v1 folders never have).
func isV2(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.type"))
	return err == nil
}

// Contains reports whether process pid belongs to the run: it is in the
// run's cgroup or, without one, in its process group.
func (r *Run) Contains(pid int) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	// With a cgroup, membership is the answer, even before Start has
	// returned (a task may call its helper before the worker's start
	// thread is back from the run's v1 cgroups).
	dir := r.v2
	if dir == "" {
		dir = r.v1["pids"]
		if dir == "" {
			dir = r.v1["freezer"]
		}
	}
	if dir != "" {
		members, err := procs(dir)
		return err == nil && slices.Contains(members, pid)
	}
	leader := int(r.pid.Load())
	if leader == 0 {
		return false
	}
	st, err := proc.ReadStat(pid)
	return err == nil && st.PGID == leader
}

// memberDir is the cgroup folder that lists the run's processes.
func (r *Run) memberDir() string {
	if r.v2 != "" {
		return r.v2
	}
	for _, c := range []string{"pids", "freezer", "memory", "cpu"} {
		if d := r.v1[c]; d != "" {
			return d
		}
	}
	return ""
}

// Signal sends sig to every process of the run: its process group and,
// with a cgroup, whatever left the group (setsid) but not the cgroup.
func (r *Run) Signal(sig syscall.Signal) error {
	leader := int(r.pid.Load())
	if leader == 0 {
		return nil
	}
	err := proc.SignalGroup(leader, sig)
	if d := r.memberDir(); d != "" {
		signalAll(d, sig)
	}
	return err
}

// Kill kills every process of the run at once.
func (r *Run) Kill() error {
	var errs []error
	switch {
	case r.v2 != "":
		errs = append(errs, killV2(r.v2))
	case r.memberDir() != "":
		errs = append(errs, killV1(r.memberDir(), r.v1["freezer"]))
	}
	if leader := int(r.pid.Load()); leader != 0 {
		errs = append(errs, proc.SignalGroup(leader, syscall.SIGKILL))
	}
	return errors.Join(errs...)
}

// End is called once the run's main process has been waited for: it
// kills whatever the run left behind, waits for its cgroup to empty, and
// reads what the run consumed and whether the kernel killed it for memory.
func (r *Run) End(ps *os.ProcessState) Result {
	_ = r.Kill()
	if d := r.memberDir(); d != "" {
		_ = waitEmpty(d, 2*time.Second)
	}
	var res Result
	switch {
	case r.v2 != "" && len(r.v1) == 0:
		res = readV2(r.v2)
	case len(r.v1) > 0:
		res = readV1(r.v1)
		if res.Usage.CPUUserSeconds == nil && r.v2 != "" {
			v2 := readV2(r.v2)
			res.Usage.CPUUserSeconds, res.Usage.CPUSystemSeconds = v2.Usage.CPUUserSeconds, v2.Usage.CPUSystemSeconds
		}
	}
	res.Usage = fillFromRusage(res.Usage, ps)
	res.MemoryLimitMB = r.limits.MemoryMB
	return res
}

// Close kills what is left of the run and removes its cgroups. It is
// safe to call more than once.
func (r *Run) Close() error {
	_ = r.Kill()
	var errs []error
	for _, d := range r.Cgroups() {
		errs = append(errs, removeDir(d))
	}
	r.v2, r.v1 = "", nil
	return errors.Join(errs...)
}

// Result is what End found.
type Result struct {
	Usage tasktype.Usage
	// OOMKills counts the run's processes the kernel killed for passing
	// the memory limit.
	OOMKills int64
	// MemoryLimitMB is the run's memory limit (0 none).
	MemoryLimitMB int64
}

// OOMReason explains an out-of-memory end, for the run's row and alert.
func (res Result) OOMReason() string {
	peak := "unknown"
	if p := res.Usage.PeakMemoryBytes; p != nil {
		peak = fmt.Sprintf("%d MiB", (*p+(1<<19))>>20)
	}
	return fmt.Sprintf("out of memory: limit %d MiB, peak %s; the kernel killed %d of its processes", res.MemoryLimitMB, peak, res.OOMKills)
}

// KillCgroups kills every process in the run cgroups at paths and
// removes them: the orphan reaper's way to end the runs of a worker that
// died. Paths that are not run cgroups made by a Sandbox are refused.
func KillCgroups(paths []string) (killed int, err error) {
	var errs []error
	for _, p := range paths {
		p = filepath.Clean(p)
		if !strings.HasPrefix(p, "/sys/fs/cgroup/") || filepath.Base(filepath.Dir(p)) != runsDirName ||
			!strings.HasPrefix(filepath.Base(p), "run-") {
			errs = append(errs, fmt.Errorf("refusing to kill %q: not a run's cgroup", p))
			continue
		}
		pids, perr := procs(p)
		if perr != nil {
			continue // gone already
		}
		killed += len(pids)
		if isV2(p) {
			errs = append(errs, killV2(p))
		} else {
			errs = append(errs, killV1(p, ""))
		}
		_ = waitEmpty(p, 5*time.Second)
		errs = append(errs, removeDir(p))
	}
	return killed, errors.Join(errs...)
}
