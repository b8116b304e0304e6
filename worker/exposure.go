package worker

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/schetask/schetask/sandbox"
)

// warnReadableByTasks says at start which of the worker's secret files a
// task could read, and whether tasks can reach the tasks folder at all.
func warnReadableByTasks(logger *slog.Logger, sb *sandbox.Sandbox, cfg Config) {
	acct := sb.DefaultAccount()
	if acct == nil {
		return
	}
	for _, f := range cfg.SecretSources {
		if readableBy(f, acct) {
			logger.Warn("a file holding secrets is readable by the task user: make it 0600 (or its folder 0700)",
				slog.String("file", f), slog.String("task_user", acct.Name))
		}
	}
	if !reachableBy(cfg.TasksDir, acct) {
		logger.Warn("the tasks folder is not reachable by the task user: its runs cannot start until every folder above it lets the user in (o+x)",
			slog.String("tasks_dir", cfg.TasksDir), slog.String("task_user", acct.Name))
	}
}

// permits reports whether the file info grants bit (4 read, 1 search) to acct.
func permits(fi os.FileInfo, acct *sandbox.Account, bit os.FileMode) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := fi.Mode().Perm()
	switch {
	case st.Uid == acct.UID:
		return mode&(bit<<6) != 0
	case st.Gid == acct.GID || containsGID(acct.Groups, st.Gid):
		return mode&(bit<<3) != 0
	default:
		return mode&bit != 0
	}
}

func containsGID(groups []uint32, gid uint32) bool {
	for _, g := range groups {
		if g == gid {
			return true
		}
	}
	return false
}

// reachableBy reports whether acct may search every folder down to path.
func reachableBy(path string, acct *sandbox.Account) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || !permits(fi, acct, 1) {
			return false
		}
		if dir == "/" {
			return true
		}
	}
}

// readableBy reports whether acct could open file for reading.
func readableBy(file string, acct *sandbox.Account) bool {
	fi, err := os.Stat(file)
	if err != nil {
		return false
	}
	return permits(fi, acct, 4) && reachableBy(filepath.Dir(file), acct)
}
