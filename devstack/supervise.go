package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SuperviseOptions say how Supervise restarts a server that dies.
type SuperviseOptions struct {
	// MaxRestarts is how many restarts Window allows: one more death
	// within it ends the supervision with an error. Default 5.
	MaxRestarts int
	// Window is the span deaths are counted over. Default one minute.
	Window time.Duration
	// FirstDelay is the wait before a restart after one death in Window;
	// it doubles with each further death, up to MaxDelay. Defaults 1 s
	// and 10 s.
	FirstDelay, MaxDelay time.Duration
	// Logger receives the deaths and the returns.
	Logger *slog.Logger
	// Report, when set, receives the server's state as one line each time
	// it changes, with up false while the server is down (for /healthz).
	Report func(state string, up bool)
}

func (o SuperviseOptions) withDefaults() SuperviseOptions {
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = 5
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.FirstDelay <= 0 {
		o.FirstDelay = time.Second
	}
	if o.MaxDelay < o.FirstDelay {
		o.MaxDelay = max(10*time.Second, o.FirstDelay)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Report == nil {
		o.Report = func(string, bool) {}
	}
	return o
}

// restartDelay is the wait before the restart after the deaths-th death
// within the window.
func (o SuperviseOptions) restartDelay(deaths int) time.Duration {
	d := o.FirstDelay
	for i := 1; i < deaths && d < o.MaxDelay; i++ {
		d *= 2
	}
	return min(d, o.MaxDelay)
}

// Supervise watches the server until ctx ends or Stop is called, and
// restarts it when it exits on its own: on the same files and ports, so
// it keeps its data. A server that dies more than MaxRestarts times
// within Window is left down, and Supervise returns an error naming it
// and its log; otherwise it returns nil once ctx ends. Cancel ctx and
// wait for Supervise to return before Stop, so that nothing restarts
// during a shutdown.
func (c *child) Supervise(ctx context.Context, opts SuperviseOptions) error {
	opts = opts.withDefaults()
	since := time.Now()
	opts.Report("up since "+since.Format(time.TimeOnly), true)
	var deaths []time.Time
	restarts := 0
	for {
		cmd, done := c.current()
		select {
		case <-ctx.Done():
			return nil
		case <-done:
		}
		if ctx.Err() != nil || c.isStopped() {
			return nil
		}
		down, reason := time.Now(), cmd.ProcessState.String()
		// What the server started (Postgres's backends) outlives it, and
		// would keep its successor from starting.
		killGroup(cmd.Process.Pid, 5*time.Second)
		failure := c.name + " exited unexpectedly (" + reason + ")"
		for {
			deaths = append(deaths, time.Now())
			for len(deaths) > 0 && time.Since(deaths[0]) > opts.Window {
				deaths = deaths[1:]
			}
			if len(deaths) > opts.MaxRestarts {
				opts.Report(fmt.Sprintf("down since %s: died %d times within %s, last: %s", down.Format(time.TimeOnly), len(deaths), opts.Window, reason), false)
				return fmt.Errorf("%s keeps dying (%d times within %s, last: %s); left down, see %s", c.name, len(deaths), opts.Window, reason, c.logFile)
			}
			delay := opts.restartDelay(len(deaths))
			opts.Report(fmt.Sprintf("restarting since %s after %s (restart %d/%d)", down.Format(time.TimeOnly), reason, len(deaths), opts.MaxRestarts), false)
			opts.Logger.Warn(fmt.Sprintf("%s; restarting (%d/%d)", failure, len(deaths), opts.MaxRestarts),
				slog.Duration("in", delay), slog.String("log", c.logFile))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			err := c.launch(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil || c.isStopped() {
				return nil
			}
			// The error may end with the log's last lines: the first says why.
			reason, _, _ = strings.Cut(err.Error(), "\n")
			failure = reason
		}
		restarts++
		opts.Logger.Info(c.name+" back", slog.Duration("down", time.Since(down).Round(time.Millisecond)),
			slog.Int("restarts", restarts))
		opts.Report(fmt.Sprintf("up since %s; restarts: %d, the last after %s at %s", time.Now().Format(time.TimeOnly),
			restarts, cmd.ProcessState, down.Format(time.TimeOnly)), true)
	}
}

// killGroup kills what is left of a dead server's process group and waits
// up to timeout until none of it runs.
func killGroup(pgid int, timeout time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(timeout); groupRuns(pgid) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
}

// groupRuns reports whether a process of group pgid runs; a zombie
// waiting for its parent to reap it does not.
func groupRuns(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		_, rest, ok := strings.Cut(string(b[strings.LastIndexByte(string(b), ')')+1:]), " ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if pg, _ := strconv.Atoi(fields[2]); pg == pgid {
			return true
		}
	}
	return false
}
