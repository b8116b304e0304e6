package taskdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/schetask/schetask/tasktype"
)

// EmptyPublishDir makes the task's publish folder exist and be empty.
func EmptyPublishDir(l tasktype.Layout, name string) error {
	dir, err := l.PublishDir(name)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("empty publish dir: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create publish dir: %w", err)
	}
	return nil
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
