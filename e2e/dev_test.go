package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/schetask/schetask/internal/testenv"
)

// `schetask dev` is what `make run` starts: its own Postgres and Temporal,
// migrations, sync, worker and console. A task row inserted by hand runs;
// Ctrl-C stops everything it started; a second start keeps the data.
// Postgres asks for a password, kept private under the data folder and
// never shown in the output.
func TestDevStackRunsStopsAndKeepsItsData(t *testing.T) {
	t.Parallel()
	stack := newDevStack(t)
	dev := stack.start()
	password := stack.password()
	if fi, err := os.Stat(stack.passwordFile); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: mode %v, want 0600", fi.Mode())
	}
	pgURL := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(stack.pgPort),
		Path: "/schetask", RawQuery: "sslmode=disable"}
	if conn, err := pgx.Connect(context.Background(), pgURL.String()); err == nil {
		conn.Close(context.Background())
		t.Error("the dev Postgres let a connection in without the password")
	} else if pgErr := new(pgconn.PgError); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("connection without the password: %v, want password authentication failed", err)
	}
	stack.insertGold("*/2 * * * * *")
	testenv.Eventually(t, 20*time.Second, func() string {
		if n := stack.countRuns(); n < 2 {
			return fmt.Sprintf("%d succeeded runs", n)
		}
		return ""
	})
	requireMetrics(t, "http://"+stack.metricsAddr+"/metrics")
	// The worker says how it contains tasks, and the data stays private.
	_, health := stack.health()
	if !strings.HasPrefix(health, "ok\n") || !strings.Contains(health, "isolation: ") ||
		!strings.Contains(health, "user=schetask-task") {
		t.Errorf("/healthz = %q, want ok and the isolation", health)
	}
	if fi, err := os.Stat(stack.data); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("data dir %s is open to other users: %v %v", stack.data, fi.Mode(), err)
	}
	stack.stop(dev)

	dev = stack.start()
	before := stack.countRuns()
	if before < 2 {
		t.Fatalf("the second start lost the runs: %d", before)
	}
	if b, err := os.ReadFile(stack.passwordFile); err != nil || strings.TrimSpace(string(b)) != password {
		t.Errorf("the second start changed or lost the password file: %v", err)
	}
	testenv.Eventually(t, 20*time.Second, func() string {
		if n := stack.countRuns(); n <= before {
			return fmt.Sprintf("no new run after the restart (%d)", n)
		}
		return ""
	})
	stack.stop(dev)
	if !strings.Contains(stack.output.String(), "$(cat '"+stack.passwordFile+"') psql") {
		t.Errorf("the output shows no psql command reading the password file")
	}
	if strings.Contains(stack.output.String(), password) {
		t.Errorf("the output shows the database password")
	}
}

// devStack is what `schetask dev` runs on, over one or more starts: a
// data folder, a tasks folder with the example gold task, free ports.
type devStack struct {
	t                   *testing.T
	bin                 string
	data, passwordFile  string
	listen, metricsAddr string
	pgPort              int
	env                 []string
	// output is everything schetask dev printed, over every start.
	output *lockedBuffer
}

// devProc is one `schetask dev`; exited is closed when it ends.
type devProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// newDevStack lays out a dev stack's folders and picks its ports.
func newDevStack(t *testing.T) *devStack {
	t.Helper()
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(): the postgres user must reach the data folder.
	data, err := os.MkdirTemp("", "schetask-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	_ = os.Chmod(data, 0o755)
	tasks := testenv.TasksDir(t)
	if err := os.MkdirAll(filepath.Join(tasks, "gold"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tasks, "gold", "index.js"), []byte(exampleGold(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &devStack{t: t, bin: schetaskBinary(t), data: data, passwordFile: filepath.Join(data, "postgres-password"),
		pgPort: testenv.FreePort(), listen: "127.0.0.1:" + strconv.Itoa(testenv.FreePort()),
		metricsAddr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort()), output: &lockedBuffer{}}
	s.env = append(os.Environ(),
		"SCHETASK_DATA_DIR="+data,
		"SCHETASK_TASKS_DIR="+tasks,
		"SCHETASK_TEMPORAL_CLI="+cli,
		"SCHETASK_LISTEN="+s.listen,
		"SCHETASK_METRICS_LISTEN="+s.metricsAddr,
		"SCHETASK_DEV_PG_PORT="+strconv.Itoa(s.pgPort),
		"SCHETASK_DEV_TEMPORAL_PORT="+strconv.Itoa(testenv.FreePort()),
		"SCHETASK_DEV_TEMPORAL_UI_PORT="+strconv.Itoa(testenv.FreePort()),
	)
	return s
}

// start starts `schetask dev` and waits until its console answers; a
// test that ends before stopping it has it stopped.
func (s *devStack) start() *devProc {
	t := s.t
	t.Helper()
	cmd := exec.Command(s.bin, "dev")
	cmd.Env = s.env
	out := io.MultiWriter(testLogWriter{t}, s.output)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	testenv.Eventually(t, 90*time.Second, func() string {
		select {
		case <-p.exited:
			// Its output, logged above, says why.
			t.Fatalf("schetask dev exited before serving: %v", p.err)
		default:
		}
		resp, err := http.Get("http://" + s.listen + "/healthz")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp.Status
		}
		return ""
	})
	return p
}

// stop sends what Ctrl-C in the terminal sends and checks that
// everything the stack started went with it.
func (s *devStack) stop(p *devProc) {
	t := s.t
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("schetask dev exited with %v after Ctrl-C", p.err)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("schetask dev did not stop within 60 s of Ctrl-C")
	}
	// Postgres and Temporal (both started on files under the data dir)
	// went with it.
	if pids, _ := processesUsing(s.data); len(pids) > 0 {
		t.Errorf("still running after Ctrl-C: %v", pids)
	}
}

// password returns the dev Postgres's password, from its file.
func (s *devStack) password() string {
	s.t.Helper()
	b, err := os.ReadFile(s.passwordFile)
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// dbURL returns the URL of the dev stack's database, with the password.
func (s *devStack) dbURL() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", s.password()),
		Host: "127.0.0.1:" + strconv.Itoa(s.pgPort), Path: "/schetask", RawQuery: "sslmode=disable"}
	return u.String()
}

// insertGold inserts the gold task on rule, as a user would by hand.
func (s *devStack) insertGold(rule string) {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.dbURL())
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	testenv.Task(context.Background(), s.t, conn, &testenv.TaskOpts{Name: "gold", Rule: rule})
}

// countRuns returns the number of succeeded runs, or -1 when the
// database cannot tell.
func (s *devStack) countRuns() int {
	conn, err := pgx.Connect(context.Background(), s.dbURL())
	if err != nil {
		return -1
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM t_task_exec_list WHERE status = 'succeeded'`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// health returns the status and body of /healthz on the metrics port.
func (s *devStack) health() (int, string) {
	s.t.Helper()
	resp, err := http.Get("http://" + s.metricsAddr + "/healthz")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lockedBuffer collects a process's output, written from two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// processesUsing lists live processes whose command line names dir.
func processesUsing(dir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && pidAlive(pid) && bytes.Contains(b, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// requireMetrics checks that /metrics shows every metric the README
// documents, with the values a few successful runs of gold leave.
func requireMetrics(t *testing.T, url string) {
	t.Helper()
	var body string
	testenv.Eventually(t, 10*time.Second, func() string {
		resp, err := http.Get(url)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^schetask_fire_lateness_seconds_count [1-9]`),
			regexp.MustCompile(`(?m)^schetask_run_duration_seconds_count\{outcome="succeeded"\} [1-9]`),
			regexp.MustCompile(`(?m)^schetask_runs_total\{outcome="succeeded",task="gold"\} [1-9]`),
			regexp.MustCompile(`(?m)^schetask_missed_runs_total\{task="gold"\} 0$`),
			regexp.MustCompile(`(?m)^schetask_alerts_total\{channel="webhook",result="sent"\} 0$`),
			regexp.MustCompile(`(?m)^schetask_sync_lag_seconds_count [1-9]`),
			regexp.MustCompile(`(?m)^schetask_sync_writes_total\{kind="created"\} 1$`),
			regexp.MustCompile(`(?m)^schetask_schedules_out_of_sync 0$`),
			regexp.MustCompile(`(?m)^schetask_orphans_killed_total 0$`),
			regexp.MustCompile(`(?m)^schetask_running_runs [0-9]`),
			regexp.MustCompile(`(?m)^schetask_console_requests_total\{code="200",method="GET"\} [1-9]`),
		} {
			if !want.MatchString(body) {
				return "no line matching " + want.String()
			}
		}
		return ""
	})
}
