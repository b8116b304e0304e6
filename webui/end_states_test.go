package webui

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/schetask/schetask/tasktype"
)

// TestEveryRunStateHasAColour: each state a run can be in has a bar colour
// on the task page's charts and a CSS class that colours its name in the
// run lists. A run outcome added to tasktype.EndStatuses alone fails here
// (see docs/extending.md).
func TestEveryRunStateHasAColour(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile(filepath.Join("static", "app.css"))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range append([]tasktype.RunStatus{tasktype.RunRunning}, tasktype.EndStatuses...) {
		if outcomeColors[status] == "" {
			t.Errorf("run state %q has no chart colour in outcomeColors (chart.go)", status)
		}
		// .status as a selector of a rule that sets a colour.
		rule := regexp.MustCompile(`(^|[\s,}])\.` + regexp.QuoteMeta(string(status)) + `([\s,{][^}]*)?\{[^}]*color:`)
		if !rule.Match(css) {
			t.Errorf("run state %q has no CSS class .%s with a colour in static/app.css", status, status)
		}
	}
}

// TestConsoleDoesNotImportActivities: the console finds a task's
// entrypoint through taskdir, as the worker does; it has no business with
// the worker's activities.
func TestConsoleDoesNotImportActivities(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "github.com/schetask/schetask/activities" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
