package webui

import (
	"cmp"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/schetask/schetask/tasktype"
)

// diskUse is what a task's runs take on disk: its logs/ and history/
// folders, in bytes.
type diskUse struct {
	Logs, History int64
}

// Total is the bytes of logs and history together.
func (u diskUse) Total() int64 { return u.Logs + u.History }

// String is the disk use as the console shows it.
func (u diskUse) String() string {
	return fmt.Sprintf("logs %s, history %s", humanBytes(u.Logs), humanBytes(u.History))
}

// sortByDiskUse fills each row's disk use and sorts the rows by it,
// largest first (by name among equals). It walks every task's folders, so
// the task list does it only when asked (?sort=disk).
func (s *Server) sortByDiskUse(rows []taskRow) {
	for i := range rows {
		rows[i].Disk = s.taskDiskUse(rows[i].Name)
	}
	slices.SortStableFunc(rows, func(a, b taskRow) int { return cmp.Compare(b.Disk.Total(), a.Disk.Total()) })
}

// taskDiskUse walks the task's logs/ and history/ folders. It is computed
// when the task page is viewed: the janitor keeps both folders to the
// task's retention, so the walk stays short.
func (s *Server) taskDiskUse(name string) diskUse {
	dir, err := tasktype.Layout{Root: s.opts.TasksDir}.TaskDir(name)
	if err != nil || s.opts.TasksDir == "" {
		return diskUse{}
	}
	return diskUse{Logs: folderBytes(filepath.Join(dir, "logs")), History: folderBytes(filepath.Join(dir, "history"))}
}

// folderBytes sums the sizes of the regular files under dir; what cannot
// be read counts as nothing.
func folderBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// RetentionSettings are the task's effective retention as the task page
// lists it, saying which limit is the global default.
func (d taskData) RetentionSettings() []setting {
	r := d.Task.RetentionFor(d.RetentionDefaults)
	runs := orNoLimit(r.KeepRuns == 0, fmt.Sprintf("the newest %d runs", r.KeepRuns))
	if d.Task.KeepRuns == nil {
		runs += " (default)"
	}
	days := orNoLimit(r.KeepDays == 0, fmt.Sprintf("%d days", r.KeepDays))
	if d.Task.KeepDays == nil {
		days += " (default)"
	}
	return []setting{
		{"keeps runs", runs},
		{"keeps days", days},
		{"disk use", d.Disk.String()},
	}
}
