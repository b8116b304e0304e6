package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	schedrule "github.com/schetask/schetask/rule"
	"github.com/schetask/schetask/tasktype"
)

// OverheadResult is one rule's run of the trivial node task through
// schetask, beside the same node run bare and a raw Temporal schedule on
// the same rule, all at once on the same stack: what schetask adds to a
// run, in milliseconds.
type OverheadResult struct {
	Rule              string `json:"rule"`
	Runs              int    `json:"runs"`
	MissedOrDuplicate int    `json:"missed_or_duplicate_fires"`
	// FireLateness is schetask's nominal fire → task process started;
	// WorkflowToProcess its part after Temporal started the run's
	// workflow (the workflow task's dispatch, the start hook, the exec
	// activity's dispatch and the spawn).
	FireLateness      Dist `json:"fire_lateness"`
	WorkflowToProcess Dist `json:"workflow_to_process"`
	// RawFireLateness is a raw schedule's nominal fire → its workflow
	// started, on the same server, with no worker: Temporal's own part.
	RawFireLateness Dist `json:"raw_temporal_fire_lateness"`
	// Bare is `node index.js` started with the environment the worker
	// gives the task and its output piped to a file, timed from the
	// process's start to its output being written and its exit reaped.
	Bare Dist `json:"bare_node"`
	// ProcessToRecorded is schetask's process started → run recorded as
	// ended; FireToRecorded the whole of it from the nominal fire.
	ProcessToRecorded Dist `json:"process_to_recorded"`
	FireToRecorded    Dist `json:"fire_to_recorded"`
	// AddedStartMs is schetask's part before the process (its fire
	// lateness beyond raw Temporal's), AddedEndMs its part after it (the
	// process-to-recorded time beyond bare node's), AddedMs their sum:
	// each from the p50s.
	AddedStartMs float64 `json:"added_start_p50_ms"`
	AddedEndMs   float64 `json:"added_end_p50_ms"`
	AddedMs      float64 `json:"added_p50_ms"`
}

// envTask prints the environment schetask gives a task.
const envTask = "console.log(JSON.stringify(process.env));\n"

// taskEnv runs a task that prints its environment through schetask and
// returns that environment, for bare node to run with the very same.
// Its private TMPDIR and HOME, gone with the run, become dir.
func (b bench) taskEnv(ctx context.Context, dir string) ([]string, error) {
	const name = "bench-env"
	taskDir := filepath.Join(filepath.Dir(b.taskDir), name)
	if err := os.MkdirAll(taskDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(taskDir, "index.js"), []byte(envTask), 0o644); err != nil {
		return nil, err
	}
	if err := b.store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: "* * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		return nil, err
	}
	defer func() { _ = b.store.SetTaskStatus(context.WithoutCancel(ctx), name, tasktype.StatusOff) }()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		runs, err := b.store.ListRuns(ctx, name, 10)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.Status != tasktype.RunSucceeded {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(filepath.Dir(b.taskDir), r.LogPath))
			if err != nil {
				return nil, fmt.Errorf("read the env task's log: %w", err)
			}
			line, _, _ := bytes.Cut(raw, []byte("\n"))
			var vars map[string]string
			if err := json.Unmarshal(line, &vars); err != nil {
				return nil, fmt.Errorf("the env task's log: %w", err)
			}
			vars["TMPDIR"], vars["HOME"] = dir, dir
			env := make([]string, 0, len(vars))
			for k, v := range vars {
				env = append(env, k+"="+v)
			}
			return env, nil
		}
	}
	return nil, fmt.Errorf("the env task did not succeed within a minute")
}

// bareOnce runs the bench task's `node index.js` with env, its output
// through a pipe into a file as the worker handles it, and times it from
// the process's start to the output written and the process reaped.
func (b bench) bareOnce(node string, env []string, out *os.File) (float64, error) {
	cmd := exec.Command(node, "index.js")
	cmd.Dir, cmd.Env = b.taskDir, env
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("bare node: %w", err)
	}
	start := time.Now()
	copied := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r)
		_, err := io.Copy(out, br)
		copied <- err
	}()
	werr := cmd.Wait()
	if err := <-copied; err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, fmt.Errorf("bare node: %w", werr)
	}
	return ms(time.Since(start)), nil
}

// measure runs the trivial node task on rule for duration, with a raw
// Temporal schedule on the same rule and a bare node run halfway between
// fires, and summarises the three side by side.
func (b bench) measure(ctx context.Context, c client.Client, rule string, duration time.Duration, env []string, tmp string) (OverheadResult, error) {
	res := OverheadResult{Rule: rule}
	parsed, err := schedrule.Parse(rule)
	if err != nil {
		return res, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return res, err
	}
	out, err := os.Create(filepath.Join(tmp, "bare.log"))
	if err != nil {
		return res, err
	}
	defer out.Close()
	// One bare run first: node's files are in the page cache for both.
	if _, err := b.bareOnce(node, env, out); err != nil {
		return res, err
	}
	raw, err := startRaw(ctx, c, "bench-raw-rule-"+strings.NewReplacer(" ", "_", "*", "x", "/", "e").Replace(rule), rule, 1)
	if err != nil {
		return res, err
	}
	defer raw.stop(ctx)
	const name = "bench"
	if err := b.store.UpsertTask(ctx, tasktype.Task{Name: name, Rule: rule, TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapAllowAll}); err != nil {
		return res, err
	}
	since := time.Now()
	end := since.Add(duration)
	fmt.Fprintf(os.Stderr, "a trivial node task on %q for %s, beside bare node and a raw Temporal schedule…\n", rule, duration)
	var bare []float64
	var bareErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			next := parsed.Next(time.Now(), time.UTC)
			at := next.Add(parsed.Next(next, time.UTC).Sub(next) / 2)
			if at.After(end) {
				return
			}
			time.Sleep(time.Until(at))
			d, err := b.bareOnce(node, env, out)
			if err != nil {
				bareErr = err
				return
			}
			bare = append(bare, d)
		}
	}()
	time.Sleep(time.Until(end))
	wg.Wait()
	if bareErr != nil {
		return res, bareErr
	}
	if err := b.store.SetTaskStatus(ctx, name, tasktype.StatusOff); err != nil {
		return res, err
	}
	var runs []tasktype.Run
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		all, err := b.store.ListRuns(ctx, name, 100000)
		if err != nil {
			return res, err
		}
		runs = runs[:0]
		open := 0
		for _, r := range all {
			if r.StartTime.After(since) {
				runs = append(runs, r)
				if r.Status == tasktype.RunRunning {
					open++
				}
			}
		}
		if open == 0 {
			break
		}
	}

	var late, procWall, wall, wfToProc []float64
	seen := map[time.Time]bool{}
	var first, last time.Time
	for _, r := range runs {
		if r.Status != tasktype.RunSucceeded || r.ProcessStartTime == nil || r.EndTime == nil || seen[r.ScheduledTime] {
			res.MissedOrDuplicate++
			continue
		}
		seen[r.ScheduledTime] = true
		if first.IsZero() || r.ScheduledTime.Before(first) {
			first = r.ScheduledTime
		}
		if r.ScheduledTime.After(last) {
			last = r.ScheduledTime
		}
		late = append(late, ms(r.ProcessStartTime.Sub(r.ScheduledTime)))
		if d, err := c.DescribeWorkflowExecution(ctx, r.WorkflowID, r.RunID); err == nil {
			wfToProc = append(wfToProc, ms(r.ProcessStartTime.Sub(d.GetWorkflowExecutionInfo().GetStartTime().AsTime())))
		}
		procWall = append(procWall, ms(r.EndTime.Sub(*r.ProcessStartTime)))
		wall = append(wall, ms(r.EndTime.Sub(r.ScheduledTime)))
	}
	if len(late) == 0 {
		return res, fmt.Errorf("no successful runs in %s (%d runs started)", duration, len(runs))
	}
	expected := 1
	for at := parsed.Next(first, time.UTC); !at.After(last); at = parsed.Next(at, time.UTC) {
		expected++
	}
	res.MissedOrDuplicate += expected - len(seen)
	rawLate, err := raw.lateness(ctx, first, last, expected)
	if err != nil {
		return res, err
	}
	res.Runs = len(late)
	res.FireLateness, res.RawFireLateness, res.WorkflowToProcess = summarize(late), summarize(rawLate), summarize(wfToProc)
	res.Bare, res.ProcessToRecorded, res.FireToRecorded = summarize(bare), summarize(procWall), summarize(wall)
	res.AddedStartMs = res.FireLateness.P50 - res.RawFireLateness.P50
	res.AddedEndMs = res.ProcessToRecorded.P50 - res.Bare.P50
	res.AddedMs = res.AddedStartMs + res.AddedEndMs
	return res, nil
}

// print shows the result for people.
func (res OverheadResult) print() {
	fmt.Printf("rule %q: %d runs, %d missed or doubled fires\n", res.Rule, res.Runs, res.MissedOrDuplicate)
	fmt.Printf("  raw Temporal fire → workflow started    %s\n", res.RawFireLateness)
	fmt.Printf("  schetask fire → process started         %s\n", res.FireLateness)
	fmt.Printf("    workflow started → process started    %s\n", res.WorkflowToProcess)
	fmt.Printf("  bare node (worker's env, piped to file) %s\n", res.Bare)
	fmt.Printf("  schetask process started → recorded     %s\n", res.ProcessToRecorded)
	fmt.Printf("  schetask fire → recorded as ended       %s\n", res.FireToRecorded)
	fmt.Printf("  schetask adds (p50s)                    %.1f ms before the process + %.1f ms after it = %.1f ms a run\n",
		res.AddedStartMs, res.AddedEndMs, res.AddedMs)
}
