package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/tasktype"
)

// histogram reads one of schetask's histograms from the registry.
func histogram(t *testing.T, name string) (count uint64, sum float64, bounds []float64) {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			for _, b := range h.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			return h.GetSampleCount(), h.GetSampleSum(), bounds
		}
	}
	t.Fatalf("the registry has no %s", name)
	return 0, 0, nil
}

// ioBytes reads schetask_run_io_bytes_total by direction.
func ioBytes(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "schetask_run_io_bytes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				out[l.GetName()+"="+l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// usageFigures are the usage metrics' totals at one moment.
type usageFigures struct {
	CPUCount, MemoryCount uint64
	CPUSum, MemorySum     float64
	Read, Write           float64
}

func readUsage(t *testing.T) usageFigures {
	t.Helper()
	var f usageFigures
	f.CPUCount, f.CPUSum, _ = histogram(t, "schetask_run_cpu_seconds")
	f.MemoryCount, f.MemorySum, _ = histogram(t, "schetask_run_peak_memory_bytes")
	byDir := ioBytes(t)
	f.Read, f.Write = byDir["direction=read"], byDir["direction=write"]
	return f
}

func ptr[T any](v T) *T { return &v }

// TestRunUsageObservesWhatIsKnown: each figure of a run's usage goes to
// its metric; an unknown (nil) figure, or a negative byte count, is left
// out rather than counted as 0.
func TestRunUsageObservesWhatIsKnown(t *testing.T) {
	// Not parallel: the metrics are process-wide.
	for _, tt := range []struct {
		desc  string
		usage tasktype.Usage
		want  usageFigures // the change
	}{
		{desc: "everything known", usage: tasktype.Usage{CPUUserSeconds: ptr(1.5), CPUSystemSeconds: ptr(0.25),
			PeakMemoryBytes: ptr[int64](64 << 20), IOReadBytes: ptr[int64](4096), IOWriteBytes: ptr[int64](512)},
			want: usageFigures{CPUCount: 1, CPUSum: 1.75, MemoryCount: 1, MemorySum: 64 << 20, Read: 4096, Write: 512}},
		{desc: "system CPU only", usage: tasktype.Usage{CPUSystemSeconds: ptr(0.5)},
			want: usageFigures{CPUCount: 1, CPUSum: 0.5}},
		{desc: "memory and writes only", usage: tasktype.Usage{PeakMemoryBytes: ptr[int64](1 << 30), IOWriteBytes: ptr[int64](7)},
			want: usageFigures{MemoryCount: 1, MemorySum: 1 << 30, Write: 7}},
		{desc: "nothing known", usage: tasktype.Usage{}},
		{desc: "a broken negative read", usage: tasktype.Usage{IOReadBytes: ptr[int64](-1), IOWriteBytes: ptr[int64](3)},
			want: usageFigures{Write: 3}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			before := readUsage(t)
			metrics.RunUsage(tt.usage)
			after := readUsage(t)
			got := usageFigures{
				CPUCount: after.CPUCount - before.CPUCount, CPUSum: after.CPUSum - before.CPUSum,
				MemoryCount: after.MemoryCount - before.MemoryCount, MemorySum: after.MemorySum - before.MemorySum,
				Read: after.Read - before.Read, Write: after.Write - before.Write,
			}
			if got != tt.want {
				t.Errorf("RunUsage(%s) changed the metrics by %+v, want %+v", tt.desc, got, tt.want)
			}
		})
	}
}

// TestUsageMetricsShape: the buckets span 0.01 s to an hour of CPU and
// 1 MiB to 16 GiB of memory, doubling; both I/O directions exist at 0
// before the first run ends.
func TestUsageMetricsShape(t *testing.T) {
	t.Parallel()
	if _, _, b := histogram(t, "schetask_run_cpu_seconds"); len(b) == 0 || b[0] != 0.01 || b[len(b)-1] != 3600 {
		t.Errorf("schetask_run_cpu_seconds buckets %v, want 0.01 to 3600", b)
	}
	_, _, b := histogram(t, "schetask_run_peak_memory_bytes")
	if len(b) == 0 || b[0] != 1<<20 || b[len(b)-1] != 16<<30 {
		t.Errorf("schetask_run_peak_memory_bytes buckets %v, want 1 MiB to 16 GiB", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i] != 2*b[i-1] {
			t.Errorf("peak memory bucket %d is %g, want twice %g", i, b[i], b[i-1])
		}
	}
	byDir := ioBytes(t)
	_, read := byDir["direction=read"]
	_, write := byDir["direction=write"]
	if len(byDir) != 2 || !read || !write {
		t.Errorf("schetask_run_io_bytes_total series %v, want direction=read and direction=write", byDir)
	}
}

// TestHealthzListsDetailsSortedUnderOK: /healthz on the metrics port
// answers "ok" first, then one "key: value" line per detail, sorted by
// key; an empty value removes a detail; details may be set while it is
// being read.
func TestHealthzListsDetailsSortedUnderOK(t *testing.T) {
	// Not parallel: the details are process-wide.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- metrics.Serve(ctx, addr, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	// One connection a request: a connection dialled but never used would
	// hold up Serve's shutdown for 5 s.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := client.Get("http://" + addr + "/healthz")
			if err == nil {
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("GET /healthz: %s", resp.Status)
				}
				return string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /healthz: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if body := get(); body != "ok\n" {
		t.Errorf("/healthz without details = %q, want %q", body, "ok\n")
	}
	metrics.SetHealth("isolation", "cgroup2 user=schetask-task")
	metrics.SetHealth("cgroup", "/sys/fs/cgroup/schetask")
	metrics.SetHealth("zz", "two\nlines")
	t.Cleanup(func() {
		for _, k := range []string{"isolation", "cgroup", "zz"} {
			metrics.SetHealth(k, "")
		}
	})
	want := "ok\ncgroup: /sys/fs/cgroup/schetask\nisolation: cgroup2 user=schetask-task\nzz: two lines\n"
	if body := get(); body != want {
		t.Errorf("/healthz = %q, want %q", body, want)
	}
	metrics.SetHealth("cgroup", "")
	if body := get(); body != "ok\nisolation: cgroup2 user=schetask-task\nzz: two lines\n" {
		t.Errorf("/healthz after removing cgroup = %q", body)
	}

	// Concurrent writers and readers (run with -race to check the lock).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			metrics.SetHealth(fmt.Sprintf("worker%d", i), "up")
		}()
		go func() {
			defer wg.Done()
			if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range 8 {
			metrics.SetHealth(fmt.Sprintf("worker%d", i), "")
		}
	})
	want = "ok\nisolation: cgroup2 user=schetask-task\n"
	for i := range 8 {
		want += fmt.Sprintf("worker%d: up\n", i)
	}
	want += "zz: two lines\n"
	if body := get(); body != want {
		t.Errorf("/healthz after concurrent sets = %q, want %q", body, want)
	}
}
