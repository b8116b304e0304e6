package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// FinishRunInput is how a run ended, as the workflow saw it.
type FinishRunInput struct {
	TaskName string
	RunID    int64
	Version  string
	Status   tasktype.RunStatus
	ExitCode int
	Error    string
	// Archive says whether to archive publish/ (not when the task never ran).
	Archive bool
}

// FinishRun is the end hook: it moves what the run left in publish/ to
// history/<version>/, then records the outcome, the archived files and the
// task's last_end_time, and raises the alert the outcome deserves. It is
// idempotent, so Temporal may retry it.
func (a *Activities) FinishRun(ctx context.Context, in FinishRunInput) (tasktype.Run, error) {
	p := store.FinishRunParams{RunID: in.RunID, Status: in.Status, ExitCode: in.ExitCode, Error: in.Error}
	if in.Archive {
		rel, files, err := ArchivePublishDir(a.Layout, in.TaskName, in.Version)
		if err != nil {
			// The outcome is still recorded; the files stay in publish/.
			p.Error = joinMessages(p.Error, err.Error())
		}
		if rel != "" && a.Sandbox != nil && a.Sandbox.SwitchesUser() {
			if err := reclaim(a.Layout.Abs(rel)); err != nil {
				p.Error = joinMessages(p.Error, fmt.Sprintf("take the archived version back from the task's user: %v", err))
			}
		}
		p.HistoryPath, p.PublishedFiles = rel, files
	}
	run, err := a.Store.FinishRun(ctx, p)
	if err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	if run.EndTime != nil {
		metrics.RunEnded(run.TaskName, string(run.Status), run.EndTime.Sub(run.StartTime))
	}
	if err := a.raiseOutcome(ctx, run); err != nil {
		return run, fmt.Errorf("end hook: %w", err)
	}
	return run, nil
}

// ArchivePublishDir moves the task's publish folder, when it holds
// anything, to history/<version>/ and leaves an empty publish folder. It
// returns the history folder relative to the tasks root and the archived
// files relative to it. Done again after a crash it finishes the job.
func ArchivePublishDir(l tasktype.Layout, name, version string) (historyRel string, files []string, err error) {
	publish, err := l.PublishDir(name)
	if err != nil {
		return "", nil, err
	}
	historyRel, err = l.HistoryPath(name, version)
	if err != nil {
		return "", nil, err
	}
	history := l.Abs(historyRel)
	if _, err := os.Stat(history); err == nil {
		// Archived by an earlier attempt.
		files, err = listFiles(history)
		return historyRel, files, err
	}
	entries, err := os.ReadDir(publish)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read publish dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(history), 0o755); err != nil {
		return "", nil, fmt.Errorf("create history dir: %w", err)
	}
	// A rename is atomic: the version appears whole or not at all.
	if err := os.Rename(publish, history); err != nil {
		return "", nil, fmt.Errorf("archive publish dir: %w", err)
	}
	if err := os.Mkdir(publish, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, fmt.Errorf("recreate publish dir: %w", err)
	}
	files, err = listFiles(history)
	return historyRel, files, err
}

// listFiles lists the regular files under dir, relative to it, sorted.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list archived files: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

func joinMessages(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
