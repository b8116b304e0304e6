// Command schetask-bench measures what schetask adds to a task's run: fire
// lateness (nominal fire time → child process started) and wall overhead
// (nominal fire time → run recorded as ended, against the same `node
// index.js` run bare). It starts its own Postgres and Temporal dev server,
// like the tests, and prints human-readable figures and a JSON line.
//
//	go run ./cmd/schetask-bench -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/testenv"
	schedrule "github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/store"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/worker"
)

const trivialTask = "console.log('bench ' + process.env.SCHETASK_TASK_VERSION);\n"

func main() {
	duration := flag.Duration("duration", 40*time.Second, "how long the every-second task runs")
	bare := flag.Int("bare", 30, "how many bare node runs to time")
	rule := flag.String("rule", "* * * * * *", "the bench task's rule")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), logger, *duration, *bare, *rule); err != nil {
		fmt.Fprintln(os.Stderr, "schetask-bench:", err)
		os.Exit(1)
	}
}

// Result is the JSON the benchmark prints.
type Result struct {
	Runs              int     `json:"runs"`
	LatenessP50Ms     float64 `json:"lateness_p50_ms"`
	LatenessP99Ms     float64 `json:"lateness_p99_ms"`
	LatenessMaxMs     float64 `json:"lateness_max_ms"`
	BareP50Ms         float64 `json:"bare_node_p50_ms"`
	RunWallP50Ms      float64 `json:"schetask_wall_p50_ms"`
	ProcessWallP50Ms  float64 `json:"schetask_process_p50_ms"`
	OverheadRatio     float64 `json:"wall_overhead_ratio"`
	ProcessRatio      float64 `json:"process_overhead_ratio"`
	MissedOrDuplicate int     `json:"missed_or_duplicate_fires"`
}

func run(ctx context.Context, logger *slog.Logger, duration time.Duration, bareRuns int, rule string) error {
	tmp, err := os.MkdirTemp("", "schetask-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	_ = os.Chmod(tmp, 0o755)
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Dir: filepath.Join(tmp, "pg"), Port: testenv.FreePort(), Logger: logger})
	if err != nil {
		return err
	}
	defer pg.Stop()
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return err
	}
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{CLI: cli, Port: testenv.FreePort(),
		LogFile: filepath.Join(tmp, "temporal.log"), Logger: logger})
	if err != nil {
		return err
	}
	defer tp.Stop()

	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return err
	}
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TasksDir = pg.URL(), tp.Address(), filepath.Join(tmp, "task")
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress})
	if err != nil {
		return err
	}
	defer c.Close()

	taskDir := filepath.Join(cfg.TasksDir, "bench")
	if err := os.MkdirAll(taskDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(taskDir, "index.js"), []byte(trivialTask), 0o644); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := worker.New(cfg, st, c, logger)
	if err != nil {
		return err
	}
	go func() { _ = w.Run(runCtx) }()
	go func() { _ = tasksync.New(cfg, st, c, logger).Run(runCtx) }()

	if err := st.UpsertTask(ctx, tasktype.Task{Name: "bench", Rule: rule, TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "running a trivial node task every second for %s…\n", duration)
	time.Sleep(duration)
	if err := st.SetTaskStatus(ctx, "bench", tasktype.StatusOff); err != nil {
		return err
	}
	// Let the last runs finish.
	deadline := time.Now().Add(30 * time.Second)
	var runs []tasktype.Run
	for time.Now().Before(deadline) {
		if runs, err = st.ListRuns(ctx, "bench", 100000); err != nil {
			return err
		}
		open := 0
		for _, r := range runs {
			if r.Status == tasktype.RunRunning {
				open++
			}
		}
		if open == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Bare: the same command, run directly, once the scheduled runs are over.
	var bareMs []float64
	for i := 0; i < bareRuns; i++ {
		start := time.Now()
		cmd := exec.Command("node", "index.js")
		cmd.Dir = taskDir
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bare node: %w", err)
		}
		bareMs = append(bareMs, ms(time.Since(start)))
	}

	var late, wall, procWall []float64
	seen := map[time.Time]bool{}
	var first, last time.Time
	res := Result{}
	for _, r := range runs {
		if r.Status != tasktype.RunSucceeded || r.ProcessStartTime == nil || r.EndTime == nil {
			res.MissedOrDuplicate++
			continue
		}
		if seen[r.ScheduledTime] {
			res.MissedOrDuplicate++
		}
		seen[r.ScheduledTime] = true
		if first.IsZero() || r.ScheduledTime.Before(first) {
			first = r.ScheduledTime
		}
		if r.ScheduledTime.After(last) {
			last = r.ScheduledTime
		}
		late = append(late, ms(r.ProcessStartTime.Sub(r.ScheduledTime)))
		wall = append(wall, ms(r.EndTime.Sub(r.ScheduledTime)))
		procWall = append(procWall, ms(r.EndTime.Sub(*r.ProcessStartTime)))
	}
	if len(late) == 0 {
		return fmt.Errorf("no successful runs")
	}
	parsed, err := schedrule.Parse(rule)
	if err != nil {
		return err
	}
	expected := 1
	for at := parsed.Next(first, time.UTC); !at.After(last); at = parsed.Next(at, time.UTC) {
		expected++
	}
	res.MissedOrDuplicate += abs(expected - len(seen))
	res.Runs = len(late)
	res.LatenessP50Ms, res.LatenessP99Ms, res.LatenessMaxMs = pct(late, 50), pct(late, 99), pct(late, 100)
	res.BareP50Ms, res.RunWallP50Ms, res.ProcessWallP50Ms = pct(bareMs, 50), pct(wall, 50), pct(procWall, 50)
	res.OverheadRatio = res.RunWallP50Ms / res.BareP50Ms
	res.ProcessRatio = res.ProcessWallP50Ms / res.BareP50Ms

	fmt.Printf("runs measured            %d (missed or doubled fires: %d)\n", res.Runs, res.MissedOrDuplicate)
	fmt.Printf("fire lateness            p50 %.0f ms   p99 %.0f ms   max %.0f ms   (nominal fire → child process started)\n",
		res.LatenessP50Ms, res.LatenessP99Ms, res.LatenessMaxMs)
	fmt.Printf("bare node index.js       p50 %.0f ms\n", res.BareP50Ms)
	fmt.Printf("schetask run             p50 %.0f ms   = %.2f× bare   (nominal fire → run recorded as ended)\n", res.RunWallP50Ms, res.OverheadRatio)
	fmt.Printf("schetask process only    p50 %.0f ms   = %.2f× bare   (process start → run recorded as ended)\n", res.ProcessWallP50Ms, res.ProcessRatio)
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(v []float64, p int) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := (len(s) - 1) * p / 100
	return s[i]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
