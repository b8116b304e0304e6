package main

import "testing"

// A "p99" of 20 samples is their second-largest value: below 100 samples
// only max is reported, and every figure carries its n.
func TestSummarizeSaysMaxBelowAHundredSamples(t *testing.T) {
	seq := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(n - i) // unsorted on purpose
		}
		return v
	}
	for _, tc := range []struct {
		n        int
		p50, max float64
		p95, p99 bool
	}{
		{n: 1, p50: 1, max: 1},
		{n: 19, p50: 10, max: 19},
		{n: 20, p50: 10, max: 20, p95: true},
		{n: 100, p50: 50, max: 100, p95: true, p99: true},
	} {
		d := summarize(seq(tc.n))
		if d.N != tc.n || d.P50 != tc.p50 || d.Max != tc.max || (d.P95 != nil) != tc.p95 || (d.P99 != nil) != tc.p99 {
			t.Errorf("n=%d: got %+v", tc.n, d)
		}
	}
	if got := summarize(seq(100)).String(); got != "n=100 p50 50 ms  p95 95 ms  p99 99 ms  max 100 ms" {
		t.Errorf("String() = %q", got)
	}
	if got := summarize(seq(20)).Tail(); got != 20 {
		t.Errorf("Tail of 20 samples = %v, want their max", got)
	}
}
