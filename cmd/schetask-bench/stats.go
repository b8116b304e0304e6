package main

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"
)

// Dist summarises samples in milliseconds. A percentile is given only
// when there are enough samples for it to mean something: p95 from 20,
// p99 from 100; below that the largest sample is called max, never p99.
type Dist struct {
	N   int      `json:"n"`
	P50 float64  `json:"p50_ms"`
	P95 *float64 `json:"p95_ms,omitempty"`
	P99 *float64 `json:"p99_ms,omitempty"`
	Max float64  `json:"max_ms"`
}

// summarize returns the distribution of v (milliseconds).
func summarize(v []float64) Dist {
	d := Dist{N: len(v)}
	if len(v) == 0 {
		return d
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	d.P50, d.Max = rank(s, 50), s[len(s)-1]
	if len(s) >= 20 {
		p := rank(s, 95)
		d.P95 = &p
	}
	if len(s) >= 100 {
		p := rank(s, 99)
		d.P99 = &p
	}
	return d
}

// rank is the nearest-rank percentile of sorted s.
func rank(s []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Tail is p99 when there are 100 samples or more, else max: the figure a
// bound on the slow end is checked against.
func (d Dist) Tail() float64 {
	if d.P99 != nil {
		return *d.P99
	}
	return d.Max
}

// String prints the distribution with its n: "n=20 p50 26 ms max 40 ms".
func (d Dist) String() string {
	if d.N == 0 {
		return "n=0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d p50 %s", d.N, msText(d.P50))
	if d.P95 != nil {
		fmt.Fprintf(&b, "  p95 %s", msText(*d.P95))
	}
	if d.P99 != nil {
		fmt.Fprintf(&b, "  p99 %s", msText(*d.P99))
	}
	fmt.Fprintf(&b, "  max %s", msText(d.Max))
	return b.String()
}

// msText prints milliseconds with the precision they deserve.
func msText(v float64) string {
	if math.Abs(v) < 10 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cgroupNote says what of the host's cgroups may change a run's start:
// whether it has v1 controllers (the worker moves a thread into the run's
// v1 cgroups) and whether cgroup2 is mounted favordynmods (which changes
// how the kernel locks cgroup moves host-wide).
func cgroupNote() string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "cgroups unknown"
	}
	v1, favor := false, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		switch f[2] {
		case "cgroup":
			if strings.Contains(f[3], "memory") {
				v1 = true
			}
		case "cgroup2":
			favor = favor || strings.Contains(f[3], "favordynmods")
		}
	}
	note := "cgroup v2 only"
	if v1 {
		note = "cgroup v1 controllers"
	}
	if favor {
		return note + ", cgroup2 favordynmods on"
	}
	return note + ", favordynmods off"
}
