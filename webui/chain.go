package webui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// chainGraphLimit bounds the tasks a chain graph draws: the nearest to
// the page's task are kept and the page says the chain is cut.
const chainGraphLimit = 200

// chainWaitsShown is how many of a task's newest waits its page lists.
const chainWaitsShown = 10

// chainSection is the task page's Chain section: the task's edges either
// way and its newest waits for its upstreams.
type chainSection struct {
	store.TaskChain
	Waits []store.UpstreamWait
}

// Shown reports whether the task page has a Chain section at all.
func (c chainSection) Shown() bool { return c.InChain() || c.Deadline != "" || len(c.Waits) > 0 }

// ConditionWords says in English when the task runs after its upstreams.
func (c chainSection) ConditionWords() string { return conditionWords(c.Condition) }

func conditionWords(c tasktype.AfterCondition) string {
	switch c {
	case tasktype.AfterAnySucceeded:
		return "when any of them has succeeded"
	case tasktype.AfterAllDone:
		return "when all of them have ended, however"
	}
	return "when all of them have succeeded"
}

// DeadlineWords says in English by when a logical date's run must have
// succeeded, for a task in zone.
func (c chainSection) DeadlineWords(zone string) string {
	switch {
	case c.Deadline == "":
		return "none"
	case strings.HasPrefix(c.Deadline, "+"):
		return c.Deadline[1:] + " after the nominal time"
	}
	return c.Deadline + " in " + zone + " on the logical date (the next day's when that is not after it)"
}

// taskChainSection reads the task page's Chain section of the task name.
func (s *Server) taskChainSection(ctx context.Context, name string) (chainSection, error) {
	var c chainSection
	var err error
	if c.TaskChain, err = s.store.TaskChain(ctx, name); err != nil {
		return c, err
	}
	c.Waits, err = s.store.RecentChainWaits(ctx, name, chainWaitsShown)
	return c, err
}

// The states a chain graph colours a task by, for one logical date.
const (
	nodeSucceeded  = "succeeded"
	nodeFailed     = "failed"
	nodeRunning    = "running"
	nodeWaiting    = "waiting"
	nodeNotRunning = "not-running"
	nodeNone       = "none"
)

// nodeStates are the node states in the legend's order, with their
// colours and words.
var nodeStates = []struct{ State, Fill, Text, Words string }{
	{nodeSucceeded, outcomeColors[tasktype.RunSucceeded], "#fff", "succeeded"},
	{nodeFailed, outcomeColors[tasktype.RunFailed], "#fff", "failed"},
	{nodeRunning, outcomeColors[tasktype.RunRunning], "#fff", "running"},
	{nodeWaiting, "#f1c40f", "#222", "waiting for upstreams"},
	{nodeNotRunning, "#7f5539", "#fff", "not running"},
	{nodeNone, "#eee", "#333", "no run"},
}

// chainNode is one task of a chain graph, with its state on the page's
// logical date.
type chainNode struct {
	store.ChainLink
	// Current marks the page's own task.
	Current bool
	// State is one of the node* states; Detail says more (the tooltip).
	State, Detail string
	// RunID is its newest run for the date, 0 for none.
	RunID int64
	// layer is its dependency depth (the longest edge path to it), row
	// its place in the layer.
	layer, row int
}

// StateWords is the node's state in English.
func (n chainNode) StateWords() string {
	for _, st := range nodeStates {
		if st.State == n.State {
			return st.Words
		}
	}
	return n.State
}

type chainPageData struct {
	page
	Task string
	// Date is the logical date shown, nil when the task has none yet.
	Date *time.Time
	// Dates are the task's newest logical dates, to pick another.
	Dates []time.Time
	Graph template.HTML
	Nodes []chainNode
	// Truncated says the chain has more than Limit tasks.
	Truncated bool
	Limit     int
}

// chainPage serves GET /tasks/:name/chain?date=<RFC 3339>: the task's
// chain drawn for one logical date (default its newest), each task
// coloured by its run's state for that date.
func (s *Server) chainPage(c *fiber.Ctx) error {
	name := c.Params("name")
	if err := tasktype.ValidateName(name); err != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	ctx := c.UserContext()
	if _, err := s.store.GetTask(ctx, name); errors.Is(err, store.ErrTaskNotFound) {
		if _, _, err = s.store.DeletedTask(ctx, name); errors.Is(err, store.ErrTaskNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "no such task")
		} else if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	d := chainPageData{page: s.page(c, "Chain of "+name), Task: name, Limit: chainGraphLimit}
	var err error
	if d.Dates, err = s.store.RecentLogicalDates(ctx, name, 20); err != nil {
		return err
	}
	if q := c.Query("date"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("date %q is not an RFC 3339 time such as 2026-03-01T00:00:00Z", q))
		}
		d.Date = &t
	} else if len(d.Dates) > 0 {
		d.Date = &d.Dates[0]
	}
	g, err := s.store.ConnectedChain(ctx, name, chainGraphLimit)
	if err != nil {
		return err
	}
	d.Truncated = g.Truncated
	if d.Nodes, err = s.chainNodes(ctx, name, g, d.Date); err != nil {
		return err
	}
	d.Graph = chainGraph(d.Nodes, g.Edges, d.Date)
	return s.render(c, "chain.html", d)
}

// chainNodes are the tasks of g with their states on date (all "none"
// when date is nil), ordered by layer, then name.
func (s *Server) chainNodes(ctx context.Context, current string, g store.ChainGraph, date *time.Time) ([]chainNode, error) {
	names := make([]string, len(g.Tasks))
	for i, t := range g.Tasks {
		names[i] = t.Name
	}
	newest := map[string]tasktype.Run{}
	waits := map[string]store.UpstreamWait{}
	if date != nil {
		runs, err := s.store.RunsForLogicalDate(ctx, names, *date)
		if err != nil {
			return nil, err
		}
		for _, r := range runs { // each task's newest first
			if _, ok := newest[r.TaskName]; !ok {
				newest[r.TaskName] = r
			}
		}
		if waits, err = s.store.ChainWaitsOn(ctx, names, *date); err != nil {
			return nil, err
		}
	}
	layers := chainLayers(names, g.Edges)
	nodes := make([]chainNode, len(g.Tasks))
	for i, t := range g.Tasks {
		n := chainNode{ChainLink: t, Current: t.Name == current, layer: layers[t.Name]}
		r, hasRun := newest[t.Name]
		w, hasWait := waits[t.Name]
		n.State, n.Detail = nodeState(r, hasRun, w, hasWait)
		if hasRun {
			n.RunID = r.ID
		}
		switch {
		case t.Missing:
			n.Detail += "; no task has this name"
		case t.Off:
			n.Detail += "; the task is off"
		}
		nodes[i] = n
	}
	slices.SortStableFunc(nodes, func(a, b chainNode) int {
		if a.layer != b.layer {
			return a.layer - b.layer
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := range nodes {
		if i > 0 && nodes[i].layer == nodes[i-1].layer {
			nodes[i].row = nodes[i-1].row + 1
		}
	}
	return nodes, nil
}

// nodeState is a task's state for a logical date, from its newest run
// for the date, or else from its wait for its upstreams.
func nodeState(r tasktype.Run, hasRun bool, w store.UpstreamWait, hasWait bool) (state, detail string) {
	switch {
	case hasRun && r.Status == tasktype.RunRunning:
		return nodeRunning, fmt.Sprintf("run #%d running since %s", r.ID, r.StartTime.UTC().Format("2006-01-02 15:04:05Z"))
	case hasRun && r.Status == tasktype.RunSucceeded:
		return nodeSucceeded, fmt.Sprintf("run #%d succeeded", r.ID)
	case hasRun:
		detail = fmt.Sprintf("run #%d %s", r.ID, r.Status)
		if r.ExitCode != nil && *r.ExitCode != 0 {
			detail += fmt.Sprintf(" (exit code %d)", *r.ExitCode)
		}
		return nodeFailed, detail
	case hasWait && w.State == store.ChainNotRunning:
		return nodeNotRunning, "not running: " + cmp.Or(w.Reason, "no reason recorded")
	case hasWait && w.State == store.ChainStarted:
		return nodeRunning, "started by its upstreams; no run recorded yet"
	case hasWait:
		detail = "waiting"
		if p := w.Pending(); len(p) > 0 {
			detail += " for " + strings.Join(p, ", ")
		}
		if w.Reason != "" {
			detail += ": " + w.Reason
		}
		return nodeWaiting, detail
	}
	return nodeNone, "no run for this logical date"
}

// chainLayers gives each task its dependency depth: 0 for a task no
// edge of the chain leads to, else one more than the deepest task an
// edge leads from. The database refuses cycles; were one there, its
// tasks would stop deepening after len(names) rounds.
func chainLayers(names []string, edges []store.ChainEdge) map[string]int {
	layer := make(map[string]int, len(names))
	for range names {
		changed := false
		for _, e := range edges {
			if d := layer[e.From] + 1; d > layer[e.To] {
				layer[e.To], changed = d, true
			}
		}
		if !changed {
			break
		}
	}
	return layer
}

// chainGraph draws a chain as one inline SVG: a column per dependency
// depth, left to right, a box per task coloured by its state on the
// logical date with the state as its tooltip, and an arrow per edge
// (solid for after, dashed for on_failure). Like runCharts it uses no
// script, no style attribute and no outside asset, and escapes every
// name.
func chainGraph(nodes []chainNode, edges []store.ChainEdge, date *time.Time) template.HTML {
	if len(nodes) == 0 {
		return ""
	}
	const boxW, boxH, colW, rowH, pad, maxLabel = 150, 34, 210, 50, 10, 20
	at := make(map[string]chainNode, len(nodes))
	layers, rows := 0, 0
	for _, n := range nodes {
		at[n.Name] = n
		layers, rows = max(layers, n.layer+1), max(rows, n.row+1)
	}
	w, h := 2*pad+(layers-1)*colW+boxW, 2*pad+(rows-1)*rowH+boxH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chain" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="the chain's tasks and their runs for the logical date, upstream left">`,
		w, h, w, h)
	b.WriteString(`<defs><marker id="chain-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#666"/></marker></defs>`)
	corner := func(n chainNode) (x, y int) { return pad + n.layer*colW, pad + n.row*rowH }
	for _, e := range edges {
		from, okFrom := at[e.From]
		to, okTo := at[e.To]
		if !okFrom || !okTo {
			continue
		}
		fx, fy := corner(from)
		tx, ty := corner(to)
		x1, y1, x2, y2 := fx+boxW, fy+boxH/2, tx, ty+boxH/2
		mid := (x1 + x2) / 2
		dash, words := "", "runs after"
		if e.Kind == store.ChainOnFailure {
			dash, words = ` stroke-dasharray="6 4"`, "runs when it fails:"
		}
		fmt.Fprintf(&b, `<path class="edge edge-%s" d="M%d %d C%d %d %d %d %d %d" fill="none" stroke="#666" stroke-width="1.5"%s marker-end="url(#chain-arrow)"><title>%s</title></path>`,
			html.EscapeString(string(e.Kind)), x1, y1, mid, y1, mid, y2, x2, y2, dash,
			html.EscapeString(edgeWords(e, words)))
	}
	for _, n := range nodes {
		x, y := corner(n)
		fill, text := "#eee", "#333"
		for _, st := range nodeStates {
			if st.State == n.State {
				fill, text = st.Fill, st.Text
			}
		}
		stroke, width := "#555", 1
		if n.Current {
			stroke, width = "#000", 3
		}
		href := nodeHref(n, date)
		if href != "" {
			fmt.Fprintf(&b, `<a href="%s">`, html.EscapeString(href))
		}
		fmt.Fprintf(&b, `<g class="node node-%s" data-task="%s"><title>%s: %s</title>`,
			n.State, html.EscapeString(n.Name), html.EscapeString(n.Name), html.EscapeString(n.Detail))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="%s" stroke-width="%d"/>`,
			x, y, boxW, boxH, fill, stroke, width)
		// The state in words too: colour is not the only sign of it.
		state := n.StateWords()
		if n.RunID != 0 {
			state += fmt.Sprintf(" · #%d", n.RunID)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="%s">%s</text><text x="%d" y="%d" font-size="10" fill="%s">%s</text>`,
			x+6, y+14, text, html.EscapeString(shorten(n.Name, maxLabel)), x+6, y+28, text, html.EscapeString(state))
		b.WriteString(`</g>`)
		if href != "" {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	chainLegend(&b)
	return template.HTML(b.String()) // #nosec: built only from numbers and escaped text
}

// edgeWords is an edge's tooltip: "b runs after a", "a runs when it fails: cleanup".
func edgeWords(e store.ChainEdge, words string) string {
	if e.Kind == store.ChainOnFailure {
		return e.From + " " + words + " " + e.To
	}
	return e.To + " " + words + " " + e.From
}

// nodeHref is where a node leads: its run for the date, else its own
// chain page for the date; "" for a name no task has.
func nodeHref(n chainNode, date *time.Time) string {
	if n.RunID != 0 {
		return fmt.Sprintf("/runs/%d", n.RunID)
	}
	if n.Missing || tasktype.ValidateName(n.Name) != nil {
		return ""
	}
	href := "/tasks/" + url.PathEscape(n.Name) + "/chain"
	if date != nil {
		href += "?date=" + url.QueryEscape(date.UTC().Format(time.RFC3339))
	}
	return href
}

// shorten cuts s to n characters, ending it with an ellipsis when cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// chainLegend writes the graph's colours and line styles.
func chainLegend(b *strings.Builder) {
	const h = 14
	var items strings.Builder
	x := 0
	for _, st := range nodeStates {
		fmt.Fprintf(&items, `<rect x="%d" y="2" width="9" height="9" fill="%s" stroke="#555"/><text x="%d" y="11" font-size="11" fill="#333">%s</text>`,
			x, st.Fill, x+12, html.EscapeString(st.Words))
		x += 20 + 7*len(st.Words)
	}
	for _, l := range []struct{ dash, words string }{{"", "after"}, {` stroke-dasharray="6 4"`, "on failure"}} {
		fmt.Fprintf(&items, `<line x1="%d" y1="7" x2="%d" y2="7" stroke="#666" stroke-width="1.5"%s/><text x="%d" y="11" font-size="11" fill="#333">%s</text>`,
			x, x+24, l.dash, x+28, l.words)
		x += 36 + 7*len(l.words)
	}
	fmt.Fprintf(b, `<svg class="legend" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="states and edges">%s</svg>`,
		x, h, x, h, items.String())
}
