// Command schetask-bench measures schetask on the stack `make run`
// starts: its own durable Postgres and a Temporal dev server kept in a
// SQLite file written ahead, with sync and a worker in this process (the
// console too, for the run list), one scenario after another:
//
//   - what schetask adds to a run, side by side in one run: a trivial
//     node task on a rule, the same node run bare (the environment the
//     worker builds, output piped to a file) halfway between fires, and a
//     raw Temporal schedule on the same rule with no worker;
//   - fire lateness for 10 tasks every second, and for 100 tasks due at
//     the same second against as many raw Temporal schedules;
//   - sustained load and worker capacity: what completes in a fixed
//     window, and the backlog at its end;
//   - sync: tasks created → all schedules exist; re-sync unchanged
//     (Temporal writes); rule edits → converged; deleted → gone;
//   - alert latency (a failed run's end → its alert at a webhook);
//   - the console's run list over 100,000 runs, first, deep and filtered
//     pages, from 50 logged-in clients at a fixed offered rate, open loop;
//   - a janitor pass over 1,000,000 expired runs, and the run inserts
//     made meanwhile at a fixed rate against the same without it;
//   - `schetask run <trivial node task> --wait` end to end, through the
//     console's API, against the same node run bare, alternating;
//   - raw Temporal's same-second burst on the dev server's other stores
//     (SQLite with its defaults, memory), the case for write-ahead.
//
// Every figure carries its n; p99 is given from 100 samples, max always.
// It prints the figures for people, then one JSON document (also written
// to bench-results/bench.json). -smoke runs a two-minute subset and
// fails when a ratio measured in the same run crosses a generous bound
// (`make bench-smoke`, run by CI).
//
//	go run ./cmd/schetask-bench
//	go run ./cmd/schetask-bench -only rules,burst
//	go run ./cmd/schetask-bench -smoke
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/temporalclient"
	"github.com/schetask/schetask/worker"
)

const trivialTask = "console.log('bench ' + process.env.SCHETASK_TASK_VERSION);\n"

func main() {
	var o options
	flag.DurationVar(&o.ruleDuration, "duration", 40*time.Second, "how long each rule's task runs beside bare node and raw Temporal")
	rules := flag.String("rules", "*/2 * * * * *;* * * * * *", "the rules to measure, separated by ';' (empty skips)")
	flag.DurationVar(&o.alertsFor, "alerts", 20*time.Second, "how long the failing task runs for alert latency (0 skips it)")
	flag.DurationVar(&o.latenessDuration, "lateness-duration", 2*time.Minute, "how long the 10 every-second tasks run (0 skips)")
	flag.IntVar(&o.burstTasks, "burst-tasks", 100, "how many tasks are due at the same second (0 skips)")
	flag.IntVar(&o.throughputTasks, "throughput-tasks", 150, "how many tasks on */5 seconds offer the sustained load (0 skips)")
	flag.DurationVar(&o.throughputDuration, "throughput-duration", 30*time.Second, "how long the sustained load runs")
	flag.IntVar(&o.capacityRate, "capacity-rate", 40, "runs started per second, without the scheduler, for worker capacity (0 skips)")
	flag.IntVar(&o.syncTasks, "sync-tasks", 1000, "how many tasks the sync measurement creates and edits (0 skips)")
	flag.IntVar(&o.runListRuns, "runlist-runs", 100000, "how many runs the run list measurement seeds (0 skips)")
	flag.IntVar(&o.runListRate, "runlist-rate", 200, "requests per second offered, open loop, to each run list page")
	flag.IntVar(&o.runListClients, "runlist-clients", 50, "logged-in clients the run list requests are spread over")
	flag.DurationVar(&o.runListDuration, "runlist-duration", 20*time.Second, "how long each run list page is measured")
	flag.IntVar(&o.janitorRows, "janitor-rows", 1000000, "how many expired runs one janitor pass deletes (0 skips)")
	flag.IntVar(&o.janitorRate, "janitor-rate", 50, "run inserts per second, open loop, without and during the janitor pass")
	flag.DurationVar(&o.janitorWindow, "janitor-window", 10*time.Second, "how long run inserts are timed without the janitor")
	flag.IntVar(&o.storesBurst, "stores-burst", 100, "raw schedules due at one second on each other Temporal store (0 skips)")
	flag.IntVar(&o.cliRuns, "cli-runs", 40, "how many `schetask run --wait` runs, alternating with bare node, time the CLI (0 skips)")
	flag.IntVar(&o.isolationRuns, "isolation-runs", 200, "how many /bin/true runs, bare and isolated, measure isolation's cost (0 skips)")
	flag.StringVar(&o.temporalDB, "temporal-db", "file", "the dev server's store: file (as make run: SQLite, write-ahead) or memory (as the tests)")
	smoke := flag.Bool("smoke", false, "a two-minute subset that fails when a figure crosses its bound (CI)")
	only := flag.String("only", "", "run only these scenarios, separated by ',': "+strings.Join(scenarioNames, ", "))
	flag.Parse()
	o.rules = strings.FieldsFunc(*rules, func(r rune) bool { return r == ';' })
	o.settle = 15 * time.Second
	if *smoke {
		o = smokeOptions(o)
	}
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
		o.skipUnless(keep)
	}
	if o.temporalDB != "file" && o.temporalDB != "memory" {
		fmt.Fprintf(os.Stderr, "schetask-bench: -temporal-db %q: want file or memory\n", o.temporalDB)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	report, err := run(context.Background(), logger, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schetask-bench:", err)
		os.Exit(1)
	}
	if *smoke {
		report.Checks = smokeChecks(report)
		failed := 0
		for _, c := range report.Checks {
			fmt.Println(c)
			if !c.OK {
				failed++
			}
		}
		writeReport(report)
		if failed > 0 {
			fmt.Fprintf(os.Stderr, "schetask-bench: %d of %d checks failed\n", failed, len(report.Checks))
			os.Exit(1)
		}
		return
	}
	writeReport(report)
}

// options select and size the scenarios.
type options struct {
	rules              []string
	ruleDuration       time.Duration
	alertsFor          time.Duration
	latenessDuration   time.Duration
	burstTasks         int
	throughputTasks    int
	throughputDuration time.Duration
	syncTasks          int
	capacityRate       int
	runListRuns        int
	runListRate        int
	runListClients     int
	runListDuration    time.Duration
	janitorRows        int
	janitorRate        int
	janitorWindow      time.Duration
	storesBurst        int
	isolationRuns      int
	cliRuns            int
	temporalDB         string
	// settle is the pause between scenarios, for the server to drain.
	settle time.Duration
}

// scenarioNames are the scenarios -only picks from.
var scenarioNames = []string{"sync", "rules", "lateness", "burst", "capacity", "throughput", "alerts", "runlist", "janitor", "stores", "isolation", "cli"}

// skipUnless turns off every scenario not in keep.
func (o *options) skipUnless(keep map[string]bool) {
	if !keep["sync"] {
		o.syncTasks = 0
	}
	if !keep["rules"] {
		o.rules = nil
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
		o.alertsFor = 0
	}
	if !keep["runlist"] {
		o.runListRuns = 0
	}
	if !keep["janitor"] {
		o.janitorRows = 0
	}
	if !keep["stores"] {
		o.storesBurst = 0
	}
	if !keep["isolation"] {
		o.isolationRuns = 0
	}
	if !keep["cli"] {
		o.cliRuns = 0
	}
}

// Report is everything one benchmark run measured.
type Report struct {
	// Stack says what the figures were measured on.
	Stack      string           `json:"stack"`
	Rules      []OverheadResult `json:"rules,omitempty"`
	Lateness   []LatenessResult `json:"lateness,omitempty"`
	Throughput *LatenessResult  `json:"throughput,omitempty"`
	Capacity   *LatenessResult  `json:"worker_capacity,omitempty"`
	Sync       *SyncResult      `json:"sync,omitempty"`
	Alerts     *AlertResult     `json:"alerts,omitempty"`
	RunList    []RunListResult  `json:"run_list,omitempty"`
	Janitor    *JanitorResult   `json:"janitor,omitempty"`
	Stores     []StoreResult    `json:"temporal_stores,omitempty"`
	Isolation  *IsolationResult `json:"isolation,omitempty"`
	CLI        *CLIResult       `json:"cli,omitempty"`
	Checks     []Check          `json:"checks,omitempty"`
}

// bench is the running stack the measurements use.
type bench struct {
	store    *store.Store
	temporal client.Client
	taskDir  string
}

func run(ctx context.Context, logger *slog.Logger, o options) (Report, error) {
	var report Report
	tmp, err := os.MkdirTemp("", "schetask-bench-")
	if err != nil {
		return report, err
	}
	defer os.RemoveAll(tmp)
	_ = os.Chmod(tmp, 0o755)
	// As make run: Postgres with fsync on.
	pg, err := devstack.StartPostgres(ctx, devstack.PostgresOptions{Dir: filepath.Join(tmp, "pg"), Port: testenv.FreePort(),
		Durable: true, Logger: logger})
	if err != nil {
		return report, err
	}
	defer pg.Stop()
	cli, err := testenv.TemporalCLI()
	if err != nil {
		return report, err
	}
	topts := devstack.TemporalOptions{CLI: cli, Port: testenv.FreePort(), LogFile: filepath.Join(tmp, "temporal.log"), Logger: logger}
	report.Stack = "make run's: durable Postgres; Temporal dev server in memory; sync and worker in the bench's process"
	if o.temporalDB == "file" {
		topts.DBFile = filepath.Join(tmp, "temporal.db")
		report.Stack = "make run's: durable Postgres; Temporal dev server on SQLite (write-ahead), as .data/temporal.db; sync and worker in the bench's process"
	}
	tp, err := devstack.StartTemporal(ctx, topts)
	if err != nil {
		return report, err
	}
	defer tp.Stop()
	report.Stack += "; " + cgroupNote()
	fmt.Println("stack:", report.Stack)

	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		return report, err
	}
	cfg.DatabaseURL, cfg.TemporalAddress, cfg.TasksDir = pg.URL(), tp.Address(), filepath.Join(tmp, "task")
	rcv := newReceiver()
	defer rcv.srv.Close()
	// Every failure alerts: the repeat limit would hold the measured ones back.
	cfg.Webhook.URL, cfg.AlertRepeatInterval = rcv.srv.URL, time.Nanosecond
	cfg.WebhookAllowPrivate = true // the receiver listens on loopback
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return report, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return report, err
	}
	c, err := client.Dial(temporalclient.Reconnecting(client.Options{HostPort: cfg.TemporalAddress, Logger: devstack.SilentLogger{}}))
	if err != nil {
		return report, err
	}
	defer c.Close()

	b := bench{store: st, temporal: c, taskDir: filepath.Join(cfg.TasksDir, "bench")}
	if err := os.MkdirAll(b.taskDir, 0o755); err != nil {
		return report, err
	}
	if err := os.WriteFile(filepath.Join(b.taskDir, "index.js"), []byte(trivialTask), 0o644); err != nil {
		return report, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := worker.New(serviceconfig.Worker(cfg), st, c, logger)
	if err != nil {
		return report, err
	}
	syncer, err := tasksync.New(serviceconfig.Sync(cfg), st, c, logger)
	if err != nil {
		return report, err
	}
	go func() { _ = w.Run(runCtx) }()
	go func() { _ = syncer.Run(runCtx) }()

	settle := func() { time.Sleep(o.settle) } // let the server drain the last scenario
	if o.isolationRuns > 0 {
		// Beside the idle stack, as a worker runs; runs spaced as a
		// schedule spaces them.
		r, err := isolationBench(o.isolationRuns, 100*time.Millisecond, isolationUser())
		if err != nil {
			return report, fmt.Errorf("isolation: %w", err)
		}
		r.print()
		report.Isolation = r
	}
	if o.syncTasks > 0 {
		timed, err := tasksync.New(serviceconfig.Sync(cfg), st, c, logger)
		if err != nil {
			return report, err
		}
		r, err := b.syncTimes(ctx, timed, o.syncTasks)
		if err != nil {
			return report, fmt.Errorf("sync: %w", err)
		}
		fmt.Printf("sync of %d tasks: created → all schedules exist %.1f s; re-sync unchanged %.1f s with %d writes; rule edits → converged %.1f s; deleted → gone %.1f s\n",
			r.Tasks, r.CreateConvergedS, r.ResyncUnchangedS, r.ResyncUnchangedWrit, r.EditConvergedS, r.DeleteConvergedS)
		report.Sync = &r
	}
	if len(o.rules) > 0 {
		bareDir := filepath.Join(tmp, "bare")
		if err := os.MkdirAll(bareDir, 0o700); err != nil {
			return report, err
		}
		env, err := b.taskEnv(ctx, bareDir)
		if err != nil {
			return report, fmt.Errorf("the task's environment: %w", err)
		}
		for _, rule := range o.rules {
			settle()
			res, err := b.measure(ctx, c, strings.TrimSpace(rule), o.ruleDuration, env, tmp)
			if err != nil {
				return report, fmt.Errorf("rule %q: %w", rule, err)
			}
			res.print()
			report.Rules = append(report.Rules, res)
		}
	}
	if o.cliRuns > 0 {
		settle()
		r, err := b.cliScenario(ctx, cfg, tmp, o.cliRuns)
		if err != nil {
			return report, fmt.Errorf("cli: %w", err)
		}
		r.print()
		report.CLI = &r
	}
	if o.latenessDuration > 0 {
		settle()
		r, err := b.lateness(ctx, "every-second", 10, "* * * * * *", o.latenessDuration)
		if err != nil {
			return report, fmt.Errorf("10 tasks every second: %w", err)
		}
		r.print()
		report.Lateness = append(report.Lateness, r)
	}
	if o.burstTasks > 0 {
		settle()
		raw, err := rawBurst(ctx, c, "bench-raw-burst", o.burstTasks)
		if err != nil {
			return report, fmt.Errorf("raw Temporal burst: %w", err)
		}
		settle()
		r, err := b.lateness(ctx, "same-second", o.burstTasks, oneSecondRule(30*time.Second), 0)
		if err != nil {
			return report, fmt.Errorf("%d tasks due at once: %w", o.burstTasks, err)
		}
		r.RawTemporal = &raw
		r.TailRatioToRaw = r.Lateness.Tail() / raw.Tail()
		r.print()
		report.Lateness = append(report.Lateness, r)
	}
	if o.capacityRate > 0 {
		settle()
		r, err := b.capacity(ctx, c, cfg, o.capacityRate, o.throughputDuration)
		if err != nil {
			return report, fmt.Errorf("worker capacity: %w", err)
		}
		r.print()
		report.Capacity = &r
	}
	if o.throughputTasks > 0 {
		settle()
		r, err := b.lateness(ctx, "sustained", o.throughputTasks, "*/5 * * * * *", o.throughputDuration)
		if err != nil {
			return report, fmt.Errorf("sustained load: %w", err)
		}
		r.print()
		report.Throughput = &r
	}
	if o.alertsFor > 0 {
		settle()
		res, err := b.measureAlerts(ctx, rcv, o.alertsFor)
		if err != nil {
			return report, fmt.Errorf("alerts: %w", err)
		}
		fmt.Printf("alerts: %d failures alerted, %d undelivered\n", res.Alerts, res.Undelivered)
		fmt.Printf("  run ended → webhook received  %s\n", res.Latency)
		report.Alerts = &res
	}
	// After the runs: the seeded runs would stand among the other scenarios' runs.
	if o.runListRuns > 0 && o.runListRate > 0 {
		r, err := runListBench(ctx, st, o.runListRuns, o.runListRate, o.runListClients, o.runListDuration)
		if err != nil {
			return report, fmt.Errorf("run list: %w", err)
		}
		printRunList(r)
		report.RunList = r
	}
	// After the run list, whose figures the expired runs would change.
	if o.janitorRows > 0 && o.janitorRate > 0 {
		r, err := janitorBench(ctx, st, cfg.TasksDir, o.janitorRows, o.janitorRate, o.janitorWindow)
		if err != nil {
			return report, fmt.Errorf("janitor: %w", err)
		}
		r.print()
		report.Janitor = r
	}
	// Last: it starts servers of its own beside the stack.
	if o.storesBurst > 0 {
		cancel()
		rs, err := storesBench(ctx, logger, cli, tmp, o.storesBurst)
		if err != nil {
			return report, fmt.Errorf("temporal stores: %w", err)
		}
		report.Stores = rs
	}
	return report, nil
}

// writeReport prints the report as JSON and keeps it in bench-results/.
func writeReport(report Report) {
	out, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "schetask-bench:", err)
		return
	}
	fmt.Println(string(out))
	if err := os.MkdirAll("bench-results", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("bench-results", "bench.json"), out, 0o644)
	}
}
