package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schetask/schetask/store"
)

// TestCLIApplyRefusesAChainCycle: `schetask task apply` of files whose
// chain loops (a after b, b after a), or where a task runs after itself,
// changes nothing and names the loop at the file and line of the task's
// after.
func TestCLIApplyRefusesAChainCycle(t *testing.T) {
	t.Parallel()
	w := startCLIWorld(t)
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "chain.yaml")
	content := "tasks:\n" +
		"  - name: extract\n" +
		"    rule: 0 2 * * *\n" +
		"  - name: load\n" +
		"    after: [report]\n" + // line 5
		"  - name: report\n" +
		"    rule: 0 3 * * *\n" +
		"    after:\n" + // line 8
		"      - load\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := w.run(t, "task", "apply", "-f", file)
	wantExit(t, "apply a loop", code, 1, out, errOut)
	if want := file + `:5: task "load": after: chain cycle: load → report → load`; !strings.Contains(errOut, want) {
		t.Errorf("apply of a loop: stderr\n%s\nwant %s", errOut, want)
	}
	self := filepath.Join(dir, "self.yaml")
	if err := os.WriteFile(self, []byte("name: extract\nrule: 0 2 * * *\non_failure:\n  - extract\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = w.run(t, "task", "apply", "-f", self)
	wantExit(t, "apply a task on failure of itself", code, 1, out, errOut)
	if want := self + `:3: task "extract": on_failure: "extract" is this task: a task cannot run on its own failure`; !strings.Contains(errOut, want) {
		t.Errorf("apply of a task on failure of itself: stderr\n%s\nwant %s", errOut, want)
	}
	for _, name := range []string{"extract", "load", "report"} {
		if _, err := w.env.Store.GetTask(ctx, name); !errors.Is(err, store.ErrTaskNotFound) {
			t.Errorf("a refused apply created %s: %v", name, err)
		}
	}
}
