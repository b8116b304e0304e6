package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/schetask/schetask/tasktype"
)

// Mode is how a run's process tree is contained.
type Mode string

// The modes, from the best a host offers to the fallback.
const (
	// ModeCgroup2 is a pure cgroup v2 hierarchy with its controllers.
	ModeCgroup2 Mode = "cgroup2"
	// ModeHybrid is v1 controllers with the v2 tree for membership and kill.
	ModeHybrid Mode = "hybrid"
	// ModeCgroup1 is v1 controllers only, killed through the freezer.
	ModeCgroup1 Mode = "cgroup1"
	// ModePgroup is a process group: no limits, and setsid escapes it.
	ModePgroup Mode = "pgroup"
)

// CgroupOff and CgroupAuto are the values of Options.Cgroup.
const (
	CgroupAuto = "auto"
	CgroupOff  = "off"
)

// Options configure a Sandbox.
type Options struct {
	// User is the account tasks run as by default (SCHETASK_TASK_USER).
	User string
	// Users are the other accounts a task's run_as may name
	// (SCHETASK_TASK_USERS).
	Users []string
	// Cgroup is "auto" (the best layout the host offers) or "off" (the
	// process group only).
	Cgroup string
	// Defaults are the limits of tasks that set none.
	Defaults tasktype.Limits
	// Logger reports what the host offers, once.
	Logger *slog.Logger

	// mountinfo, cgroupFile and canSwitch replace what /proc says, in tests.
	mountinfo, cgroupFile string
	canSwitch             func() bool
}

// Sandbox makes runs' boundaries on this host.
type Sandbox struct {
	mode     Mode
	switchTo bool
	def      *Account
	allowed  map[string]*Account
	defaults tasktype.Limits
	// v2 is the folder under which runs' v2 cgroups are made ("" none).
	v2 string
	// v2Controllers are the controllers enabled for runs in v2.
	v2Controllers []string
	// v1 maps each v1 controller to the folder under which runs' cgroups
	// of that controller are made.
	v1     map[string]string
	logger *slog.Logger
	note   string
	// noClone3 says children cannot be born into a cgroup here; they join
	// it right after they start.
	noClone3 bool
}

// New resolves the task users and finds the cgroup layout this host lets
// the worker write. A task user that does not exist is an error when the
// worker can switch users; a cgroup tree it cannot write is not: runs then
// fall back to the process group, and Describe says so.
func New(opts Options) (*Sandbox, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Sandbox{allowed: map[string]*Account{}, defaults: opts.Defaults, logger: logger, mode: ModePgroup}
	if err := opts.Defaults.Validate(); err != nil {
		return nil, fmt.Errorf("default limits: %w", err)
	}
	if opts.canSwitch == nil {
		opts.canSwitch = canSwitchUsers
	}
	s.switchTo = opts.canSwitch()
	if s.switchTo {
		if opts.User == "" {
			return nil, errors.New("SCHETASK_TASK_USER: not set: name the user tasks run as")
		}
		for _, name := range append([]string{opts.User}, opts.Users...) {
			if err := tasktype.ValidateUserName(name); err != nil {
				return nil, fmt.Errorf("task user: %w", err)
			}
			a, err := LookupAccount(name)
			if err != nil {
				return nil, err
			}
			s.allowed[name] = a
		}
		s.def = s.allowed[opts.User]
	} else {
		s.note = fmt.Sprintf("tasks run as the worker's own user (uid %d): the worker cannot switch users (it is not root and lacks CAP_SETUID/CAP_SETGID)", os.Geteuid())
		logger.Warn("task isolation: " + s.note)
	}
	if opts.Cgroup == CgroupOff {
		logger.Warn("task isolation: cgroups off (SCHETASK_CGROUP=off): runs are process groups, without limits")
		return s, nil
	}
	if opts.mountinfo == "" {
		opts.mountinfo = "/proc/self/mountinfo"
	}
	if opts.cgroupFile == "" {
		opts.cgroupFile = "/proc/self/cgroup"
	}
	if err := s.findCgroups(opts.mountinfo, opts.cgroupFile); err != nil {
		logger.Warn("task isolation: no writable cgroup; runs are process groups, without limits", slog.Any("error", err))
		s.mode = ModePgroup
	}
	logger.Info("task isolation", slog.String("isolation", s.Describe()))
	return s, nil
}

// Mode is the containment runs get.
func (s *Sandbox) Mode() Mode { return s.mode }

// SwitchesUser reports whether tasks run as another user than the worker.
func (s *Sandbox) SwitchesUser() bool { return s.switchTo }

// Describe says in one line how runs are contained, for logs and /healthz.
func (s *Sandbox) Describe() string {
	d := string(s.mode)
	if s.mode == ModeCgroup2 {
		d += " (" + strings.Join(s.v2Controllers, ",") + ")"
	}
	if s.switchTo {
		names := make([]string, 0, len(s.allowed))
		for n := range s.allowed {
			names = append(names, n)
		}
		slices.Sort(names)
		d += " user=" + s.def.Name + " allowed=" + strings.Join(names, ",")
	} else {
		d += " same-user"
	}
	if s.note != "" {
		d += "; " + s.note
	}
	return d
}

// findCgroups picks the best layout: v2 with controllers, else v1
// controllers (with the v2 tree for kills when there is one).
func (s *Sandbox) findCgroups(mountinfo, cgroupFile string) error {
	v2m, v1m, err := mounts(mountinfo)
	if err != nil {
		return err
	}
	own2, own1, err := ownCgroups(cgroupFile)
	if err != nil {
		return err
	}
	var errs []error
	if v2m != nil {
		dir, ctrls, err := setupV2(dirOf(*v2m, own2))
		if err != nil {
			errs = append(errs, err)
		} else {
			s.v2, s.v2Controllers = dir, ctrls
			if !clone3Works(dir) {
				s.noClone3 = true
				s.note = joinNote(s.note, "clone3 is refused (a seccomp profile?): processes join their cgroup just after they start")
			}
			if slices.Contains(ctrls, "memory") && slices.Contains(ctrls, "cpu") && slices.Contains(ctrls, "pids") {
				s.mode = ModeCgroup2
				return nil
			}
		}
	}
	s.v1 = map[string]string{}
	for _, c := range v1Controllers {
		m, ok := v1m[c]
		if !ok {
			continue
		}
		p, ok := own1[c]
		if !ok {
			continue
		}
		dir := filepath.Join(dirOf(m, p), runsDirName)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			errs = append(errs, fmt.Errorf("cgroup v1 %s: %w", c, err))
			continue
		}
		s.v1[c] = dir
	}
	switch {
	case s.v2 != "" && len(s.v1) > 0:
		s.mode = ModeHybrid
	case s.v2 != "":
		s.mode = ModeCgroup2 // membership and kill, without limits
	case s.v1["freezer"] != "" || s.v1["pids"] != "":
		s.mode = ModeCgroup1
	default:
		errs = append(errs, errors.New("no cgroup hierarchy is writable"))
		return errors.Join(errs...)
	}
	return nil
}

// setupV2 makes the runs' folder under the worker's own v2 cgroup and
// enables the controllers it can for runs. A cgroup that holds processes
// cannot pass controllers down (the "no internal processes" rule), so the
// processes of the worker's cgroup move to a leaf of it first, as systemd
// delegation and container runtimes expect.
func setupV2(own string) (string, []string, error) {
	dir := filepath.Join(own, runsDirName)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, fmt.Errorf("cgroup v2: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return "", nil, fmt.Errorf("cgroup v2: %w", err)
	}
	avail, _ := os.ReadFile(filepath.Join(own, "cgroup.controllers"))
	var want []string
	for _, c := range []string{"memory", "cpu", "pids", "io"} {
		if slices.Contains(strings.Fields(string(avail)), c) {
			want = append(want, c)
		}
	}
	if len(want) == 0 {
		return dir, nil, nil
	}
	enable := "+" + strings.Join(want, " +")
	if err := writeFile(filepath.Join(own, "cgroup.subtree_control"), enable); err != nil {
		if !errors.Is(err, syscall.EBUSY) {
			return dir, nil, nil
		}
		leaf := filepath.Join(own, "schetask-worker")
		if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return dir, nil, nil
		}
		pids, _ := procs(own)
		for _, pid := range pids {
			_ = writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(pid))
		}
		if err := writeFile(filepath.Join(own, "cgroup.subtree_control"), enable); err != nil {
			return dir, nil, nil
		}
	}
	if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), enable); err != nil {
		return dir, nil, nil
	}
	return dir, want, nil
}

// Prepare makes one run's boundary: its account and its cgroups with
// the limits set. runAs "" is the default task user; another name must be
// one the worker allows. Close the Run when it is over.
func (s *Sandbox) Prepare(runID int64, runAs string, lim tasktype.Limits) (*Run, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	r := &Run{sb: s, limits: lim}
	if s.switchTo {
		r.account = s.def
		if runAs != "" {
			a, ok := s.allowed[runAs]
			if !ok {
				return nil, fmt.Errorf("run_as %q is not a user this worker allows (SCHETASK_TASK_USER, SCHETASK_TASK_USERS: %s)", runAs, s.allowedNames())
			}
			r.account = a
		}
	}
	name := fmt.Sprintf("run-%d-%s", runID, randomSuffix())
	var unenforced []string
	switch s.mode {
	case ModeCgroup2:
		r.v2 = filepath.Join(s.v2, name)
		if err := os.Mkdir(r.v2, 0o755); err != nil {
			return nil, fmt.Errorf("make the run's cgroup: %w", err)
		}
		unenforced = r.limitV2(s.v2Controllers)
	case ModeHybrid, ModeCgroup1:
		if s.mode == ModeHybrid {
			r.v2 = filepath.Join(s.v2, name)
			if err := os.Mkdir(r.v2, 0o755); err != nil {
				return nil, fmt.Errorf("make the run's cgroup: %w", err)
			}
		}
		r.v1 = map[string]string{}
		for c, parent := range s.v1 {
			dir := filepath.Join(parent, name)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				r.Close()
				return nil, fmt.Errorf("make the run's %s cgroup: %w", c, err)
			}
			r.v1[c] = dir
		}
		unenforced = r.limitV1()
	default:
		if lim.MemoryMB > 0 {
			unenforced = append(unenforced, "memory")
		}
		if lim.CPU > 0 {
			unenforced = append(unenforced, "cpu")
		}
		if lim.Pids > 0 {
			unenforced = append(unenforced, "pids")
		}
	}
	r.isolation = string(s.mode)
	if r.account != nil {
		r.isolation += " user=" + r.account.Name
	} else {
		r.isolation += " same-user"
	}
	if len(unenforced) > 0 {
		r.isolation += " unenforced=" + strings.Join(unenforced, ",")
	}
	return r, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (s *Sandbox) allowedNames() string {
	names := make([]string, 0, len(s.allowed))
	for n := range s.allowed {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cpuPeriod is the CFS period of a CPU limit, in microseconds.
const cpuPeriod = 100000

// limitV2 sets the run's limits in its v2 cgroup and returns those the
// host has no controller for.
func (r *Run) limitV2(ctrls []string) (unenforced []string) {
	l := r.limits
	if l.MemoryMB > 0 {
		if slices.Contains(ctrls, "memory") {
			r.setErr(writeFile(filepath.Join(r.v2, "memory.max"), strconv.FormatInt(l.MemoryMB<<20, 10)))
			// No swapping past the limit, and an OOM kills the whole run.
			_ = writeFile(filepath.Join(r.v2, "memory.swap.max"), "0")
			_ = writeFile(filepath.Join(r.v2, "memory.oom.group"), "1")
		} else {
			unenforced = append(unenforced, "memory")
		}
	}
	if l.CPU > 0 {
		if slices.Contains(ctrls, "cpu") {
			r.setErr(writeFile(filepath.Join(r.v2, "cpu.max"), fmt.Sprintf("%d %d", int64(l.CPU*cpuPeriod), cpuPeriod)))
		} else {
			unenforced = append(unenforced, "cpu")
		}
	}
	if l.Pids > 0 {
		if slices.Contains(ctrls, "pids") {
			r.setErr(writeFile(filepath.Join(r.v2, "pids.max"), strconv.FormatInt(l.Pids, 10)))
		} else {
			unenforced = append(unenforced, "pids")
		}
	}
	return unenforced
}

// limitV1 sets the run's limits in its v1 cgroups.
func (r *Run) limitV1() (unenforced []string) {
	l := r.limits
	if l.MemoryMB > 0 {
		if dir := r.v1["memory"]; dir != "" {
			bytes := strconv.FormatInt(l.MemoryMB<<20, 10)
			r.setErr(writeFile(filepath.Join(dir, "memory.limit_in_bytes"), bytes))
			// memory+swap no higher than memory: no swapping past the limit.
			_ = writeFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), bytes)
		} else {
			unenforced = append(unenforced, "memory")
		}
	}
	if l.CPU > 0 {
		if dir := r.v1["cpu"]; dir != "" {
			r.setErr(writeFile(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(cpuPeriod)))
			r.setErr(writeFile(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.FormatInt(int64(l.CPU*cpuPeriod), 10)))
		} else {
			unenforced = append(unenforced, "cpu")
		}
	}
	if l.Pids > 0 {
		if dir := r.v1["pids"]; dir != "" {
			r.setErr(writeFile(filepath.Join(dir, "pids.max"), strconv.FormatInt(l.Pids, 10)))
		} else {
			unenforced = append(unenforced, "pids")
		}
	}
	return unenforced
}

// Defaults are the limits of tasks that set none.
func (s *Sandbox) Defaults() tasktype.Limits { return s.defaults }

// DefaultAccount is the user tasks run as by default; nil when the worker
// cannot switch users.
func (s *Sandbox) DefaultAccount() *Account { return s.def }
