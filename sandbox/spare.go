package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// On a host with v1 controllers a run's process is born in its v1 cgroups
// by starting it from an OS thread that has moved into them. Moving a
// thread into a cgroup waits for an RCU grace period (the kernel's
// cgroup_threadgroup_rwsem) unless another move came a moment before:
// 10–18 ms measured here, per run. So in hybrid mode the sandbox keeps
// spare launchers: v1 cgroups made ahead of time, each with a locked
// thread already inside, waiting. A run takes one (its limits are then
// written into those cgroups), the thread starts the run's process and
// exits, and a new spare is made off the run's path. Only hybrid mode
// uses them: there a run is killed through its v2 cgroup, which the
// launcher's thread never joins, so no kill can reach the worker through
// a thread of it still in the run's v1 cgroups.

// spareLaunchers is how many launchers wait; more runs starting at once
// take the slower way.
const spareLaunchers = 2

// spareDirPrefix names the spare launchers' cgroups.
const spareDirPrefix = "run-spare-"

// launcher is a locked OS thread inside a set of fresh v1 cgroups, ready
// to start one process there.
type launcher struct {
	dirs map[string]string // controller → cgroup folder
	// start receives the command to start, or nil to give up; done
	// answers Start's error.
	start chan *exec.Cmd
	done  chan error
}

// startSpares fills the spare launchers in the background and removes
// the empty spare cgroups an earlier worker left behind.
func (s *Sandbox) startSpares() {
	for _, parent := range s.v1 {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), spareDirPrefix) {
				_ = os.Remove(filepath.Join(parent, e.Name()))
			}
		}
	}
	s.spares = make(chan *launcher, spareLaunchers)
	for range spareLaunchers {
		go s.addSpare()
	}
}

// takeSpare returns a waiting launcher, or nil when none is ready, and
// has another one made.
func (s *Sandbox) takeSpare() *launcher {
	if s.spares == nil {
		return nil
	}
	select {
	case l := <-s.spares:
		go s.addSpare()
		return l
	default:
		return nil
	}
}

// addSpare makes one launcher and queues it.
func (s *Sandbox) addSpare() {
	name := spareDirPrefix + randomSuffix()
	l := &launcher{dirs: map[string]string{}, start: make(chan *exec.Cmd), done: make(chan error, 1)}
	for c, parent := range s.v1 {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			l.remove()
			s.logger.Warn("spare run cgroup", slog.Any("error", err))
			return
		}
		l.dirs[c] = dir
	}
	ready := make(chan error, 1)
	go l.run(ready)
	if err := <-ready; err != nil {
		l.remove()
		s.logger.Warn("spare run cgroup", slog.Any("error", err))
		return
	}
	s.spares <- l
}

// run is the launcher's thread: it joins the cgroups, says so on ready,
// starts the one command it is given, answers, and only then goes back
// to the worker's own cgroups (that move may wait for a grace period,
// after the run has started). A thread that cannot go back stays locked
// and ends with its goroutine, so no other goroutine ever runs in a
// run's cgroups.
func (l *launcher) run(ready chan<- error) {
	runtime.LockOSThread()
	tid := strconv.Itoa(syscall.Gettid())
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
	for _, d := range l.dirs {
		if err := writeFile(filepath.Join(d, "tasks"), tid); err != nil {
			back()
			ready <- fmt.Errorf("join %s: %w", d, err)
			return
		}
		joined = append(joined, d)
	}
	ready <- nil
	cmd := <-l.start
	if cmd == nil {
		back()
		l.done <- nil
		return
	}
	l.done <- cmd.Start()
	back()
}

// launch starts cmd from the launcher's thread.
func (l *launcher) launch(cmd *exec.Cmd) error {
	l.start <- cmd
	return <-l.done
}

// release lets an unused launcher's thread end.
func (l *launcher) release() {
	l.start <- nil
	<-l.done
}

// remove removes the launcher's cgroups (once its thread has gone).
func (l *launcher) remove() {
	for _, d := range l.dirs {
		_ = removeDir(d)
	}
}
