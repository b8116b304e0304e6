package sandbox

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIsolationCost measures what isolation adds to starting a run:
// user switch, cgroup made, limits written, born into it, killed, usage
// read and cgroup removed, against the same process started as before (its
// own process group, the worker's user), alternating the two in one loop so
// both see the same machine. It reports p50 and p90 of each, in ms.
//
// Iterations are spaced as runs are: on a host with cgroup v1
// controllers, moving a thread into a cgroup waits for an RCU grace
// period unless another move came just before (or cgroup2 is mounted
// favordynmods), so back-to-back starts would hide 10–18 ms a run.
func BenchmarkIsolationCost(b *testing.B) {
	const runSpacing = 100 * time.Millisecond
	if !canSwitchUsers() {
		b.Skip("needs root")
	}
	sb, err := New(Options{User: "schetask-task", Cgroup: CgroupAuto})
	if err != nil {
		b.Fatal(err)
	}
	var bare, isolated []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		time.Sleep(runSpacing)
		b.StartTimer()
		start := time.Now()
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		bare = append(bare, time.Since(start))

		start = time.Now()
		run, err := sb.Prepare(int64(i), "", limits(256, 1, 4096))
		if err != nil {
			b.Fatal(err)
		}
		cmd = exec.Command("/bin/true")
		if err := run.Start(cmd); err != nil {
			b.Fatal(err)
		}
		_ = cmd.Wait()
		run.End(cmd.ProcessState)
		if err := run.Close(); err != nil {
			b.Fatal(err)
		}
		isolated = append(isolated, time.Since(start))
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[int(float64(len(s)-1)*p)]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(len(bare)), "n")
	b.ReportMetric(pct(bare, .5), "bare-p50-ms")
	b.ReportMetric(pct(isolated, .5), "isolated-p50-ms")
	b.ReportMetric(pct(isolated, .5)-pct(bare, .5), "added-p50-ms")
	b.ReportMetric(pct(bare, .9), "bare-p90-ms")
	b.ReportMetric(pct(isolated, .9), "isolated-p90-ms")
	b.Logf("isolation (%s) adds %.2f ms at p50 to a run's start and end (n=%d each: bare p50 %.2f ms, isolated p50 %.2f ms)",
		sb.Describe(), pct(isolated, .5)-pct(bare, .5), len(bare), pct(bare, .5), pct(isolated, .5))
}
