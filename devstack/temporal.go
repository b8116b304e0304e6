package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// TemporalOptions configure a Temporal dev server (`temporal server start-dev`).
type TemporalOptions struct {
	// CLI is the path of the temporal binary.
	CLI string
	// Port is the frontend gRPC port on 127.0.0.1.
	Port int
	// UIPort serves Temporal Web; 0 runs headless.
	UIPort int
	// DBFile keeps the server's state across restarts; "" keeps it in memory.
	DBFile string
	// LogFile receives the server's output; "" discards it.
	LogFile string
	// Logger receives progress messages.
	Logger *slog.Logger
}

// Temporal is a running dev server.
type Temporal struct {
	opts TemporalOptions
	cmd  *exec.Cmd
	done chan struct{}
}

// Address returns the frontend host:port.
func (t *Temporal) Address() string { return "127.0.0.1:" + strconv.Itoa(t.opts.Port) }

// UIURL returns Temporal Web's URL, or "" when headless.
func (t *Temporal) UIURL() string {
	if t.opts.UIPort == 0 {
		return ""
	}
	return "http://localhost:" + strconv.Itoa(t.opts.UIPort)
}

// StartTemporal starts the dev server and waits until its frontend answers.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if _, err := os.Stat(opts.CLI); err != nil {
		return nil, fmt.Errorf("temporal CLI not found at %s (`make bin/temporal` builds it): %w", opts.CLI, err)
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(opts.Port),
		"--log-level", "warn"}
	if opts.UIPort == 0 {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	t := &Temporal{opts: opts, done: make(chan struct{})}
	t.cmd = exec.Command(opts.CLI, args...)
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open temporal log: %w", err)
		}
		defer f.Close() // the child keeps its own descriptor
		t.cmd.Stdout, t.cmd.Stderr = f, f
	}
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	go func() {
		_ = t.cmd.Wait()
		close(t.done)
	}()
	if err := t.waitReady(ctx); err != nil {
		_ = t.Stop()
		return nil, fmt.Errorf("temporal dev server did not start (see %s): %w", opts.LogFile, err)
	}
	opts.Logger.Info("temporal ready", slog.String("address", t.Address()), slog.String("ui", t.UIURL()))
	return t, nil
}

func (t *Temporal) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-t.done:
			return errors.New("temporal exited")
		default:
		}
		c, err := client.Dial(client.Options{HostPort: t.Address(), Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				// The default namespace is registered a moment after the
				// frontend answers; wait until it can be described.
				_, err = c.WorkflowService().DescribeNamespace(ctx, describeDefault)
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the dev server and waits for it.
func (t *Temporal) Stop() error {
	if t.cmd == nil || t.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
		return errors.New("temporal did not stop in 20s; killed")
	}
}
