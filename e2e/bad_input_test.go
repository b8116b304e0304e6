package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

func TestBadTasksAreReportedAndOthersKeepRunning(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "good", map[string]string{"index.sh": "echo fine\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "good", Rule: "*/2 * * * * *"})
	s.insertTask(t, &testenv.TaskOpts{Name: "badrule", Rule: "*/2 25 * * *"})
	s.insertTask(t, &testenv.TaskOpts{Name: "nofolder", Rule: "*/2 * * * * *"})

	// A name that climbs out of task/ never gets into the table.
	_, err := testenv.InsertTask(context.Background(), s.env.Store.Pool(), &testenv.TaskOpts{Name: "../etc"})
	if err == nil || !strings.Contains(err.Error(), "task_name_is_a_folder_name") {
		t.Errorf("insert of ../etc: %v, want the folder-name check to refuse it", err)
	}

	// Commands for tasks that do not exist say so.
	if err := s.control.RunNow(context.Background(), "../etc"); !errors.Is(err, tasktype.ErrInvalidName) {
		t.Errorf("run now of ../etc: %v, want ErrInvalidName", err)
	}
	if err := s.control.RunNow(context.Background(), "ghost"); !errors.Is(err, store.ErrTaskNotFound) {
		t.Errorf("run now of an unknown task: %v, want ErrTaskNotFound", err)
	}

	// The invalid rule is reported where the console can show it.
	testenv.Eventually(t, 5*time.Second, func() string {
		st, ok, err := s.env.Store.GetSyncState(context.Background(), "badrule")
		if err != nil {
			return err.Error()
		}
		if !ok || !strings.Contains(st.Error, "hour") || !strings.Contains(st.Error, "25") {
			return "no sync error for badrule: " + st.Error
		}
		return ""
	})
	// The missing folder fails each run with a clear message.
	failed := s.waitRun(t, "nofolder", 20*time.Second, "failed", func(r tasktype.Run) bool { return r.Status == tasktype.RunFailed })
	if failed.ExitCode == nil || *failed.ExitCode != tasktype.ExitNoEntrypoint || !strings.Contains(failed.Error, "no entrypoint") {
		t.Errorf("run of a task without folder: exit %v, error %q", failed.ExitCode, failed.Error)
	}
	// And the good task runs all along.
	testenv.Eventually(t, 20*time.Second, func() string {
		n := 0
		for _, r := range s.runs(t, "good") {
			if r.Status == tasktype.RunSucceeded {
				n++
			}
		}
		if n < 2 {
			return "good task has fewer than 2 succeeded runs"
		}
		return ""
	})
	if runs := s.runs(t, "badrule"); len(runs) != 0 {
		t.Errorf("a task with an invalid rule ran: %s", describeRuns(runs))
	}
}

// Not parallel: it measures this process's heap while the worker streams
// the output, so no other test may run beside it.
func TestHugeBinaryStderrKeepsTwoHundredLinesAndBoundedMemory(t *testing.T) {
	s := startSystem(t, true)
	const lines = 200000
	s.writeTask(t, "noisy", map[string]string{"index.js": `
const pad = 'x'.repeat(80);
let out = '';
for (let i = 0; i < ` + "200000" + `; i++) {
  out += 'line ' + i + ' ' + pad + '\n';
  if (out.length > 65536) { process.stderr.write(out); out = ''; }
}
process.stderr.write(out);
process.stderr.write(Buffer.from([0, 255, 254, 10]));
console.log('stdout too');
`})
	s.insertTask(t, &testenv.TaskOpts{Name: "noisy", Rule: never})

	var baseline runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&baseline)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	s.runNow(t, "noisy")
	run := s.waitRun(t, "noisy", 60*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	close(stop)

	if len(run.StderrHead) != tasktype.StderrHeadLines {
		t.Errorf("stored %d stderr lines, want %d", len(run.StderrHead), tasktype.StderrHeadLines)
	}
	if !strings.HasPrefix(run.StderrHead[0], "line 0 ") || !strings.HasPrefix(run.StderrHead[199], "line 199 ") {
		t.Errorf("stored lines are not the first ones: %q … %q", run.StderrHead[0], run.StderrHead[199])
	}
	if run.StderrLines != lines+1 {
		t.Errorf("counted %d stderr lines, want %d", run.StderrLines, lines+1)
	}
	f, err := os.Open(s.layout.Abs(run.LogPath))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, sawStdout := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "line ") {
			n++
		}
		sawStdout = sawStdout || sc.Text() == "stdout too"
	}
	if n != lines || !sawStdout {
		t.Errorf("log holds %d stderr lines (want %d), stdout line %v", n, lines, sawStdout)
	}
	grown := int64(peak.Load()) - int64(baseline.HeapInuse)
	t.Logf("log %d bytes; worker heap grew by at most %d KiB while streaming it", run.LogBytes, grown/1024)
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB while streaming a %d MiB log: output is being buffered", grown>>20, run.LogBytes>>20)
	}
}
