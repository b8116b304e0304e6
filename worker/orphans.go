package worker

import (
	"context"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/proc"
	"github.com/schetask/schetask/sandbox"
)

// ReapOrphans kills the process groups of runs on this host whose worker
// process is gone: a worker killed with SIGKILL leaves its task running,
// and Temporal declares the run lost, but only a process on the same host
// can stop the task. It returns how many processes it killed.
func (w *Worker) ReapOrphans(ctx context.Context) (int, error) {
	candidates, err := w.store.OrphanCandidates(ctx, w.host)
	if err != nil {
		return 0, fmt.Errorf("reap orphans: %w", err)
	}
	killed := 0
	for _, c := range candidates {
		if proc.Alive(c.WorkerPID, c.WorkerStartTicks) {
			continue // its own worker still looks after it
		}
		if len(c.Cgroups) > 0 {
			// The run's cgroup holds all it started, setsid or not.
			n, err := sandbox.KillCgroups(c.Cgroups)
			if err != nil {
				w.logger.Warn("kill an orphaned run's cgroup", slog.Int64("run", c.RunID), slog.Any("error", err))
			}
			if n > 0 {
				killed += n
				metrics.OrphansKilled.Add(float64(n))
				w.logger.Warn("killed orphaned task processes", slog.String("task", c.TaskName),
					slog.Int64("run", c.RunID), slog.Int("processes", n), slog.Any("cgroups", c.Cgroups))
			}
		}
		if leader, err := proc.ReadStat(c.PID); err == nil && leader.StartTicks != c.PIDStartTicks {
			// The task's pid now belongs to another process, which may lead
			// a group of its own with the same id: leave it alone.
			continue
		}
		pids, err := proc.GroupMembers(c.PID, c.PIDStartTicks)
		if err != nil {
			return killed, fmt.Errorf("reap orphans: %w", err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				killed++
				metrics.OrphansKilled.Inc()
			}
		}
		if len(pids) > 0 {
			w.logger.Warn("killed orphaned task processes", slog.String("task", c.TaskName),
				slog.Int64("run", c.RunID), slog.Any("pids", pids))
		}
	}
	return killed, nil
}
