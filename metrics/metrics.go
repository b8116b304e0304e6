// Package metrics holds schetask's Prometheus metrics and serves them.
// Every process (sync, worker, console, or all of them in one) serves
// /metrics on SCHETASK_METRICS_LISTEN, behind a bearer token when one is
// set (SetToken); each metric is counted where its event happens, so a
// process shows the metrics of the services it runs.
package metrics

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/schetask/schetask/tasktype"
)

// Registry holds schetask's metrics and the Go runtime's.
var Registry = prometheus.NewRegistry()

// latencyBuckets suit lateness and lag: 5 ms to 1 minute.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2, 5, 10, 30, 60}

var (
	// FireLateness is the time from a run's nominal fire time to its child
	// process starting (worker).
	FireLateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "schetask_fire_lateness_seconds",
		Help:    "Time from a run's nominal fire time to its child process starting.",
		Buckets: latencyBuckets,
	})
	// RunDuration is how long runs took, by outcome (worker, or sync for
	// runs it closed).
	RunDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "schetask_run_duration_seconds",
		Help:    "How long runs took, from start to end, by outcome.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"outcome"})
	// Runs counts ended runs by task and outcome (succeeded, failed,
	// timed_out, killed, lost).
	Runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_runs_total",
		Help: "Ended runs, by task and outcome.",
	}, []string{"task", "outcome"})
	// MissedRuns counts fires that never became a run (monitor, in sync).
	MissedRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_missed_runs_total",
		Help: "Fire times that passed without a run, by task.",
	}, []string{"task"})
	// Alerts counts alert deliveries by channel and result (sent, failed).
	Alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_alerts_total",
		Help: "Alert deliveries, by channel and result (sent, failed: given up).",
	}, []string{"channel", "result"})
	// SyncLag is the time from a task row's change to its schedule being
	// written in Temporal (sync).
	SyncLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "schetask_sync_lag_seconds",
		Help:    "Time from a t_task_list change to the schedule written in Temporal.",
		Buckets: latencyBuckets,
	})
	// SchedulesOutOfSync is how many tasks the last full reconcile could not
	// bring in line with their row (invalid rules, Temporal errors).
	SchedulesOutOfSync = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "schetask_schedules_out_of_sync",
		Help: "Tasks whose schedule the last full reconcile could not match to their row.",
	})
	// SyncWrites counts schedule writes by kind (created, updated, paused,
	// unpaused, deleted).
	SyncWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_sync_writes_total",
		Help: "Schedule writes to Temporal, by kind.",
	}, []string{"kind"})
	// OrphansKilled counts task processes killed because their worker died
	// (worker).
	OrphansKilled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "schetask_orphans_killed_total",
		Help: "Task processes killed because the worker that started them was gone.",
	})
	// RunningRuns is how many task processes this worker runs now.
	RunningRuns = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "schetask_running_runs",
		Help: "Task processes this worker is running now.",
	})
	// RunCPU is the CPU time ended runs used, user plus system (worker).
	RunCPU = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "schetask_run_cpu_seconds",
		Help:    "CPU time ended runs used, user plus system.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	})
	// RunPeakMemory is the most memory ended runs held at once (worker).
	RunPeakMemory = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "schetask_run_peak_memory_bytes",
		Help:    "The most memory ended runs held at once, in bytes.",
		Buckets: prometheus.ExponentialBuckets(1<<20, 2, 15), // 1 MiB to 16 GiB
	})
	// RunIO counts the bytes ended runs read and wrote, by direction (read,
	// write) (worker).
	RunIO = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_run_io_bytes_total",
		Help: "Bytes ended runs read from and wrote to block devices, by direction.",
	}, []string{"direction"})
	// ConsoleRequests counts console requests by method and status code.
	ConsoleRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_console_requests_total",
		Help: "Console HTTP requests, by method and status code.",
	}, []string{"method", "code"})
	// JanitorDeleted counts what the janitor deleted, by kind (runs, alerts,
	// chain_waits, sessions, audit) (sync leader).
	JanitorDeleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "schetask_janitor_deleted_total",
		Help: "Rows the janitor deleted under retention, by kind.",
	}, []string{"kind"})
	// JanitorFreedBytes counts the bytes of log files and history folders
	// the janitor removed (sync leader).
	JanitorFreedBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "schetask_janitor_freed_bytes_total",
		Help: "Bytes of run logs and history folders the janitor removed.",
	})
	// JanitorPassDuration is how long a janitor pass took (sync leader).
	JanitorPassDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "schetask_janitor_pass_duration_seconds",
		Help:    "How long one janitor pass took.",
		Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300},
	})
)

// JanitorKinds are the kinds of rows the janitor deletes, the labels of
// schetask_janitor_deleted_total.
var JanitorKinds = []string{"runs", "alerts", "sessions", "audit"}

// schetaskCollectors are schetask's own metrics.
var schetaskCollectors = []prometheus.Collector{
	FireLateness, RunDuration, Runs, MissedRuns, Alerts, SyncLag, SchedulesOutOfSync, SyncWrites,
	OrphansKilled, RunningRuns, RunCPU, RunPeakMemory, RunIO, ConsoleRequests,
	JanitorDeleted, JanitorFreedBytes, JanitorPassDuration,
}

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the names of schetask's own metrics.
func Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range schetaskCollectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := fqNameRE.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	Registry.MustRegister(schetaskCollectors...)
	// Series with a small fixed set of labels exist from the start, at 0,
	// so dashboards and alert rules see them before the first event.
	for _, ch := range tasktype.AlertChannelNames {
		for _, result := range []string{"sent", "failed"} {
			Alerts.WithLabelValues(ch, result)
		}
	}
	for _, outcome := range tasktype.EndStatuses {
		RunDuration.WithLabelValues(string(outcome))
	}
	for _, kind := range []string{"created", "updated", "paused", "unpaused", "deleted"} {
		SyncWrites.WithLabelValues(kind)
	}
	for _, direction := range []string{"read", "write"} {
		RunIO.WithLabelValues(direction)
	}
	for _, kind := range JanitorKinds {
		JanitorDeleted.WithLabelValues(kind)
	}
}

// Handler serves the registry in Prometheus's exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}

// Serve answers /metrics and /healthz on addr until ctx ends.
func Serve(ctx context.Context, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve metrics: %w", err)
	}
	srv := &http.Server{Handler: serveMux(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("metrics listening", slog.String("url", "http://"+ln.Addr().String()+"/metrics"))
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("stop metrics: %w", err)
		}
		return nil
	}
}

// serveMux routes /metrics, behind the token when one is set, and
// /healthz, open to container health checks.
func serveMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", requireToken(Handler()))
	// The process is up: what container health checks ask.
	mux.HandleFunc("GET /healthz", serveHealth)
	return mux
}

// tokenHash is the SHA-256 of the bearer token /metrics asks for, or nil.
var tokenHash atomic.Pointer[[sha256.Size]byte]

// SetToken makes /metrics answer 401 to requests without the header
// "Authorization: Bearer <token>"; an empty token opens it again.
// /healthz stays open.
func SetToken(token string) {
	if token == "" {
		tokenHash.Store(nil)
		return
	}
	h := sha256.Sum256([]byte(token))
	tokenHash.Store(&h)
}

// requireToken lets a request through to next when no token is set or
// it carries the token.
func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := tokenHash.Load()
		if want == nil {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		// Hashes of equal length, compared in constant time: the answer's
		// timing tells neither the token nor its length.
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="schetask metrics"`)
			http.Error(w, "unauthorized: /metrics wants Authorization: Bearer <SCHETASK_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// health holds the details /healthz lists under its first line; a key
// in down makes that line "unavailable".
var health struct {
	sync.Mutex
	details map[string]string
	down    map[string]bool
}

// SetHealth sets a detail that /healthz lists as "key: value" under its
// "ok" (the worker says how it isolates runs); an empty value removes it.
// Line breaks in either become spaces, so each detail stays one line.
func SetHealth(key, value string) {
	setHealth(key, value, false)
}

// SetHealthDown sets a detail as SetHealth does, and while it is set
// /healthz answers 503 "unavailable" in place of "ok": a part the process
// needs is down (the dev stack's Temporal, while it restarts).
func SetHealthDown(key, value string) {
	setHealth(key, value, true)
}

func setHealth(key, value string, down bool) {
	oneLine := strings.NewReplacer("\r", " ", "\n", " ")
	key, value = oneLine.Replace(key), oneLine.Replace(value)
	health.Lock()
	defer health.Unlock()
	delete(health.down, key)
	if value == "" {
		delete(health.details, key)
		return
	}
	if health.details == nil {
		health.details, health.down = map[string]string{}, map[string]bool{}
	}
	health.details[key] = value
	if down {
		health.down[key] = true
	}
}

// serveHealth answers "ok", or 503 "unavailable" while a detail says a
// part is down, then the health details sorted by key.
func serveHealth(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	health.Lock()
	first, status := "ok", http.StatusOK
	if len(health.down) > 0 {
		first, status = "unavailable", http.StatusServiceUnavailable
	}
	b.WriteString(first + "\n")
	for _, k := range slices.Sorted(maps.Keys(health.details)) {
		fmt.Fprintf(&b, "%s: %s\n", k, health.details[k])
	}
	health.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// RunUsage observes what an ended run consumed; a figure the host could
// not tell (nil) is left out.
func RunUsage(u tasktype.Usage) {
	if s := u.CPUSeconds(); s != nil {
		RunCPU.Observe(*s)
	}
	if b := u.PeakMemoryBytes; b != nil {
		RunPeakMemory.Observe(float64(*b))
	}
	// A counter refuses to go down: a negative figure is a broken reading.
	if b := u.IOReadBytes; b != nil && *b >= 0 {
		RunIO.WithLabelValues("read").Add(float64(*b))
	}
	if b := u.IOWriteBytes; b != nil && *b >= 0 {
		RunIO.WithLabelValues("write").Add(float64(*b))
	}
}

// RunEnded counts an ended run.
func RunEnded(task, outcome string, took time.Duration) {
	Runs.WithLabelValues(task, outcome).Inc()
	RunDuration.WithLabelValues(outcome).Observe(took.Seconds())
}
