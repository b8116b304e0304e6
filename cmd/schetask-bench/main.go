// Command schetask-bench measures what schetask adds to a task's run: fire
// lateness (nominal fire time → child process started) and wall overhead
// (nominal fire time → run recorded as ended, against the same `node
// index.js` run bare), and alert latency (a failed run's end → its alert
// received by a webhook). It starts its own Postgres and Temporal dev server,
// like the tests, measures each rule in turn, and prints human-readable
// figures and a JSON line per rule.
//
//	go run ./cmd/schetask-bench -duration 60s -rules '*/2 * * * * *;* * * * * *'
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
	"strings"
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
	duration := flag.Duration("duration", 30*time.Second, "how long each rule's task runs")
	bare := flag.Int("bare", 30, "how many bare node runs to time")
	rules := flag.String("rules", "*/2 * * * * *;* * * * * *", "the rules to measure, separated by ';'")
	alerts := flag.Duration("alerts", 20*time.Second, "how long the failing task runs for alert latency (0 skips it)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), logger, *duration, *bare, strings.Split(*rules, ";"), *alerts); err != nil {
		fmt.Fprintln(os.Stderr, "schetask-bench:", err)
		os.Exit(1)
	}
}

// Result is the JSON the benchmark prints for one rule.
type Result struct {
	Rule              string  `json:"rule"`
	Runs              int     `json:"runs"`
	MissedOrDuplicate int     `json:"missed_or_duplicate_fires"`
	LatenessP50Ms     float64 `json:"lateness_p50_ms"`
	LatenessP99Ms     float64 `json:"lateness_p99_ms"`
	LatenessMaxMs     float64 `json:"lateness_max_ms"`
	BareP50Ms         float64 `json:"bare_node_p50_ms"`
	RunWallP50Ms      float64 `json:"schetask_wall_p50_ms"`
	ProcessWallP50Ms  float64 `json:"schetask_process_p50_ms"`
	OverheadRatio     float64 `json:"wall_overhead_ratio"`
	ProcessRatio      float64 `json:"process_overhead_ratio"`
}

// bench is the running stack the measurements use.
type bench struct {
	store   *store.Store
	taskDir string
}

func run(ctx context.Context, logger *slog.Logger, duration time.Duration, bareRuns int, rules []string, alertsFor time.Duration) error {
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
	rcv := newReceiver()
	defer rcv.srv.Close()
	// Every failure alerts: the repeat limit would hold the measured ones back.
	cfg.Webhook.URL, cfg.AlertRepeatInterval = rcv.srv.URL, time.Nanosecond
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Logger: devstack.SilentLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()

	b := bench{store: st, taskDir: filepath.Join(cfg.TasksDir, "bench")}
	if err := os.MkdirAll(b.taskDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.taskDir, "index.js"), []byte(trivialTask), 0o644); err != nil {
		return err
	}
	bareMs, err := b.timeBare(bareRuns)
	if err != nil {
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

	for _, rule := range rules {
		res, err := b.measure(ctx, strings.TrimSpace(rule), duration, bareMs)
		if err != nil {
			return fmt.Errorf("rule %q: %w", rule, err)
		}
		fmt.Printf("rule %q: %d runs, %d missed or doubled fires\n", res.Rule, res.Runs, res.MissedOrDuplicate)
		fmt.Printf("  fire lateness          p50 %.0f ms   p99 %.0f ms   max %.0f ms   (nominal fire → child process started)\n",
			res.LatenessP50Ms, res.LatenessP99Ms, res.LatenessMaxMs)
		fmt.Printf("  bare node index.js     p50 %.0f ms\n", res.BareP50Ms)
		fmt.Printf("  schetask run           p50 %.0f ms   = %.2f× bare   (nominal fire → run recorded as ended)\n", res.RunWallP50Ms, res.OverheadRatio)
		fmt.Printf("  schetask process only  p50 %.0f ms   = %.2f× bare   (process started → run recorded as ended)\n", res.ProcessWallP50Ms, res.ProcessRatio)
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	}
	if alertsFor > 0 {
		res, err := b.measureAlerts(ctx, rcv, alertsFor)
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		fmt.Printf("alerts: %d failures alerted, %d undelivered\n", res.Alerts, res.Undelivered)
		fmt.Printf("  alert latency          p50 %.0f ms   p99 %.0f ms   max %.0f ms   (run ended → webhook received)\n",
			res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyMaxMs)
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	}
	return nil
}

// timeBare runs the task's command directly, as a person would.
func (b bench) timeBare(n int) ([]float64, error) {
	var out []float64
	for i := 0; i < n; i++ {
		start := time.Now()
		cmd := exec.Command("node", "index.js")
		cmd.Dir = b.taskDir
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("bare node: %w", err)
		}
		out = append(out, ms(time.Since(start)))
	}
	return out, nil
}

// measure runs the trivial task on rule for duration and summarises its runs.
func (b bench) measure(ctx context.Context, rule string, duration time.Duration, bareMs []float64) (Result, error) {
	res := Result{Rule: rule}
	parsed, err := schedrule.Parse(rule)
	if err != nil {
		return res, err
	}
	name := "bench"
	if err := b.store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: rule, TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
		return res, err
	}
	since := time.Now()
	fmt.Fprintf(os.Stderr, "running a trivial node task on %q for %s…\n", rule, duration)
	time.Sleep(duration)
	if err := b.store.SetTaskStatus(ctx, name, tasktype.StatusOff); err != nil {
		return res, err
	}
	var runs []tasktype.Run
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		all, err := b.store.ListRuns(ctx, name, 100000)
		if err != nil {
			return res, err
		}
		runs = runs[:0]
		open := 0
		for _, r := range all {
			if r.StartTime.After(since) {
				runs = append(runs, r)
				if r.Status == tasktype.RunRunning {
					open++
				}
			}
		}
		if open == 0 {
			break
		}
	}

	var late, wall, procWall []float64
	seen := map[time.Time]bool{}
	var first, last time.Time
	for _, r := range runs {
		if r.Status != tasktype.RunSucceeded || r.ProcessStartTime == nil || r.EndTime == nil || seen[r.ScheduledTime] {
			res.MissedOrDuplicate++
			continue
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
		return res, fmt.Errorf("no successful runs in %s (%d runs started)", duration, len(runs))
	}
	expected := 1
	for at := parsed.Next(first, time.UTC); !at.After(last); at = parsed.Next(at, time.UTC) {
		expected++
	}
	res.MissedOrDuplicate += expected - len(seen)
	res.Runs = len(late)
	res.LatenessP50Ms, res.LatenessP99Ms, res.LatenessMaxMs = pct(late, 50), pct(late, 99), pct(late, 100)
	res.BareP50Ms, res.RunWallP50Ms, res.ProcessWallP50Ms = pct(bareMs, 50), pct(wall, 50), pct(procWall, 50)
	res.OverheadRatio = res.RunWallP50Ms / res.BareP50Ms
	res.ProcessRatio = res.ProcessWallP50Ms / res.BareP50Ms
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(v []float64, p int) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[(len(s)-1)*p/100]
}
