package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/proc"
	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/taskdir"
	"github.com/schetask/schetask/taskhelper"
	"github.com/schetask/schetask/tasktype"
)

// ExecTaskInput says which run to execute.
type ExecTaskInput struct {
	TaskName      string
	RunID         int64
	Version       string
	LogPath       string
	WorkflowID    string
	ScheduledTime time.Time
	TimeZone      string
	// Attempt numbers the run among its fire's attempts (0 means 1).
	Attempt int
	// Params are the run's parameter values (StartRunResult.Params); each
	// reaches the process as SCHETASK_PARAM_<NAME>.
	Params map[string]string `json:",omitempty"`
	// LogicalDate is the date the run is for (SCHETASK_LOGICAL_DATE); zero
	// leaves the variable out.
	LogicalDate time.Time `json:",omitempty"`
	// UpstreamRuns are the runs whose ends started this one
	// (SCHETASK_UPSTREAM_RUNS); UpstreamHistory their history folders by
	// task (SCHETASK_UPSTREAM_HISTORY_<TASK>).
	UpstreamRuns    []int64           `json:",omitempty"`
	UpstreamHistory map[string]string `json:",omitempty"`
}

// ExecTaskResult is how the task's process ended.
type ExecTaskResult struct {
	// ExitCode is the process's exit code, or one of schetask's reserved
	// codes when it had none (see tasktype).
	ExitCode int
	// Error explains a reserved exit code ("" for the process's own).
	Error string
	// StoppedWithWorker says the worker stopped (SIGTERM) before the task
	// ended and the drain time was up, so the task was stopped.
	StoppedWithWorker bool
}

// ExecTask runs the task's entrypoint in its own process group, streams its
// stdout and stderr into the run's log file line by line, keeps the first stderr lines
// on the run's row, and heartbeats until the process ends. When Temporal
// cancels it (a kill, a timeout) it kills the whole process group: SIGTERM,
// then SIGKILL after the grace period. When the entrypoint exits, anything
// it left running in its group is killed too. It must not be retried: a
// task never runs twice for one fire.
func (a *Activities) ExecTask(ctx context.Context, in ExecTaskInput) (ExecTaskResult, error) {
	log := a.logger().With(slog.String("task", in.TaskName), slog.Int64("run", in.RunID))
	r, res, err := a.spawn(ctx, log, in)
	if r == nil {
		return res, err
	}
	defer r.release(log)
	how := a.supervise(ctx, log, r)
	return a.ended(ctx, log, r, how)
}

// running is a task process ExecTask started, with what it must release.
type running struct {
	in        ExecTaskInput
	box       *sandbox.Run
	cmd       *exec.Cmd
	logFile   *os.File
	head      *stderrHead
	logBytes  countingWriter
	startedAt time.Time
	// exited gets the leader's wait result; copied closes when both
	// output streams are drained.
	exited  chan error
	copied  chan struct{}
	outputs []*os.File
	// release undoes the run's set-up, last first.
	undo []func()
}

// release closes and removes what spawn made for the run.
func (r *running) release(log *slog.Logger) {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	if err := r.box.Close(); err != nil {
		log.Warn("remove the run's cgroups", slog.Any("error", err))
	}
}

// spawn makes the run's boundary, log, private folder and helper socket,
// and starts the entrypoint in it. A run that cannot start gets no
// running (nil) and the result that says why.
func (a *Activities) spawn(ctx context.Context, log *slog.Logger, in ExecTaskInput) (*running, ExecTaskResult, error) {
	failed := func(code int, msg string) (*running, ExecTaskResult, error) {
		return nil, ExecTaskResult{ExitCode: code, Error: msg}, nil
	}
	dir, err := a.Layout.TaskDir(in.TaskName)
	if err != nil {
		return failed(tasktype.ExitNoEntrypoint, err.Error())
	}
	argv, err := taskdir.Entrypoint(dir)
	if err == nil {
		argv, err = resolveInterpreter(argv)
	}
	if err != nil {
		code := tasktype.ExitSpawnFailed
		if errors.Is(err, taskdir.ErrNoEntrypoint) {
			code = tasktype.ExitNoEntrypoint
		}
		return failed(code, err.Error())
	}

	// The run's boundary: its user, its cgroup and the cgroup's limits.
	box, err := a.prepareRun(ctx, in)
	if err != nil {
		return failed(tasktype.ExitSpawnFailed, err.Error())
	}
	r := &running{in: in, box: box}
	ok := false
	defer func() {
		if !ok {
			r.release(log)
		}
	}()
	acct := box.Account()

	logPath := a.Layout.Abs(in.LogPath)
	// Logs are the worker's: tasks (another user) neither read other
	// tasks' logs nor rewrite their own.
	if err := os.MkdirAll(filepath.Dir(logPath), 0o750); err != nil {
		return failed(tasktype.ExitSpawnFailed, fmt.Sprintf("create log folder: %v", err))
	}
	if r.logFile, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
		return failed(tasktype.ExitSpawnFailed, fmt.Sprintf("open log: %v", err))
	}
	r.undo = append(r.undo, func() { r.logFile.Close() })

	// A folder of the run's own, that only the run's user can enter: its
	// task helper socket and its TMPDIR (also its HOME).
	runDir, err := a.makeRunDir(in.RunID, acct)
	if err != nil {
		return failed(tasktype.ExitSpawnFailed, err.Error())
	}
	r.undo = append(r.undo, func() { os.RemoveAll(runDir) })
	if acct != nil {
		// publish/ is the one folder of the task the run may write; it
		// goes back to the worker when the run is archived.
		if pub, err := a.Layout.PublishDir(in.TaskName); err == nil {
			if err := os.Lchown(pub, int(acct.UID), int(acct.GID)); err != nil {
				return failed(tasktype.ExitSpawnFailed, fmt.Sprintf("give publish/ to user %s: %v", acct.Name, err))
			}
		}
	}

	var socket string
	if a.HelperDir != "" {
		srv, err := taskhelper.Listen(filepath.Join(runDir, "helper.sock"), &runHelper{a: a, in: in}, log,
			taskhelper.WithPeerCheck(peerCheck(box, in.RunID)))
		if srv != nil {
			r.undo = append(r.undo, func() { srv.Close() })
		}
		if err == nil && acct != nil {
			err = os.Lchown(srv.Path(), int(acct.UID), int(acct.GID))
		}
		if err != nil {
			return failed(tasktype.ExitSpawnFailed, err.Error())
		}
		socket = srv.Path()
	}

	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, ExecTaskResult{}, fmt.Errorf("stdout pipe: %w", err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		stdoutR.Close()
		stdoutW.Close()
		return nil, ExecTaskResult{}, fmt.Errorf("stderr pipe: %w", err)
	}
	r.outputs = []*os.File{stdoutR, stderrR}
	r.undo = append(r.undo, func() { stdoutR.Close(); stderrR.Close() })

	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Dir = dir
	r.cmd.Env = a.taskEnv(in, dir, logPath, socket, filepath.Join(runDir, "tmp"), acct)
	r.cmd.Stdout, r.cmd.Stderr = stdoutW, stderrW
	startErr := box.Start(r.cmd)
	stdoutW.Close()
	stderrW.Close()
	if startErr != nil {
		msg := fmt.Sprintf("start %v: %v", argv, startErr)
		if acct != nil && errors.Is(startErr, os.ErrPermission) {
			msg += fmt.Sprintf(" (user %s must be able to read the task folder and every folder above it)", acct.Name)
		}
		return failed(tasktype.ExitSpawnFailed, msg)
	}
	ok = true
	r.startedAt = time.Now()
	metrics.FireLateness.Observe(r.startedAt.Sub(in.ScheduledTime).Seconds())
	pid := r.cmd.Process.Pid
	log.Info("task started", slog.Int("pid", pid), slog.Any("argv", argv), slog.String("isolation", box.Isolation()))

	// Recording the process comes first: if this worker dies, another one
	// on this host finds the orphan through this row.
	ticks, _ := proc.StartTicks(pid)
	if err := a.Store.SetRunProcess(context.WithoutCancel(ctx), in.RunID, store.RunProcess{
		Host: a.Host, PID: pid, PIDStartTicks: ticks,
		WorkerPID: a.WorkerPID, WorkerStartTicks: a.WorkerStartTicks, StartedAt: r.startedAt,
		Isolation: box.Isolation(), Cgroups: box.Cgroups(),
	}); err != nil {
		log.Error("record task process", slog.Any("error", err))
	}

	r.head = newStderrHead(tasktype.StderrHeadLines)
	capture := &logCapture{out: io.MultiWriter(r.logFile, &r.logBytes)}
	r.copied = make(chan struct{})
	var copiers sync.WaitGroup
	copiers.Add(2)
	go func() { defer copiers.Done(); _ = capture.copyLines(stdoutR, nil) }()
	go func() { defer copiers.Done(); _ = capture.copyLines(stderrR, r.head); _ = r.head.Close() }()
	go func() { copiers.Wait(); close(r.copied) }()
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.cmd.Wait() }()
	return r, ExecTaskResult{}, nil
}

// stopCause is why supervise stopped watching a run.
type stopCause struct {
	waitErr error
	// cancelled: Temporal cancelled the activity (a kill, a timeout).
	cancelled bool
	// withWorker: the worker stopped and the drain time ran out.
	withWorker bool
}

// supervise heartbeats and flushes the run's output until its entrypoint
// exits, Temporal cancels the run, or the worker stops and the drain time
// runs out; in the last two it stops the run.
func (a *Activities) supervise(ctx context.Context, log *slog.Logger, r *running) stopCause {
	metrics.RunningRuns.Inc()
	defer metrics.RunningRuns.Dec()
	interval := a.HeartbeatInterval
	if interval <= 0 {
		interval = time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	// When the worker is asked to stop, a running task gets the drain time
	// to end by itself, then SIGTERM and, after the grace period, SIGKILL.
	workerStop := activity.GetWorkerStopChannel(ctx)
	var drained <-chan time.Time
	for {
		select {
		case err := <-r.exited:
			return stopCause{waitErr: err}
		case <-workerStop:
			workerStop = nil
			log.Info("worker stopping; letting the task finish", slog.Duration("drain", a.Drain))
			drained = time.After(a.Drain)
		case <-drained:
			log.Warn("worker stopping; stopping the task")
			return stopCause{waitErr: a.stopRun(r.box, r.exited), withWorker: true}
		case <-ticker.C:
			activity.RecordHeartbeat(ctx, r.logBytes.n.Load())
			a.flushOutput(ctx, log, r.in.RunID, r.head, r.logFile, false)
		case <-ctx.Done():
			log.Info("stopping task", slog.String("reason", context.Cause(ctx).Error()))
			return stopCause{waitErr: a.stopRun(r.box, r.exited), cancelled: true}
		}
	}
}

// ended kills whatever the entrypoint left behind, records what the run
// used and wrote, and says how it ended.
func (a *Activities) ended(ctx context.Context, log *slog.Logger, r *running, how stopCause) (ExecTaskResult, error) {
	// Whatever the entrypoint left behind goes with it: its whole cgroup
	// (setsid or not), or its process group without one. Then what the
	// run consumed is read.
	usage := r.box.End(r.cmd.ProcessState)
	a.recordUsage(ctx, log, r.in.RunID, usage)
	select {
	case <-r.copied:
	case <-time.After(2 * time.Second):
		// Something outside the group still holds the output open.
		log.Warn("task output still open after the task ended; closing it")
		for _, f := range r.outputs {
			f.Close()
		}
		<-r.copied
	}
	a.flushOutput(ctx, log, r.in.RunID, r.head, r.logFile, true)

	if how.cancelled {
		return ExecTaskResult{}, ctx.Err()
	}
	res := exitResult(how.waitErr)
	if usage.OOMKills > 0 && res.ExitCode != 0 {
		res = ExecTaskResult{ExitCode: tasktype.ExitOutOfMemory, Error: usage.OOMReason()}
	}
	if how.withWorker {
		what := res.Error
		if what == "" {
			what = fmt.Sprintf("it exited with code %d", res.ExitCode)
		}
		res = ExecTaskResult{ExitCode: tasktype.ExitKilled, StoppedWithWorker: true, Error: fmt.Sprintf(
			"stopped with its worker: still running %s after the worker was asked to stop, it got SIGTERM; %s", a.Drain, what)}
	}
	log.Info("task ended", slog.Int("exit_code", res.ExitCode), slog.Duration("took", time.Since(r.startedAt)))
	return res, nil
}

// stopRun sends SIGTERM to every process of the run, then kills them all
// after the grace period, and returns the leader's wait result.
func (a *Activities) stopRun(box *sandbox.Run, exited <-chan error) error {
	_ = box.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(a.KillGrace):
	}
	_ = box.Kill()
	return <-exited
}

// flushOutput writes the stderr head and log size to the run's row when
// they changed, or always when final.
func (a *Activities) flushOutput(ctx context.Context, log *slog.Logger, runID int64, head *stderrHead, logFile *os.File, final bool) {
	lines, total, changed := head.Snapshot()
	if !changed && !final {
		return
	}
	var size int64
	if fi, err := logFile.Stat(); err == nil {
		size = fi.Size()
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = a.Store.SetRunOutput(ctx, runID, lines, total, size); err == nil || !final {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	if err != nil {
		log.Warn("record stderr head", slog.Any("error", err))
	}
}

// exitResult turns the leader's wait result into an exit code.
func exitResult(err error) ExecTaskResult {
	if err == nil {
		return ExecTaskResult{ExitCode: 0}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ExecTaskResult{ExitCode: tasktype.ExitSignaled, Error: fmt.Sprintf("process died of signal %s", ws.Signal())}
		}
		return ExecTaskResult{ExitCode: ee.ExitCode()}
	}
	return ExecTaskResult{ExitCode: tasktype.ExitSpawnFailed, Error: fmt.Sprintf("wait for process: %v", err)}
}
