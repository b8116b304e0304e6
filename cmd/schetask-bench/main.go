// Command schetask-bench measures schetask on its own Postgres and
// Temporal dev server (as the tests do), one scenario after another:
//
//   - fire lateness (nominal fire time → child process started) p50, p95,
//     p99 and max for 10 tasks every second, and for 100 tasks due at the
//     same second;
//   - wall overhead of a run against the same `node index.js` run bare;
//   - sustained runs per second with many trivial tasks;
//   - sync: 1,000 tasks created → all schedules exist; re-sync unchanged
//     (Temporal writes); 1,000 rule edits → converged; deleted → gone;
//   - alert latency (a failed run's end → its alert at a webhook);
//   - the console's run list over 100,000 runs, unfiltered and filtered,
//     at 200 requests/s offered open loop (runlist.go).
//
// It prints the figures for people, then one JSON document (also written
// to bench-results/bench.json).
//
//	go run ./cmd/schetask-bench -lateness-duration 2m -sync-tasks 1000
//	go run ./cmd/schetask-bench -only runlist
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
	"slices"
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
	"github.com/schetask/schetask/temporalclient"
	"github.com/schetask/schetask/worker"
)

const trivialTask = "console.log('bench ' + process.env.SCHETASK_TASK_VERSION);\n"

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long each rule's task runs")
	bare := flag.Int("bare", 30, "how many bare node runs to time")
	rules := flag.String("rules", "*/2 * * * * *;* * * * * *", "the rules to measure, separated by ';' (empty skips)")
	alerts := flag.Duration("alerts", 20*time.Second, "how long the failing task runs for alert latency (0 skips it)")
	var o options
	flag.DurationVar(&o.latenessDuration, "lateness-duration", 2*time.Minute, "how long the 10 every-second tasks run (0 skips)")
	flag.IntVar(&o.burstTasks, "burst-tasks", 100, "how many tasks are due at the same second (0 skips)")
	flag.IntVar(&o.throughputTasks, "throughput-tasks", 150, "how many tasks on */5 seconds offer the sustained load (0 skips)")
	flag.DurationVar(&o.throughputDuration, "throughput-duration", 30*time.Second, "how long the sustained load runs")
	flag.IntVar(&o.capacityRate, "capacity-rate", 40, "runs started per second, without the scheduler, for worker capacity (0 skips)")
	flag.IntVar(&o.syncTasks, "sync-tasks", 1000, "how many tasks the sync measurement creates and edits (0 skips)")
	flag.IntVar(&o.runListRuns, "runlist-runs", 100000, "how many runs the run list measurement seeds (0 skips)")
	flag.IntVar(&o.runListRate, "runlist-rate", 200, "requests per second offered, open loop, to each run list page")
	flag.DurationVar(&o.runListDuration, "runlist-duration", 20*time.Second, "how long each run list page is measured")
	only := flag.String("only", "", "run only these scenarios, separated by ',': "+strings.Join(scenarioNames, ", "))
	flag.Parse()
	if *only != "" {
		keep := map[string]bool{}
		for _, name := range strings.Split(*only, ",") {
			keep[strings.TrimSpace(name)] = true
		}
		for name := range keep {
			if !slices.Contains(scenarioNames, name) {
				fmt.Fprintf(os.Stderr, "schetask-bench: unknown scenario %q (known: %s)\n", name, strings.Join(scenarioNames, ", "))
				os.Exit(2)
			}
		}
		o.skipUnless(keep, rules, alerts)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), logger, *duration, *bare, strings.FieldsFunc(*rules, func(r rune) bool { return r == ';' }), *alerts, o); err != nil {
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

// options select and size the scenarios.
type options struct {
	latenessDuration   time.Duration
	burstTasks         int
	throughputTasks    int
	throughputDuration time.Duration
	syncTasks          int
	capacityRate       int
	runListRuns        int
	runListRate        int
	runListDuration    time.Duration
}

// scenarioNames are the scenarios -only picks from.
var scenarioNames = []string{"sync", "rules", "lateness", "burst", "capacity", "throughput", "alerts", "runlist"}

// skipUnless turns off every scenario not in keep.
func (o *options) skipUnless(keep map[string]bool, rules *string, alerts *time.Duration) {
	if !keep["sync"] {
		o.syncTasks = 0
	}
	if !keep["rules"] {
		*rules = ""
	}
	if !keep["lateness"] {
		o.latenessDuration = 0
	}
	if !keep["burst"] {
		o.burstTasks = 0
	}
	if !keep["capacity"] {
		o.capacityRate = 0
	}
	if !keep["throughput"] {
		o.throughputTasks = 0
	}
	if !keep["alerts"] {
		*alerts = 0
	}
	if !keep["runlist"] {
		o.runListRuns = 0
	}
}

// Report is everything one benchmark run measured.
type Report struct {
	Rules      []Result         `json:"rules,omitempty"`
	Lateness   []LatenessResult `json:"lateness,omitempty"`
	Throughput *LatenessResult  `json:"throughput,omitempty"`
	Capacity   *LatenessResult  `json:"worker_capacity,omitempty"`
	Sync       *SyncResult      `json:"sync,omitempty"`
	Alerts     *AlertResult     `json:"alerts,omitempty"`
	RunList    []RunListResult  `json:"run_list,omitempty"`
}

// bench is the running stack the measurements use.
type bench struct {
	store   *store.Store
	taskDir string
}

func run(ctx context.Context, logger *slog.Logger, duration time.Duration, bareRuns int, rules []string, alertsFor time.Duration, o options) error {
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
	cfg.WebhookAllowPrivate = true // the receiver listens on loopback
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	c, err := client.Dial(temporalclient.Reconnecting(client.Options{HostPort: cfg.TemporalAddress, Logger: devstack.SilentLogger{}}))
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

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := worker.New(cfg, st, c, logger)
	if err != nil {
		return err
	}
	go func() { _ = w.Run(runCtx) }()
	go func() { _ = tasksync.New(cfg, st, c, logger).Run(runCtx) }()

	var report Report
	printLateness := func(r LatenessResult) {
		fmt.Printf("%s: %d tasks on %q: %d runs, %d missed, %d doubled, %d failed\n", r.Scenario, r.Tasks, r.Rule, r.Runs, r.Missed, r.Doubled, r.Failed)
		fmt.Printf("  fire lateness          p50 %.0f ms   p95 %.0f ms   p99 %.0f ms   max %.0f ms   (p50: %.0f ms to the workflow's start, %.0f ms more to the process)\n",
			r.LatenessP50Ms, r.LatenessP95Ms, r.LatenessP99Ms, r.LatenessMaxMs, r.StartedP50Ms, r.SpawnP50Ms)
		if r.RunsPerSecond > 0 {
			fmt.Printf("  throughput             %.1f runs/s\n", r.RunsPerSecond)
		}
	}
	settle := func() { time.Sleep(15 * time.Second) } // let the server drain the last scenario
	if o.syncTasks > 0 {
		r, err := b.syncTimes(ctx, tasksync.New(cfg, st, c, logger), o.syncTasks)
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		fmt.Printf("sync of %d tasks: created → all schedules exist %.1f s; re-sync unchanged %.1f s with %d writes; rule edits → converged %.1f s; deleted → gone %.1f s\n",
			r.Tasks, r.CreateConvergedS, r.ResyncUnchangedS, r.ResyncUnchangedWrit, r.EditConvergedS, r.DeleteConvergedS)
		report.Sync = &r
	}
	for _, rule := range rules {
		settle()
		// Bare node is timed now, on the same warmed-up machine.
		bareMs, err := b.timeBare(bareRuns)
		if err != nil {
			return err
		}
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
		report.Rules = append(report.Rules, res)
	}
	if o.latenessDuration > 0 {
		settle()
		r, err := b.lateness(ctx, "every-second", 10, "* * * * * *", o.latenessDuration)
		if err != nil {
			return fmt.Errorf("10 tasks every second: %w", err)
		}
		printLateness(r)
		report.Lateness = append(report.Lateness, r)
	}
	if o.burstTasks > 0 {
		settle()
		r, err := b.lateness(ctx, "same-second", o.burstTasks, oneSecondRule(30*time.Second), 0)
		if err != nil {
			return fmt.Errorf("%d tasks due at once: %w", o.burstTasks, err)
		}
		printLateness(r)
		report.Lateness = append(report.Lateness, r)
	}
	if o.capacityRate > 0 {
		settle()
		r, err := b.capacity(ctx, c, cfg, o.capacityRate, o.throughputDuration)
		if err != nil {
			return fmt.Errorf("worker capacity: %w", err)
		}
		printLateness(r)
		report.Capacity = &r
	}
	if o.throughputTasks > 0 {
		settle()
		r, err := b.lateness(ctx, "sustained", o.throughputTasks, "*/5 * * * * *", o.throughputDuration)
		if err != nil {
			return fmt.Errorf("sustained load: %w", err)
		}
		printLateness(r)
		report.Throughput = &r
	}

	if alertsFor > 0 {
		settle()
		res, err := b.measureAlerts(ctx, rcv, alertsFor)
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		fmt.Printf("alerts: %d failures alerted, %d undelivered\n", res.Alerts, res.Undelivered)
		fmt.Printf("  alert latency          p50 %.0f ms   p99 %.0f ms   max %.0f ms   (run ended → webhook received)\n",
			res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyMaxMs)
		report.Alerts = &res
	}
	// Last: the seeded runs would stand among the other scenarios' runs.
	if o.runListRuns > 0 && o.runListRate > 0 {
		r, err := runListBench(ctx, st, o.runListRuns, o.runListRate, o.runListDuration)
		if err != nil {
			return fmt.Errorf("run list: %w", err)
		}
		printRunList(r)
		report.RunList = r
	}
	out, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	if err := os.MkdirAll("bench-results", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("bench-results", "bench.json"), out, 0o644)
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
