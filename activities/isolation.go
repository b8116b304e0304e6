package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// prepareRun makes the run's boundary from its task's row (run_as and
// limits, read now so a change applies to the next run) over the
// worker's defaults. A task whose row is gone (a run started by hand
// after a delete) gets the defaults.
func (a *Activities) prepareRun(ctx context.Context, in ExecTaskInput) (*sandbox.Run, error) {
	var task tasktype.Task
	t, err := a.Store.GetTask(ctx, in.TaskName)
	switch {
	case err == nil:
		task = t
	case errors.Is(err, store.ErrTaskNotFound):
	default:
		return nil, fmt.Errorf("read the task's limits: %w", err)
	}
	box, err := a.Sandbox.Prepare(in.RunID, task.RunAs, task.LimitsFor(a.Sandbox.Defaults()))
	if err != nil {
		return nil, fmt.Errorf("prepare the run: %w", err)
	}
	return box, nil
}

// makeRunDir makes the run's private folder under the helper folder:
// mode 0700, owned by the run's user, with tmp/ inside.
func (a *Activities) makeRunDir(runID int64, acct *sandbox.Account) (string, error) {
	base := a.HelperDir
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, fmt.Sprintf("run-%d-", runID))
	if err != nil {
		return "", fmt.Errorf("make the run's folder: %w", err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("make the run's folder: %w", err)
	}
	if acct != nil {
		for _, p := range []string{dir, tmp} {
			if err := os.Lchown(p, int(acct.UID), int(acct.GID)); err != nil {
				os.RemoveAll(dir)
				return "", fmt.Errorf("give the run's folder to user %s: %w", acct.Name, err)
			}
		}
	}
	return dir, nil
}

// peerCheck lets only the run's own processes use its helper socket: the
// run's user, inside the run's cgroup (or process group).
func peerCheck(box *sandbox.Run, runID int64) func(pid, uid int) error {
	wantUID := os.Geteuid()
	if acct := box.Account(); acct != nil {
		wantUID = int(acct.UID)
	}
	return func(pid, uid int) error {
		if uid != wantUID {
			return fmt.Errorf("uid %d is not the user of run %d", uid, runID)
		}
		if !box.Contains(pid) {
			return fmt.Errorf("process %d is not part of run %d", pid, runID)
		}
		return nil
	}
}

// recordUsage writes what the run consumed on its row and to /metrics.
func (a *Activities) recordUsage(ctx context.Context, log *slog.Logger, runID int64, res sandbox.Result) {
	metrics.RunUsage(res.Usage)
	if err := a.Store.SetRunUsage(context.WithoutCancel(ctx), runID, res.Usage); err != nil {
		log.Warn("record the run's usage", slog.Any("error", err))
	}
}

// reclaim gives an archived folder, written by a task's user, to the
// worker, so that no later run can change a version once archived.
func reclaim(dir string) error {
	uid, gid := os.Geteuid(), os.Getegid()
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
