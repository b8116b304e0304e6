package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
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
	// SQLiteDefaults keeps SQLite's own pragmas for DBFile instead of
	// write-ahead (the benchmark compares the two).
	SQLiteDefaults bool
	// LogFile receives the server's output; "" discards it.
	LogFile string
	// Logger receives progress messages.
	Logger *slog.Logger
}

// DevDynamicConfig tunes the dev server for schedules the way a production
// cluster should be tuned; deploy/temporal/dynamicconfig.yaml holds the same
// values for the compose cluster, and a test keeps the two equal. Each
// value is key=JSON, as the CLI's --dynamic-config-value wants it.
var DevDynamicConfig = []string{
	// A worker that schedules an activity on its own queue gets the task in
	// the reply, without a round trip through matching.
	"system.enableActivityEagerExecution=true",
	// A namespace's schedules may start only 30 workflows per second by
	// default.
	"worker.schedulerNamespaceStartWorkflowRPS=1000",
	// Scheduler workflows run on one internal worker with two pollers by
	// default.
	"worker.perNamespaceWorkerCount=2",
	`worker.perNamespaceWorkerOptions={"MaxConcurrentWorkflowTaskPollers":8,"MaxConcurrentActivityTaskPollers":8,"MaxConcurrentLocalActivityExecutionSize":200,"MaxConcurrentWorkflowTaskExecutionSize":200}`,
	// A timer due sooner than this after the timer queue's last read is
	// moved to the end of that window. The default of 1 s made every
	// timer under a second late by up to a second, and an every-second
	// schedule's wait is always under a second: its fires were 0.3–0.6 s
	// late at p50 against 16 ms for every two seconds.
	`history.timerProcessorMaxTimeShift="100ms"`,
}

// sqlitePragmas make the file-backed dev server write ahead: with SQLite's
// defaults every commit waits for a sync of the database file, and a
// schedule fired 23–30 ms late against 11–16 ms in memory; with WAL and
// synchronous=normal it is 11–15 ms. A crash of the server loses
// nothing; a power cut may lose its last commits, which suits a dev
// stack (the README says so).
var sqlitePragmas = []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}

// Temporal is a running dev server.
type Temporal struct {
	child
	opts TemporalOptions
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
		if !opts.SQLiteDefaults {
			args = append(args, sqlitePragmas...)
		}
	}
	for _, kv := range DevDynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	t := &Temporal{opts: opts, child: child{name: "temporal", logFile: opts.LogFile, stopSignal: syscall.SIGTERM, wait: 20 * time.Second}}
	t.launch = func(ctx context.Context) error { return t.run(ctx, args) }
	if err := t.launch(ctx); err != nil {
		// A server that exited at once may have lost a race for one of
		// the ports it picks at random: one more try, then give up.
		if !errors.Is(err, errExited) || ctx.Err() != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		opts.Logger.Warn("temporal exited at start; trying once more", slog.String("error", first))
		time.Sleep(time.Second)
		if err := t.launch(ctx); err != nil {
			return nil, err
		}
	}
	opts.Logger.Info("temporal ready", slog.String("address", t.Address()), slog.String("ui", t.UIURL()))
	return t, nil
}

// run starts the server with args and waits until its frontend answers;
// on the same file and ports each time, so a restart keeps the state.
func (t *Temporal) run(ctx context.Context, args []string) error {
	cmd := exec.Command(t.opts.CLI, args...)
	if t.opts.LogFile != "" {
		f, err := os.OpenFile(t.opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open temporal log: %w", err)
		}
		defer f.Close() // the child keeps its own descriptor
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := t.start(cmd, nil); err != nil {
		return err
	}
	if err := t.waitReady(ctx, 90*time.Second, 200*time.Millisecond, t.answers); err != nil {
		_ = t.halt()
		return fmt.Errorf("temporal dev server did not start (see %s): %w%s", t.opts.LogFile, err, logTail(t.opts.LogFile, 20))
	}
	return nil
}

// logTail returns the last n lines of file, indented on lines of their
// own after a colon, or "" when there is nothing to show. A server that
// exits at start says why only in its log.
func logTail(file string, n int) string {
	if file == "" {
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 || lines[0] == "" && len(lines) == 1 {
		return ""
	}
	return ":\n    " + strings.Join(lines, "\n    ")
}

// answers reports whether the frontend serves the default namespace,
// which is registered a moment after the frontend starts answering.
func (t *Temporal) answers(ctx context.Context) error {
	c, err := client.Dial(client.Options{HostPort: t.Address(), Logger: SilentLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	return err
}
