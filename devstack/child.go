package devstack

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// child is a server process the dev stack started and stops.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	// stopSignal is sent to the process on Stop; SIGKILL to its group
	// follows after wait.
	stopSignal syscall.Signal
	wait       time.Duration
}

// start starts the process in its own process group, so that a Ctrl-C
// reaches us alone and we stop the services in order; if we die without
// stopping it, the kernel sends it stopSignal.
func (c *child) start(cleanup func()) error {
	if c.cmd.SysProcAttr == nil {
		c.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.cmd.SysProcAttr.Setpgid = true
	c.cmd.SysProcAttr.Pdeathsig = c.stopSignal
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	c.done = make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		if cleanup != nil {
			cleanup()
		}
		close(c.done)
	}()
	return nil
}

// Stop signals the process and waits; it kills its group if it lingers.
func (c *child) Stop() error {
	if c.cmd == nil || c.cmd.Process == nil || c.done == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(c.stopSignal)
	select {
	case <-c.done:
		return nil
	case <-time.After(c.wait):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s did not stop in %s; killed", c.name, c.wait)
	}
}

// noRetry wraps an error after which waitReady stops waiting.
type noRetry struct{ error }

func (e noRetry) Unwrap() error { return e.error }

// waitReady calls ready every interval until it succeeds, fails with a
// noRetry error, the process exits, or timeout passes.
func (c *child) waitReady(ctx context.Context, timeout, interval time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case <-c.done:
			return errors.New(c.name + " exited")
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
