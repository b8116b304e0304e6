package taskdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// entrypoints are the files a task folder may start from, in order of
// preference, with the interpreter that runs each ("" runs it directly).
var entrypoints = []struct {
	file        string
	interpreter string
}{
	{"index.js", "node"},
	{"index.mjs", "node"},
	{"index.py", "python3"},
	{"index.sh", "sh"},
	{"run", ""},
}

// ErrNoEntrypoint is wrapped when a task folder has nothing to run.
var ErrNoEntrypoint = errors.New("no entrypoint")

// EntrypointNames lists the entrypoint file names a task may use.
func EntrypointNames() []string {
	names := make([]string, len(entrypoints))
	for i, e := range entrypoints {
		names[i] = e.file
	}
	return names
}

// Entrypoint returns the command line that runs the task in dir: the first
// entrypoint file found, after its interpreter.
func Entrypoint(dir string) ([]string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: task folder %s: %w", ErrNoEntrypoint, dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a folder", ErrNoEntrypoint, dir)
	}
	for _, e := range entrypoints {
		path := filepath.Join(dir, e.file)
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if e.interpreter == "" {
			if fi.Mode().Perm()&0o111 == 0 {
				return nil, fmt.Errorf("%w: %s is not executable", ErrNoEntrypoint, path)
			}
			return []string{path}, nil
		}
		return []string{e.interpreter, path}, nil
	}
	return nil, fmt.Errorf("%w in %s: looked for %s", ErrNoEntrypoint, dir, strings.Join(EntrypointNames(), ", "))
}
