package janitor

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// runFiles removes the files of deleted runs of one task and remembers
// the folders they were in, to remove those left empty.
type runFiles struct {
	layout tasktype.Layout
	logger *slog.Logger
	now    time.Time
	// folders are the day and month folders that held removed files.
	folders map[string]bool
}

// remove removes the run's log file and history folder. Their paths are
// built by the Layout from the run's task name and version, never taken
// from the row, and must stay inside the task's folder; a row whose paths
// say otherwise is logged and its stored paths left alone.
func (f *runFiles) remove(run store.ExpiredRun, st *Stats) error {
	taskDir, err := f.layout.TaskDir(run.TaskName)
	if err != nil {
		return fmt.Errorf("run %d: %w", run.ID, err)
	}
	logRel, err := f.layout.LogPath(run.TaskName, run.Version)
	if err != nil {
		return fmt.Errorf("run %d: %w", run.ID, err)
	}
	historyRel, err := f.layout.HistoryPath(run.TaskName, run.Version)
	if err != nil {
		return fmt.Errorf("run %d: %w", run.ID, err)
	}
	if (run.LogPath != "" && run.LogPath != logRel) || (run.HistoryPath != "" && run.HistoryPath != historyRel) {
		f.logger.Warn("run's stored paths are not its layout's; removing the layout's only",
			slog.Int64("run", run.ID), slog.String("log_path", run.LogPath), slog.String("history_path", run.HistoryPath))
	}
	var errs []error
	for _, p := range []struct {
		rel       string
		isHistory bool
	}{{logRel, false}, {historyRel, true}} {
		abs := f.layout.Abs(p.rel)
		if !inside(taskDir, abs) {
			errs = append(errs, fmt.Errorf("run %d: %s is outside the task folder", run.ID, p.rel))
			continue
		}
		n, err := removeAll(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("run %d: %w", run.ID, err))
			continue
		}
		st.FreedBytes += n
		if p.isHistory {
			st.Histories++
			f.remember(filepath.Dir(abs)) // history/YYYYMM
		} else {
			st.Logs++
			f.remember(filepath.Dir(abs))               // logs/YYYYMM/DD
			f.remember(filepath.Dir(filepath.Dir(abs))) // logs/YYYYMM
		}
	}
	return errors.Join(errs...)
}

func (f *runFiles) remember(dir string) {
	if f.folders == nil {
		f.folders = map[string]bool{}
	}
	f.folders[dir] = true
}

// recentFolderDays are the days whose folders stay even when empty: a
// run of the current day (in whatever zone its task has) may be about to
// create its log or history there.
const recentFolderDays = 2

// removeEmptyFolders removes the remembered folders that are empty, day
// folders before month folders, but not those of the last days. It
// returns how many it removed.
func (f *runFiles) removeEmptyFolders() int {
	dirs := make([]string, 0, len(f.folders))
	for d := range f.folders {
		dirs = append(dirs, d)
	}
	// Deeper first: a day folder, then its month folder.
	slices.SortFunc(dirs, func(a, b string) int { return depth(b) - depth(a) })
	removed := 0
	for _, d := range dirs {
		if f.recent(d) {
			continue
		}
		if err := os.Remove(d); err == nil {
			removed++
		}
	}
	return removed
}

// recent reports whether folder d (logs/YYYYMM/DD, logs/YYYYMM or
// history/YYYYMM) may still receive a run's files: its last day is within
// recentFolderDays of now.
func (f *runFiles) recent(d string) bool {
	base, parent := filepath.Base(d), filepath.Base(filepath.Dir(d))
	var last time.Time
	if t, err := time.Parse("200601/02", parent+"/"+base); err == nil && len(base) == 2 {
		last = t.AddDate(0, 0, 1)
	} else if t, err := time.Parse("200601", base); err == nil {
		last = t.AddDate(0, 1, 0)
	} else {
		return true // not a folder of the layout: leave it
	}
	return last.After(f.now.AddDate(0, 0, -recentFolderDays))
}

func depth(path string) int { return strings.Count(path, string(filepath.Separator)) }

// inside reports whether path is within dir.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// removeAll removes path, a file or a folder, without following symbolic
// links, and returns the bytes of the regular files it held.
func removeAll(path string) (int64, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	var n int64
	if info.IsDir() {
		_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if i, err := d.Info(); err == nil {
					n += i.Size()
				}
			}
			return nil
		})
	} else if info.Mode().IsRegular() {
		n = info.Size()
	}
	if err := os.RemoveAll(path); err != nil {
		return 0, fmt.Errorf("remove %s: %w", path, err)
	}
	return n, nil
}
