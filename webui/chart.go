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

// durationChart draws a task's runs, oldest left, as an inline SVG bar
// chart: bar height is the run's duration, colour its outcome, and each
// bar links to its run. It uses no script and no outside asset.
func durationChart(runs []tasktype.Run, now time.Time) template.HTML {
	if len(runs) == 0 {
		return ""
	}
	runs = slices.Clone(runs)
	slices.Reverse(runs) // oldest first
	const w, h, pad = 720, 160, 28
	var longest time.Duration
	for _, r := range runs {
		longest = max(longest, runDuration(r, now))
	}
	if longest <= 0 {
		longest = time.Millisecond
	}
	bar := float64(w-pad) / float64(len(runs))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="run durations and outcomes, oldest left">`, w, h+16, w, h+16)
	fmt.Fprintf(&b, `<text x="0" y="10" font-size="10" fill="#666">%s</text>`, html.EscapeString(shortDuration(longest)))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>`, pad, h, w, h)
	counts := map[tasktype.RunStatus]int{}
	for i, r := range runs {
		d := runDuration(r, now)
		counts[r.Status]++
		bh := max(2, float64(h-14)*float64(d)/float64(longest))
		color := outcomeColors[r.Status]
		if color == "" {
			color = "#999"
		}
		fmt.Fprintf(&b, `<a href="/runs/%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>run %d · %s · %s · %s</title></rect></a>`,
			r.ID, float64(pad)+float64(i)*bar+bar*0.1, float64(h)-bh, max(1, bar*0.8), bh, color,
			r.ID, html.EscapeString(string(r.Status)), html.EscapeString(shortDuration(d)), r.StartTime.UTC().Format("2006-01-02 15:04:05Z"))
	}
	x := pad
	for _, st := range append(slices.Clone(tasktype.EndStatuses), tasktype.RunRunning) {
		if counts[st] == 0 {
			continue
		}
		label := fmt.Sprintf("%s %d", st, counts[st])
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="9" height="9" fill="%s"/><text x="%d" y="%d" font-size="11" fill="#333">%s</text>`,
			x, h+5, outcomeColors[st], x+12, h+14, html.EscapeString(label))
		x += 20 + 7*len(label)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built only from numbers and escaped text
}
