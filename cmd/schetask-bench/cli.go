package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/control"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// CLIResult is `schetask run <task> --wait` timed end to end (the CLI's
// process started → it exited with the run's result, through the
// console's API, Temporal and the worker) beside the task's `node
// index.js` run bare with the environment the worker gives tasks and its
// output piped to a file, alternating, in the same run: what schetask
// adds to running a task by hand.
type CLIResult struct {
	Task string `json:"task"`
	// CLIRunWait is `schetask run <task> --wait`; Bare is bare node.
	CLIRunWait Dist `json:"cli_run_wait"`
	Bare       Dist `json:"bare_node"`
	// AddedP50Ms and AddedMaxMs are the CLI's p50 and max beyond bare
	// node's (below 100 samples the slow end is the max, not a p99).
	AddedP50Ms float64 `json:"added_p50_ms"`
	AddedMaxMs float64 `json:"added_max_ms"`
}

// print shows the result for people.
func (r CLIResult) print() {
	fmt.Printf("schetask run %s --wait, alternating with bare node:\n", r.Task)
	fmt.Printf("  schetask run --wait (end to end)        %s\n", r.CLIRunWait)
	fmt.Printf("  bare node (worker's env, piped to file) %s\n", r.Bare)
	fmt.Printf("  schetask adds                           %.0f ms at p50, %.0f ms at max (n=%d)\n", r.AddedP50Ms, r.AddedMaxMs, r.CLIRunWait.N)
}

// cliScenario is the `cli` scenario: the worker's task environment read
// through schetask, then cliBench.
func (b bench) cliScenario(ctx context.Context, cfg config.Config, tmp string, n int) (CLIResult, error) {
	bareDir := filepath.Join(tmp, "bare-cli")
	if err := os.MkdirAll(bareDir, 0o700); err != nil {
		return CLIResult{}, err
	}
	env, err := b.taskEnv(ctx, bareDir)
	if err != nil {
		return CLIResult{}, fmt.Errorf("the task's environment: %w", err)
	}
	return b.cliBench(ctx, cfg, env, tmp, n)
}

// cliBench serves the console's API over the bench's stack, builds the
// schetask binary, and times n runs of a trivial node task through
// `schetask run --wait` against bare node with env, alternating.
func (b bench) cliBench(ctx context.Context, cfg config.Config, env []string, tmp string, n int) (CLIResult, error) {
	const name = "bench-cli"
	res := CLIResult{Task: name}
	node, err := exec.LookPath("node")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "cli: building schetask…\n")
	bin := filepath.Join(tmp, "schetask-cli")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/schetask/schetask/cmd/schetask").CombinedOutput(); err != nil {
		return res, fmt.Errorf("build schetask: %w: %s", err, out)
	}
	base, token, stop, err := b.serveAPI(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer stop()

	// The same trivial task as bare node runs, in a folder of its own.
	dir := filepath.Join(filepath.Dir(b.taskDir), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(trivialTask), 0o644); err != nil {
		return res, err
	}
	// On a rule that does not fire: only the CLI starts its runs.
	if err := b.store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: "0 0 1 1 *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
		return res, err
	}
	defer func() { _ = b.store.DeleteTask(context.WithoutCancel(ctx), name) }()
	if _, err := b.waitSynced(ctx, []string{name}, false, time.Minute); err != nil {
		return res, err
	}
	out, err := os.Create(filepath.Join(tmp, "bare-cli.log"))
	if err != nil {
		return res, err
	}
	defer out.Close()
	runCLI := func() (float64, error) {
		cmd := exec.CommandContext(ctx, bin, "run", name, "--wait")
		cmd.Env = append(os.Environ(), "SCHETASK_URL="+base, "SCHETASK_TOKEN="+token)
		cmd.Stdout = io.Discard
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("schetask run %s --wait: %w: %s", name, err, stderr.String())
		}
		return ms(took), nil
	}
	// One of each first: the binaries and node's files in the page cache.
	if _, err := runCLI(); err != nil {
		return res, err
	}
	if _, err := b.bareOnce(node, env, out); err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "cli: %d runs of schetask run --wait, alternating with bare node…\n", n)
	var viaCLI, bare []float64
	for i := range n {
		// Which goes first alternates, so neither always follows the other.
		steps := []func() error{
			func() error { d, err := runCLI(); viaCLI = append(viaCLI, d); return err },
			func() error { d, err := b.bareOnce(node, env, out); bare = append(bare, d); return err },
		}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return res, err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	res.CLIRunWait, res.Bare = summarize(viaCLI), summarize(bare)
	res.AddedP50Ms = res.CLIRunWait.P50 - res.Bare.P50
	res.AddedMaxMs = res.CLIRunWait.Max - res.Bare.Max
	return res, nil
}

// serveAPI serves the console (and its API) over the bench's stack on a
// local port and returns its address and an admin's API token.
func (b bench) serveAPI(ctx context.Context, cfg config.Config) (base, token string, stop func(), err error) {
	password := rand.Text()
	hash, err := webui.HashPassword(password)
	if err != nil {
		return "", "", nil, err
	}
	if err := b.store.UpsertUser(ctx, store.User{Username: "bench", PasswordHash: hash, Role: string(webui.RoleAdmin)}); err != nil {
		return "", "", nil, err
	}
	_, token, err = b.store.CreateToken(ctx, store.APIToken{Name: "bench-cli-" + rand.Text()[:8], Username: "bench", Role: string(webui.RoleAdmin)})
	if err != nil {
		return "", "", nil, err
	}
	srv, err := webui.New(b.store, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default", TasksDir: cfg.TasksDir,
		Control: &control.Control{Store: b.store, Client: b.temporal, ScheduleIDPrefix: cfg.ScheduleIDPrefix}})
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.RunListener(srvCtx, ln) }()
	return "http://" + ln.Addr().String(), token, func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "schetask-bench: console:", err)
		}
	}, nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
