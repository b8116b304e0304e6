package tasktype

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Layout is the folder contract under the tasks root:
//
//	<root>/<name>/index.js                         the entrypoint
//	<root>/<name>/logs/YYYYMM/DD/HHmmss.log        one log per run
//	<root>/<name>/publish/                         what a run publishes
//	<root>/<name>/history/YYYYMM/DD_HHmmss/        publish/ archived after each run
//
// Every path is built from a validated task name and a version made by
// Version, never from user-supplied path pieces.
type Layout struct {
	// Root is the absolute path of the tasks folder.
	Root string
}

// TaskDir returns the task's folder.
func (l Layout) TaskDir(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(l.Root, name), nil
}

// PublishDir returns the task's publish folder.
func (l Layout) PublishDir(name string) (string, error) {
	dir, err := l.TaskDir(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "publish"), nil
}

// LogPath returns the log file of the run with this version, relative to
// the tasks root (logs/YYYYMM/DD/HHmmss.log inside the task folder).
func (l Layout) LogPath(name, version string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	parts, err := versionParts(version)
	if err != nil {
		return "", err
	}
	return filepath.Join(name, "logs", parts[0], parts[1], parts[2]+".log"), nil
}

// HistoryPath returns the archive folder of the run with this version,
// relative to the tasks root (history/YYYYMM/DD_HHmmss inside the task folder).
func (l Layout) HistoryPath(name, version string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	parts, err := versionParts(version)
	if err != nil {
		return "", err
	}
	return filepath.Join(name, "history", parts[0], parts[1]+"_"+parts[2]), nil
}

// Abs joins a path relative to the tasks root onto it.
func (l Layout) Abs(rel string) string {
	return filepath.Join(l.Root, rel)
}

// Version is a run's task_version: the scheduled time in the task's zone as
// YYYYMM/DD/HHmmss, as the seed system made it. Two runs scheduled in the
// same second get a suffix ("-2", "-3", ...) from attempt.
func Version(scheduled time.Time, loc *time.Location, attempt int) string {
	v := scheduled.In(loc).Format("200601/02/150405")
	if attempt > 1 {
		v += fmt.Sprintf("-%d", attempt)
	}
	return v
}

func versionParts(version string) ([]string, error) {
	parts := strings.Split(version, "/")
	if len(parts) != 3 || len(parts[0]) != 6 || len(parts[1]) != 2 || len(parts[2]) < 6 {
		return nil, fmt.Errorf("invalid task version %q: want YYYYMM/DD/HHmmss", version)
	}
	for _, p := range parts {
		for _, r := range p {
			if (r < '0' || r > '9') && r != '-' {
				return nil, fmt.Errorf("invalid task version %q: want YYYYMM/DD/HHmmss", version)
			}
		}
	}
	return parts, nil
}
