package devstack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a server process the dev stack started, stops, and (under
// Supervise) restarts when it dies.
type child struct {
	name string
	// logFile is where the server's output goes, for error messages.
	logFile string
	// stopSignal is sent to the process on Stop; SIGKILL to its group
	// follows after wait.
	stopSignal syscall.Signal
	wait       time.Duration
	// launch starts a new process and waits until it serves; it leaves
	// nothing running when it fails. StartTemporal and StartPostgres
	// call it once, Supervise again after each death.
	launch func(ctx context.Context) error

	mu sync.Mutex
	// cmd is the current process; done is closed once it has exited.
	cmd  *exec.Cmd
	done chan struct{}
	// stopped is set by Stop: no process is started after it.
	stopped bool
}

// errStopped is what start returns once Stop was called.
var errStopped = errors.New("stopped")

// start starts cmd in its own process group, so that a Ctrl-C reaches us
// alone and we stop the services in order; if we die without stopping it,
// the kernel sends it stopSignal. cleanup runs once the process has exited.
func (c *child) start(cmd *exec.Cmd, cleanup func()) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = c.stopSignal
	c.mu.Lock()
	defer c.mu.Unlock()
	// Under the lock, so that a Stop racing a restart stops the new process.
	if c.stopped {
		return fmt.Errorf("start %s: %w", c.name, errStopped)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	done := make(chan struct{})
	c.cmd, c.done = cmd, done
	go func() {
		_ = cmd.Wait()
		if cleanup != nil {
			cleanup()
		}
		close(done)
	}()
	return nil
}

// current returns the current process and the channel closed when it exits.
func (c *child) current() (*exec.Cmd, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd, c.done
}

// isStopped reports whether Stop was called.
func (c *child) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// Stop signals the process and waits; it kills its group if it lingers.
// A supervised server is not restarted after Stop.
func (c *child) Stop() error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	return c.halt()
}

// Signal sends sig to the server's process group: SIGSTOP pauses the
// server as a hung host would, SIGCONT resumes it (the fault tests).
func (c *child) Signal(sig syscall.Signal) error {
	cmd, _ := c.current()
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("%s is not running", c.name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %s: %w", c.name, err)
	}
	return nil
}

// halt stops the current process, leaving the server free to start again.
func (c *child) halt() error {
	cmd, done := c.current()
	if cmd == nil || cmd.Process == nil || done == nil {
		return nil
	}
	_ = cmd.Process.Signal(c.stopSignal)
	select {
	case <-done:
		return nil
	case <-time.After(c.wait):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s did not stop in %s; killed", c.name, c.wait)
	}
}

// noRetry wraps an error after which waitReady stops waiting.
type noRetry struct{ error }

// errExited says a server exited while it was awaited.
var errExited = errors.New("exited")

func (e noRetry) Unwrap() error { return e.error }

// waitReady calls ready every interval until it succeeds, fails with a
// noRetry error, the process exits, or timeout passes.
func (c *child) waitReady(ctx context.Context, timeout, interval time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, done := c.current()
	for {
		select {
		case <-done:
			return fmt.Errorf("%s %w (%s)", c.name, errExited, cmd.ProcessState)
		default:
		}
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if nr := (noRetry{}); errors.As(err, &nr) {
			return nr.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}
