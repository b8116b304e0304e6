package activities

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// resolveInterpreter turns the interpreter's name into a path, so that a
// missing one is reported as such.
func resolveInterpreter(argv []string) ([]string, error) {
	if filepath.IsAbs(argv[0]) {
		return argv, nil
	}
	p, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("interpreter %s not found on PATH: %w", argv[0], err)
	}
	out := append([]string{p}, argv[1:]...)
	return out, nil
}
