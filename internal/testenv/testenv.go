// Package testenv gives tests a real Postgres and a real Temporal server.
//
// A test package calls Main from TestMain; it starts a private Postgres
// cluster and a Temporal dev server for the package (or reuses the ones
// named by SCHETASK_TEST_DATABASE_URL and SCHETASK_TEST_TEMPORAL_ADDRESS),
// and New gives each test its own database, task queue, schedule id prefix
// and tasks folder, so tests run in parallel without seeing each other.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/temporalclient"
)

var (
	adminURL        string // the cluster's postgres database
	temporalAddress string
)

// Main runs the package's tests with Postgres and Temporal available.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	adminURL = os.Getenv("SCHETASK_TEST_DATABASE_URL")
	temporalAddress = os.Getenv("SCHETASK_TEST_TEMPORAL_ADDRESS")
	if adminURL == "" {
		dir, err := os.MkdirTemp("", "schetask-test-pg-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		_ = os.Chmod(dir, 0o755)
		pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{
			Dir: filepath.Join(dir, "pg"), Port: FreePort(), Database: "postgres", Logger: logger,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv: start postgres:", err)
			return 1
		}
		defer pg.Stop()
		adminURL = pg.AdminURL()
	}
	if temporalAddress == "" {
		cli, err := TemporalCLI()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
		logFile := filepath.Join(os.TempDir(), fmt.Sprintf("schetask-test-temporal-%d.log", os.Getpid()))
		tmp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
			CLI: cli, Port: FreePort(), LogFile: logFile, Logger: logger,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv: start temporal:", err)
			return 1
		}
		defer os.Remove(logFile)
		defer tmp.Stop()
		temporalAddress = tmp.Address()
	}
	return m.Run()
}

// TemporalCLI finds the temporal binary: $SCHETASK_TEMPORAL_CLI or bin/temporal
// at the repository root.
func TemporalCLI() (string, error) {
	if p := os.Getenv("SCHETASK_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing: run the tests with `make test`, which builds it", p)
	}
	return p, nil
}

// RepoRoot returns the folder holding go.mod, above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("testenv: find a free port: %v", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Env is one test's private world on the shared servers.
type Env struct {
	// Config points at this test's database, task queue, schedule prefix
	// and tasks folder, with short timings.
	Config config.Config
	// Store is connected to the test's own migrated database.
	Store *store.Store
	// Temporal is a client of the test server.
	Temporal client.Client
	// Logger writes to the test log.
	Logger *slog.Logger
}

// New makes a fresh world for one test and cleans it up after.
func New(t testing.TB) *Env {
	t.Helper()
	if adminURL == "" {
		t.Fatal("testenv: call testenv.Main from the package's TestMain")
	}
	ctx := context.Background()
	id := randomID()
	dbName := "t_" + id

	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testenv: connect postgres: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	admin.Close(ctx)
	dbURL := strings.Replace(adminURL, "/postgres?", "/"+dbName+"?", 1)

	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("testenv: config: %v", err)
	}
	cfg.DatabaseURL = dbURL
	cfg.TemporalAddress = temporalAddress
	cfg.TaskQueue = "schetask-" + id
	cfg.ScheduleIDPrefix = "t" + id + "-"
	cfg.TasksDir = TasksDir(t)
	cfg.ResyncInterval = 2 * time.Second
	cfg.HeartbeatTimeout = 3 * time.Second
	cfg.KillGrace = time.Second
	cfg.ReapInterval = time.Second
	cfg.CatchupWindow = 10 * time.Second
	publishRoot := t.TempDir()
	cfg.PublishTargets = "pre=" + filepath.Join(publishRoot, "pre") + ",prod=" + filepath.Join(publishRoot, "prod")

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := client.Dial(temporalclient.Reconnecting(client.Options{HostPort: temporalAddress, Logger: logger.With("component", "temporal-client")}))
	if err != nil {
		t.Fatalf("testenv: dial temporal: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		st.Close()
		if admin, err := pgx.Connect(context.Background(), adminURL); err == nil {
			_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
			admin.Close(context.Background())
		}
	})
	return &Env{Config: cfg, Store: st, Temporal: c, Logger: logger}
}

// TasksDir makes a tasks folder that the task user can reach, as a
// deployed one is (t.TempDir's folders are 0700), removed after the test.
func TasksDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "schetask-tasks-")
	if err != nil {
		t.Fatalf("testenv: tasks folder: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testenv: tasks folder: %v", err)
	}
	return dir
}

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testWriter sends log lines to the test log, and drops them once the
// test is over (background goroutines may still log while stopping).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
