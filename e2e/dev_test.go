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
	bin := schetaskBinary(t)
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
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
	pgPort, listen := testenv.FreePort(), "127.0.0.1:"+strconv.Itoa(testenv.FreePort())
	metricsAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort())
	env := append(os.Environ(),
		"SCHETASK_DATA_DIR="+data,
		"SCHETASK_TASKS_DIR="+tasks,
		"SCHETASK_TEMPORAL_CLI="+cli,
		"SCHETASK_LISTEN="+listen,
		"SCHETASK_METRICS_LISTEN="+metricsAddr,
		"SCHETASK_DEV_PG_PORT="+strconv.Itoa(pgPort),
		"SCHETASK_DEV_TEMPORAL_PORT="+strconv.Itoa(testenv.FreePort()),
		"SCHETASK_DEV_TEMPORAL_UI_PORT="+strconv.Itoa(testenv.FreePort()),
	)
	passwordFile := filepath.Join(data, "postgres-password")
	var dbURL string
	// Everything schetask dev printed, over both starts.
	output := &lockedBuffer{}

	// devProc is one `schetask dev`; exited is closed when it ends.
	type devProc struct {
		cmd    *exec.Cmd
		exited chan struct{}
		err    error
	}
	start := func() *devProc {
		cmd := exec.Command(bin, "dev")
		cmd.Env = env
		out := io.MultiWriter(testLogWriter{t}, output)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &devProc{cmd: cmd, exited: make(chan struct{})}
		go func() { p.err = cmd.Wait(); close(p.exited) }()
		testenv.Eventually(t, 90*time.Second, func() string {
			select {
			case <-p.exited:
				// Its output, logged above, says why.
				t.Fatalf("schetask dev exited before serving: %v", p.err)
			default:
			}
			resp, err := http.Get("http://" + listen + "/healthz")
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
	countRuns := func() int {
		conn, err := pgx.Connect(context.Background(), dbURL)
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
	stop := func(p *devProc) {
		// What Ctrl-C in the terminal sends.
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
		if pids, _ := processesUsing(data); len(pids) > 0 {
			t.Errorf("still running after Ctrl-C: %v", pids)
		}
	}

	dev := start()
	b, err := os.ReadFile(passwordFile)
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(b))
	if fi, err := os.Stat(passwordFile); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: mode %v, want 0600", fi.Mode())
	}
	pgURL := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(pgPort),
		Path: "/schetask", RawQuery: "sslmode=disable"}
	if conn, err := pgx.Connect(context.Background(), pgURL.String()); err == nil {
		conn.Close(context.Background())
		t.Error("the dev Postgres let a connection in without the password")
	} else if pgErr := new(pgconn.PgError); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("connection without the password: %v, want password authentication failed", err)
	}
	pgURL.User = url.UserPassword("postgres", password)
	dbURL = pgURL.String()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Task(context.Background(), t, conn, &testenv.TaskOpts{Name: "gold", Rule: "*/2 * * * * *"})
	conn.Close(context.Background())
	testenv.Eventually(t, 20*time.Second, func() string {
		if n := countRuns(); n < 2 {
			return fmt.Sprintf("%d succeeded runs", n)
		}
		return ""
	})
	requireMetrics(t, "http://"+metricsAddr+"/metrics")
	// The worker says how it contains tasks, and the data stays private.
	resp, err := http.Get("http://" + metricsAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(health), "ok\n") || !strings.Contains(string(health), "isolation: ") ||
		!strings.Contains(string(health), "user=schetask-task") {
		t.Errorf("/healthz = %q, want ok and the isolation", health)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("data dir %s is open to other users: %v %v", data, fi.Mode(), err)
	}
	stop(dev)

	dev = start()
	before := countRuns()
	if before < 2 {
		t.Fatalf("the second start lost the runs: %d", before)
	}
	if b, err := os.ReadFile(passwordFile); err != nil || strings.TrimSpace(string(b)) != password {
		t.Errorf("the second start changed or lost the password file: %v", err)
	}
	testenv.Eventually(t, 20*time.Second, func() string {
		if n := countRuns(); n <= before {
			return fmt.Sprintf("no new run after the restart (%d)", n)
		}
		return ""
	})
	stop(dev)
	if !strings.Contains(output.String(), "$(cat '"+passwordFile+"') psql") {
		t.Errorf("the output shows no psql command reading the password file")
	}
	if strings.Contains(output.String(), password) {
		t.Errorf("the output shows the database password")
	}
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
