package activities

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// TestChainEnv: a run gets its logical date; a chained run its upstream
// runs and their history folders, by task name made a variable name.
func TestChainEnv(t *testing.T) {
	t.Parallel()
	a := &Activities{Layout: tasktype.Layout{Root: "/srv/task"}}
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	env := a.taskEnv(ExecTaskInput{TaskName: "load", LogicalDate: day, UpstreamRuns: []int64{12, 15},
		UpstreamHistory: map[string]string{"extract": "/srv/task/extract/history/202611/24/000000", "prices-eu.v2": "/p"}},
		"/srv/task/load", "/srv/task/load/logs/x.log", "", "/tmp/x", nil)
	for _, want := range []string{"SCHETASK_LOGICAL_DATE=2026-11-24T00:00:00Z", "SCHETASK_UPSTREAM_RUNS=12,15",
		"SCHETASK_UPSTREAM_HISTORY_EXTRACT=/srv/task/extract/history/202611/24/000000",
		"SCHETASK_UPSTREAM_HISTORY_PRICES_EU_V2=/p"} {
		if !slices.Contains(env, want) {
			t.Errorf("task env lacks %s:\n%s", want, strings.Join(env, "\n"))
		}
	}
	plain := strings.Join(a.taskEnv(ExecTaskInput{TaskName: "x"}, "/d", "/l", "", "/tmp/x", nil), "\n")
	if strings.Contains(plain, "SCHETASK_UPSTREAM") || strings.Contains(plain, "SCHETASK_LOGICAL_DATE") {
		t.Errorf("a run without a chain or date gets chain variables:\n%s", plain)
	}
}

// TestChainPeriod: a task's period is its rule's; an after-only task
// takes the largest of its upstreams', recursively; an unknown upstream
// or a loop counts a day.
func TestChainPeriod(t *testing.T) {
	t.Parallel()
	tasks := map[string]tasktype.Task{
		"hourly":  {Name: "hourly", Rule: "0 * * * *"},
		"quarter": {Name: "quarter", Rule: "*/15 * * * *"},
		"after":   {Name: "after", After: []string{"hourly", "quarter"}},
		"deeper":  {Name: "deeper", After: []string{"after"}},
		"orphan":  {Name: "orphan", After: []string{"gone"}},
		"loop1":   {Name: "loop1", After: []string{"loop2"}},
		"loop2":   {Name: "loop2", After: []string{"loop1"}},
	}
	for name, want := range map[string]time.Duration{"hourly": time.Hour, "quarter": 15 * time.Minute,
		"after": time.Hour, "deeper": time.Hour, "orphan": 24 * time.Hour, "loop1": 24 * time.Hour} {
		if got := chainPeriod(tasks, name); got != want {
			t.Errorf("period of %s = %s, want %s", name, got, want)
		}
	}
}
