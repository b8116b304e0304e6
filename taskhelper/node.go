package taskhelper

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed node/index.js
var nodeModule []byte

// InstallNode writes the Node helper as the module "schetask" under dir and
// returns the folder to put on NODE_PATH.
func InstallNode(dir string) (string, error) {
	modules := filepath.Join(dir, "node_modules")
	pkg := filepath.Join(modules, "schetask")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return "", fmt.Errorf("install node helper: %w", err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "index.js"), nodeModule, 0o644); err != nil {
		return "", fmt.Errorf("install node helper: %w", err)
	}
	return modules, nil
}
