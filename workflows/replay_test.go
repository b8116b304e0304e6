package workflows_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/notify"
	"github.com/schetask/schetask/workflows"
)

// record makes TestRecordHistories run real workflows on a dev server and
// rewrite testdata/; without it the package needs no server at all.
var record = flag.Bool("record", false, "record workflow histories from real runs into testdata/ (needs Postgres and bin/temporal)")

func TestMain(m *testing.M) {
	flag.Parse()
	if *record {
		testenv.Main(m)
		return
	}
	os.Exit(m.Run())
}

// workflowRegistry is what worker.New and the replayer both register
// workflows on.
type workflowRegistry interface {
	RegisterWorkflow(w any)
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// registerWorkflows registers the workflows under the names and options
// worker/worker.go gives them: a history is replayed against the code a
// deployed worker would run it with.
func registerWorkflows(r workflowRegistry) {
	r.RegisterWorkflow(workflows.RunTask)
	r.RegisterWorkflow(workflows.ChainGate)
	r.RegisterWorkflowWithOptions(notify.Workflow, workflow.RegisterOptions{Name: alert.NotifyWorkflow})
}

// workflowNames collects the type names registerWorkflows gives.
type workflowNames []string

func (n *workflowNames) RegisterWorkflow(w any) {
	// Temporal's default name is the function's name without its package.
	full := runtime.FuncForPC(reflect.ValueOf(w).Pointer()).Name()
	*n = append(*n, full[strings.LastIndex(full, ".")+1:])
}

func (n *workflowNames) RegisterWorkflowWithOptions(_ any, options workflow.RegisterOptions) {
	*n = append(*n, options.Name)
}

// TestReplayHistories replays every history recorded under testdata/
// against today's workflow code. A failure means a change would break
// workflows already running when a new worker is deployed (a schedule
// keeps firing RunTask across deploys; a Notify may retry for a day): put
// the change behind workflow.GetVersion (see docs/notes.md, "Workflow
// versioning").
func TestReplayHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no histories under testdata/: record them with go test ./workflows/ -run TestRecordHistories -record")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			t.Parallel()
			r := sdkworker.NewWorkflowReplayer()
			registerWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// TestEveryWorkflowHasHistories fails when a workflow is registered
// without a recorded history to replay, or a history's workflow type is
// no longer registered (its runs would fail after a deploy).
func TestEveryWorkflowHasHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var registered workflowNames
	registerWorkflows(&registered)
	recorded := map[string][]string{}
	for _, f := range files {
		b, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := client.HistoryFromJSON(b, client.HistoryJSONOptions{})
		b.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(h.Events) == 0 || h.Events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
			t.Fatalf("%s does not start with WorkflowExecutionStarted", f)
		}
		name := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		recorded[name] = append(recorded[name], filepath.Base(f))
		if !slices.Contains(registered, name) {
			t.Errorf("%s is a history of workflow type %q, which the worker no longer registers", f, name)
		}
	}
	for _, name := range registered {
		if len(recorded[name]) == 0 {
			t.Errorf("workflow %q has no recorded history under testdata/: add its paths to TestRecordHistories and record", name)
		}
	}
}
