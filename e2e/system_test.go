package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/monitor"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/temporalclient"
	"github.com/schetask/schetask/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var clientListOptions = client.ScheduleListOptions{PageSize: 1000}

// system is sync and a worker running in this process for one test.
type system struct {
	env     *testenv.Env
	layout  tasktype.Layout
	control *control.Control
	stopW   context.CancelFunc
	wDone   chan struct{}
	// cli is offered to tasks as SCHETASK_BIN when set.
	cli string
}

// startSystem runs sync (with its monitor and deletion alerts) and, when
// asked, a worker, as `schetask all` does; opts adjust the test's world
// first.
func startSystem(t *testing.T, withWorker bool, opts ...func(*testenv.Env)) *system {
	t.Helper()
	env := testenv.New(t)
	for _, o := range opts {
		o(env)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &system{env: env, layout: tasktype.Layout{Root: env.Config.TasksDir},
		control: &control.Control{Store: env.Store, Client: env.Temporal, ScheduleIDPrefix: env.Config.ScheduleIDPrefix}}
	syncDone := make(chan struct{})
	raiser, err := alert.NewRaiser(serviceconfig.Alert(env.Config), env.Store, env.Temporal, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	syncer := newSyncer(t, s)
	syncer.OnTaskDeleted, syncer.OnRunClosed = raiser.TaskDeleted, raiser.RunEnded
	// Runs whose workflow ended without its end hook (terminate_other)
	// are closed within seconds, not the production minute.
	syncer.AbandonedAfter = 5 * time.Second
	mon, err := monitor.New(serviceconfig.Monitor(env.Config), env.Store, raiser, env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	go func() { defer close(syncDone); _ = syncer.Run(ctx) }()
	monDone := make(chan struct{})
	go func() { defer close(monDone); _ = mon.Run(ctx) }()
	if withWorker {
		s.startWorker(t)
	}
	t.Cleanup(func() {
		cancel()
		<-syncDone
		<-monDone
		if s.stopW != nil {
			s.stopWorker()
		}
		// Schedules outlive the test's database; remove them.
		iter, err := env.Temporal.ScheduleClient().List(context.Background(), clientListOptions)
		if err == nil {
			for iter.HasNext() {
				e, err := iter.Next()
				if err != nil {
					break
				}
				if len(e.ID) > len(env.Config.ScheduleIDPrefix) && e.ID[:len(env.Config.ScheduleIDPrefix)] == env.Config.ScheduleIDPrefix {
					_ = env.Temporal.ScheduleClient().GetHandle(context.Background(), e.ID).Delete(context.Background())
				}
			}
		}
	})
	return s
}

func (s *system) startWorker(t *testing.T) {
	t.Helper()
	w, err := worker.New(serviceconfig.Worker(s.env.Config), s.env.Store, s.env.Temporal, s.env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if s.cli != "" {
		w.OfferCLI(s.cli)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopW, s.wDone = cancel, make(chan struct{})
	go func() { defer close(s.wDone); _ = w.Run(ctx) }()
}

// stopWorker stops the worker and waits until it is gone.
func (s *system) stopWorker() {
	s.stopW()
	<-s.wDone
	s.stopW = nil
}

// writeTask deploys a task folder with the given files.
func (s *system) writeTask(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(s.env.Config.TasksDir, name)
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// insertTask adds a row to t_task_list the way a user would, with SQL.
func (s *system) insertTask(t *testing.T, opts *testenv.TaskOpts) {
	t.Helper()
	testenv.Task(context.Background(), t, s.env.Store.Pool(), opts)
}

// runNow triggers a run once sync has made the task's schedule.
func (s *system) runNow(t *testing.T, name string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() string {
		err := s.control.RunNow(context.Background(), name)
		if err != nil {
			return err.Error()
		}
		return ""
	})
}

func (s *system) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.env.Store.Pool().Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (s *system) runs(t *testing.T, name string) []tasktype.Run {
	t.Helper()
	runs, err := s.env.Store.ListRuns(context.Background(), name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// waitRun waits for a run of the task that satisfies ok, newest first.
func (s *system) waitRun(t *testing.T, name string, timeout time.Duration, what string, ok func(tasktype.Run) bool) tasktype.Run {
	t.Helper()
	var found tasktype.Run
	testenv.Eventually(t, timeout, func() string {
		runs := s.runs(t, name)
		for _, r := range runs {
			if ok(r) {
				found = r
				return ""
			}
		}
		return fmt.Sprintf("no run of %s that %s; runs: %s", name, what, describeRuns(runs))
	})
	return found
}

func describeRuns(runs []tasktype.Run) string {
	out := ""
	for i, r := range runs {
		if i == 5 {
			out += fmt.Sprintf(" …(%d more)", len(runs)-5)
			break
		}
		code := "-"
		if r.ExitCode != nil {
			code = fmt.Sprint(*r.ExitCode)
		}
		out += fmt.Sprintf("[%d %s %s exit %s %q] ", r.ID, r.Version, r.Status, code, r.Error)
	}
	if out == "" {
		return "none"
	}
	return out
}

// pidAlive reports whether a process exists and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// schetaskBinary builds cmd/schetask once for tests that need a worker in
// another process.
func schetaskBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "schetask-bin-")
		if err != nil {
			binErr = err
			return
		}
		// Tasks run it as another user (SCHETASK_BIN).
		if binErr = os.Chmod(dir, 0o755); binErr != nil {
			return
		}
		binPath = filepath.Join(dir, "schetask")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/schetask/schetask/cmd/schetask").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build schetask: %v", binErr)
	}
	return binPath
}

func newSyncer(t *testing.T, s *system) *tasksync.Syncer {
	t.Helper()
	syncer, err := tasksync.New(serviceconfig.Sync(s.env.Config), s.env.Store, s.env.Temporal, s.env.Logger)
	if err != nil {
		t.Fatal(err)
	}
	return syncer
}

// startWorkerProcess runs `schetask worker` for the test's system.
func startWorkerProcess(t *testing.T, s *system, extra ...string) *exec.Cmd {
	t.Helper()
	cfg := s.env.Config
	w := exec.Command(schetaskBinary(t), "worker")
	w.Env = append(os.Environ(),
		"SCHETASK_DATABASE_URL="+cfg.DatabaseURL,
		"SCHETASK_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		"SCHETASK_TASK_QUEUE="+cfg.TaskQueue,
		"SCHETASK_TASKS_DIR="+cfg.TasksDir,
		"SCHETASK_METRICS_LISTEN=127.0.0.1:0",
		"SCHETASK_HEARTBEAT_TIMEOUT="+cfg.HeartbeatTimeout.String(),
		"SCHETASK_REAP_INTERVAL=1s",
		"SCHETASK_KILL_GRACE=1s",
	)
	w.Env = append(w.Env, extra...)
	w.Stdout, w.Stderr = testLogWriter{t}, testLogWriter{t}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() })
	return w
}

// ownTemporal is a Temporal dev server of one test's own, its state on
// disk, that the test may stop and start again.
type ownTemporal struct {
	t      *testing.T
	opts   devstack.TemporalOptions
	server *devstack.Temporal
}

func newOwnTemporal(t *testing.T) *ownTemporal {
	t.Helper()
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	o := &ownTemporal{t: t, opts: devstack.TemporalOptions{CLI: cli, Port: testenv.FreePort(),
		DBFile: filepath.Join(t.TempDir(), "temporal.db"), Logger: slog.New(slog.DiscardHandler)}}
	o.start()
	t.Cleanup(func() { _ = o.server.Stop() })
	return o
}

func (o *ownTemporal) start() {
	o.t.Helper()
	server, err := devstack.StartTemporal(context.Background(), o.opts)
	if err != nil {
		o.t.Fatal(err)
	}
	o.server = server
}

func (o *ownTemporal) stop() {
	o.t.Helper()
	if err := o.server.Stop(); err != nil {
		o.t.Fatal(err)
	}
}

// use points a test's world at this server: an option for startSystem.
func (o *ownTemporal) use(env *testenv.Env) {
	// The reconnect policy of every schetask process (temporalclient).
	c, err := client.Dial(temporalclient.Reconnecting(client.Options{HostPort: o.server.Address(), Logger: env.Logger.With("component", "temporal-client")}))
	if err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(c.Close)
	env.Temporal, env.Config.TemporalAddress = c, o.server.Address()
}
