package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/tasktype"
)

// IsolationResult is what run isolation adds to starting and ending a
// run: the same process started bare (its own process group, the
// worker's user, as before isolation) and isolated (user switch, cgroups
// made, limits written, born into them, usage read, cgroups removed),
// alternately in one loop so both see the same machine.
type IsolationResult struct {
	// Isolation is the sandbox's own description: layout and user.
	Isolation string `json:"isolation"`
	// SpacingMs is the pause between two iterations: runs are spaced, and
	// back-to-back cgroup moves would hide a cost paid once per pause.
	SpacingMs  float64 `json:"spacing_ms"`
	Bare       Dist    `json:"bare"`
	Isolated   Dist    `json:"isolated"`
	AddedP50Ms float64 `json:"added_p50_ms"`
}

// isolationBench starts /bin/true n times bare and n times isolated, as
// user, with a 256 MB, 1 CPU, 4096 process limit.
func isolationBench(n int, spacing time.Duration, user string) (*IsolationResult, error) {
	sb, err := sandbox.New(sandbox.Options{User: user, Cgroup: sandbox.CgroupAuto})
	if err != nil {
		return nil, err
	}
	lim := tasktype.Limits{MemoryMB: 256, CPU: 1, Pids: 4096}
	var bare, isolated []float64
	for i := range n {
		time.Sleep(spacing)
		start := time.Now()
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("bare start: %w", err)
		}
		bare = append(bare, ms(time.Since(start)))

		start = time.Now()
		run, err := sb.Prepare(int64(i), "", lim)
		if err != nil {
			return nil, err
		}
		cmd = exec.Command("/bin/true")
		if err := run.Start(cmd); err != nil {
			_ = run.Close()
			return nil, fmt.Errorf("isolated start: %w", err)
		}
		_ = cmd.Wait()
		run.End(cmd.ProcessState)
		if err := run.Close(); err != nil {
			return nil, err
		}
		isolated = append(isolated, ms(time.Since(start)))
	}
	r := &IsolationResult{Isolation: sb.Describe(), SpacingMs: ms(spacing), Bare: summarize(bare), Isolated: summarize(isolated)}
	r.AddedP50Ms = r.Isolated.P50 - r.Bare.P50
	return r, nil
}

// isolationUser is the user the isolation scenario runs as: the worker's
// default task user.
func isolationUser() string {
	if u := os.Getenv("SCHETASK_TASK_USER"); u != "" {
		return u
	}
	return "schetask-task"
}

func (r *IsolationResult) print() {
	fmt.Printf("isolation (%s), runs %.0f ms apart:\n  bare     %s\n  isolated %s\n  added at p50: %s\n",
		r.Isolation, r.SpacingMs, r.Bare, r.Isolated, msText(r.AddedP50Ms))
}
