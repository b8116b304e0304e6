package webui

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// runDuration is how long a run took, or has taken so far.
func runDuration(r tasktype.Run, now time.Time) time.Duration {
	end := now
	if r.EndTime != nil {
		end = *r.EndTime
	}
	return max(0, end.Sub(r.StartTime))
}

// shortDuration prints a duration for people: 850ms, 12.3s, 4m05s, 2h10m.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// outcomeColors colour a run's bar by its status.
var outcomeColors = map[tasktype.RunStatus]string{
	tasktype.RunSucceeded: "#2a8a3e", tasktype.RunFailed: "#c0392b", tasktype.RunTimedOut: "#d35400",
	tasktype.RunKilled: "#8e44ad", tasktype.RunLost: "#7f8c8d", tasktype.RunRunning: "#2980b9",
}

// runMeasure is one thing the task page charts per run.
type runMeasure struct {
	// Name heads the chart ("duration").
	Name string
	// Value is the run's figure, false when the run has none.
	Value func(tasktype.Run) (float64, bool)
	// Format prints a figure for people.
	Format func(float64) string
}

// runMeasures are the task page's charts, left to right: duration, CPU
// time (user + system) and peak memory.
func runMeasures(now time.Time) []runMeasure {
	return []runMeasure{
		{Name: "duration", Value: func(r tasktype.Run) (float64, bool) { return float64(runDuration(r, now)), true },
			Format: func(v float64) string { return shortDuration(time.Duration(v)) }},
		{Name: "CPU time", Value: func(r tasktype.Run) (float64, bool) {
			if s := r.Usage.CPUSeconds(); s != nil {
				return *s, true
			}
			return 0, false
		}, Format: cpuSeconds},
		{Name: "peak memory", Value: func(r tasktype.Run) (float64, bool) {
			if b := r.Usage.PeakMemoryBytes; b != nil {
				return float64(*b), true
			}
			return 0, false
		}, Format: func(v float64) string { return humanBytes(int64(v)) }},
	}
}

// cpuSeconds prints CPU time in seconds to the hundredth (0.05s, 12.34s),
// and from a minute on like a duration (4m05s).
func cpuSeconds(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.2fs", s)
	}
	return shortDuration(time.Duration(s * float64(time.Second)))
}

// humanBytes prints a byte count in binary units: 512 B, 61.2 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// runCharts draws a task's runs, oldest left, as one inline SVG bar chart
// per measure, side by side, and a legend of the outcomes under them. A
// run sits at the same place in every chart; its bar's colour is its
// outcome and links to the run; a run without the figure has no bar. It
// uses no script, no style attribute and no outside asset.
func runCharts(runs []tasktype.Run, now time.Time) template.HTML {
	if len(runs) == 0 {
		return ""
	}
	runs = slices.Clone(runs)
	slices.Reverse(runs) // oldest first
	var b strings.Builder
	b.WriteString(`<div class="charts">`)
	for _, m := range runMeasures(now) {
		barChart(&b, runs, m)
	}
	b.WriteString(`</div>`)
	outcomeLegend(&b, runs)
	return template.HTML(b.String()) // #nosec: built only from numbers and escaped text
}

// barChart writes one measure's chart of runs, oldest first.
func barChart(b *strings.Builder, runs []tasktype.Run, m runMeasure) {
	const w, h, pad, top = 360, 140, 4, 16
	values := make([]float64, len(runs))
	has := make([]bool, len(runs))
	var highest float64
	for i, r := range runs {
		values[i], has[i] = m.Value(r)
		if has[i] {
			highest = max(highest, values[i])
		}
	}
	scale := highest
	if scale <= 0 {
		scale = 1
	}
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s of the last runs by outcome, oldest left">`,
		w, h, w, h, html.EscapeString(m.Name))
	head := m.Name + ": no figures yet"
	if slices.Contains(has, true) {
		head = m.Name + ", highest " + m.Format(highest)
	}
	fmt.Fprintf(b, `<text x="%d" y="11" font-size="11" fill="#666">%s</text>`, pad, html.EscapeString(head))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>`, pad, h-1, w-pad, h-1)
	bar := float64(w-2*pad) / float64(len(runs))
	for i, r := range runs {
		if !has[i] {
			continue
		}
		bh := max(2, float64(h-1-top-4)*values[i]/scale)
		color := outcomeColors[r.Status]
		if color == "" {
			color = "#999"
		}
		fmt.Fprintf(b, `<a href="/runs/%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>run %d · %s · %s %s · %s</title></rect></a>`,
			r.ID, float64(pad)+float64(i)*bar+bar*0.1, float64(h-1)-bh, max(1, bar*0.8), bh, color,
			r.ID, html.EscapeString(string(r.Status)), html.EscapeString(m.Name), html.EscapeString(m.Format(values[i])),
			r.StartTime.UTC().Format("2006-01-02 15:04:05Z"))
	}
	b.WriteString(`</svg>`)
}

// outcomeLegend writes the charts' colours with how many runs ended each way.
func outcomeLegend(b *strings.Builder, runs []tasktype.Run) {
	counts := map[tasktype.RunStatus]int{}
	for _, r := range runs {
		counts[r.Status]++
	}
	const h = 14
	var items strings.Builder
	x := 0
	for _, st := range append(slices.Clone(tasktype.EndStatuses), tasktype.RunRunning) {
		if counts[st] == 0 {
			continue
		}
		label := fmt.Sprintf("%s %d", st, counts[st])
		fmt.Fprintf(&items, `<rect x="%d" y="2" width="9" height="9" fill="%s"/><text x="%d" y="11" font-size="11" fill="#333">%s</text>`,
			x, outcomeColors[st], x+12, html.EscapeString(label))
		x += 20 + 7*len(label)
	}
	fmt.Fprintf(b, `<svg class="legend" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="outcomes">%s</svg>`,
		max(x, 1), h, max(x, 1), h, items.String())
}
