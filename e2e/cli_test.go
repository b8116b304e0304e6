package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

// cliWorld is a system with a worker, a console serving the API, an
// admin's API token and the real schetask binary: what a person with the
// CLI on their laptop has.
type cliWorld struct {
	*system
	base, token, bin string
}

func startCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	s := startSystem(t, true)
	ctx := context.Background()
	hash, err := webui.HashPassword("alice's password")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.env.Store.UpsertUser(ctx, store.User{Username: "alice", PasswordHash: hash, Role: string(webui.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	_, token, err := s.env.Store.CreateToken(ctx, store.APIToken{Name: "cli", Username: "alice", Role: string(webui.RoleAdmin)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := webui.New(s.env.Store, slog.New(slog.DiscardHandler), webui.Options{
		Namespace: "default", TasksDir: s.env.Config.TasksDir, Control: s.control})
	if err != nil {
		t.Fatal(err)
	}
	return &cliWorld{system: s, base: serveConsole(t, srv), token: token, bin: schetaskBinary(t)}
}

// cliProc is one schetask CLI process, its stdout read line by line as
// it comes.
type cliProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// start runs `schetask args...` against the world's console with its token.
func (w *cliWorld) start(t *testing.T, args ...string) *cliProc {
	t.Helper()
	cmd := exec.Command(w.bin, args...)
	cmd.Env = append(os.Environ(), "SCHETASK_URL="+w.base, "SCHETASK_TOKEN="+w.token)
	p := &cliProc{cmd: cmd, done: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		r := bufio.NewReader(out)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			p.mu.Lock()
			p.stdout.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				break
			}
		}
		p.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// output is what the process wrote so far.
func (p *cliProc) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.stderr.String()
}

// waitStdout waits until stdout has text while the process still runs.
func (p *cliProc) waitStdout(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, func() string {
		out, errOut := p.output()
		if strings.Contains(out, text) {
			return ""
		}
		select {
		case <-p.done:
			t.Fatalf("schetask ended (%v) before writing %q; stdout:\n%s\nstderr:\n%s", p.err, text, out, errOut)
		default:
		}
		return fmt.Sprintf("no %q on stdout yet; stdout:\n%s\nstderr:\n%s", text, out, errOut)
	})
}

// exit waits for the process's end and returns its exit code.
func (p *cliProc) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		out, errOut := p.output()
		t.Fatalf("schetask %s still running after %s; stdout:\n%s\nstderr:\n%s", strings.Join(p.cmd.Args[1:], " "), timeout, out, errOut)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// run runs `schetask args...` to its end.
func (w *cliWorld) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := w.start(t, args...)
	code = p.exit(t, 90*time.Second)
	stdout, stderr = p.output()
	return stdout, stderr, code
}

// wantExit fails the test unless the process ended with code.
func wantExit(t *testing.T, what string, got, want int, stdout, stderr string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", what, got, want, stdout, stderr)
	}
}

func TestCLIRunWait(t *testing.T) {
	t.Parallel()
	w := startCLIWorld(t)
	// Tasks on a rule that does not fire during the test: only the CLI runs them.
	const never = "0 0 1 1 *"
	// gold writes a line, then waits for the test to have seen it before
	// it writes the next: the log can only pass if it is streamed live.
	w.writeTask(t, "gold", map[string]string{"index.sh": `echo "gold first"
i=0
while [ ! -e "$SCHETASK_TASK_DIR/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
echo "gold second"
`})
	w.writeTask(t, "fails", map[string]string{"index.sh": "echo failing\nexit 101\n"})
	w.writeTask(t, "sleeper", map[string]string{"index.sh": "echo sleeper started\nsleep 120\n"})
	w.writeTask(t, "echoer", map[string]string{"index.sh": `printf 'title=[%s]\n' "$SCHETASK_PARAM_TITLE"` + "\n"})
	for _, name := range []string{"gold", "fails", "sleeper", "echoer"} {
		w.insertTask(t, &testenv.TaskOpts{Name: name, Rule: never})
	}
	w.exec(t, `UPDATE t_task_list SET params = '[{"name": "title"}]' WHERE task_name = 'echoer'`)
	// A run starts once sync has made the task's schedule.
	for _, name := range []string{"gold", "fails", "sleeper", "echoer"} {
		testenv.Eventually(t, 10*time.Second, func() string {
			if _, err := w.env.Temporal.ScheduleClient().GetHandle(context.Background(), w.control.ScheduleID(name)).Describe(context.Background()); err != nil {
				return name + ": " + err.Error()
			}
			return ""
		})
	}

	t.Run("follow prints the log as it goes and exits 0", func(t *testing.T) {
		p := w.start(t, "run", "gold", "--wait", "--follow")
		p.waitStdout(t, "gold first\n", 30*time.Second)
		if out, _ := p.output(); strings.Contains(out, "gold second") {
			t.Fatalf("gold second printed before the test let the task go on:\n%s", out)
		}
		if err := os.WriteFile(filepath.Join(w.env.Config.TasksDir, "gold", "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		code := p.exit(t, 30*time.Second)
		out, errOut := p.output()
		wantExit(t, "run gold --wait --follow", code, 0, out, errOut)
		if !strings.Contains(out, "gold first\ngold second\n") {
			t.Errorf("stdout is not the run's log:\n%s", out)
		}
	})

	t.Run("the task's own exit code", func(t *testing.T) {
		out, errOut, code := w.run(t, "run", "fails", "--wait")
		wantExit(t, "run fails --wait", code, 101, out, errOut)
		if !strings.Contains(errOut, "exit 101") {
			t.Errorf("stderr does not say how the run ended:\n%s", errOut)
		}
	})

	t.Run("runs and logs show the run", func(t *testing.T) {
		out, errOut, code := w.run(t, "runs", "--task", "fails", "--json")
		wantExit(t, "runs --task fails --json", code, 0, out, errOut)
		var page struct {
			Runs []struct {
				ID       int64  `json:"id"`
				Task     string `json:"task"`
				Status   string `json:"status"`
				ExitCode *int   `json:"exit_code"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("runs --json: %v:\n%s", err, out)
		}
		if len(page.Runs) != 1 || page.Runs[0].Task != "fails" || page.Runs[0].ExitCode == nil || *page.Runs[0].ExitCode != 101 {
			t.Fatalf("runs --task fails --json: %s", out)
		}
		id := fmt.Sprint(page.Runs[0].ID)
		out, errOut, code = w.run(t, "runs", "--task", "fails")
		wantExit(t, "runs --task fails", code, 0, out, errOut)
		if !strings.Contains(out, id) || !strings.Contains(out, "failed") || !strings.Contains(out, "101") {
			t.Errorf("runs --task fails does not show run %s failed with 101:\n%s", id, out)
		}
		for _, args := range [][]string{{"logs", id}, {"logs", id, "-f"}} {
			out, errOut, code = w.run(t, args...)
			wantExit(t, strings.Join(args, " "), code, 0, out, errOut)
			if out != "failing\n" {
				t.Errorf("%s printed %q, want the run's log", strings.Join(args, " "), out)
			}
		}
	})

	t.Run("a kill from another process exits with the killed code", func(t *testing.T) {
		p := w.start(t, "run", "sleeper", "--wait", "--follow")
		p.waitStdout(t, "sleeper started\n", 30*time.Second)
		out, errOut, code := w.run(t, "kill", "sleeper")
		wantExit(t, "kill sleeper", code, 0, out, errOut)
		code = p.exit(t, 30*time.Second)
		out, errOut = p.output()
		wantExit(t, "run sleeper --wait after a kill", code, tasktype.ExitKilled, out, errOut)
	})

	t.Run("a task that does not exist could not start", func(t *testing.T) {
		out, errOut, code := w.run(t, "run", "no-such-task", "--wait")
		wantExit(t, "run no-such-task --wait", code, tasktype.ExitNotStarted, out, errOut)
	})

	t.Run("an API that does not answer could not start", func(t *testing.T) {
		out, errOut, code := w.run(t, "run", "gold", "--wait", "--url", "http://127.0.0.1:1")
		wantExit(t, "run gold against a closed port", code, tasktype.ExitNotStarted, out, errOut)
	})

	t.Run("a --param value reaches the task verbatim", func(t *testing.T) {
		value := `a; echo pwned $(id) "q" 'x' *`
		out, errOut, code := w.run(t, "run", "echoer", "--param", "title="+value, "--wait", "--follow")
		wantExit(t, "run echoer --param", code, 0, out, errOut)
		if want := "title=[" + value + "]\n"; !strings.Contains(out, want) {
			t.Errorf("stdout %q does not hold %q", out, want)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{{"run"}, {"run", "gold", "--param", "novalue"}, {"run", "gold", "--no-such-flag"}} {
			out, errOut, code := w.run(t, args...)
			wantExit(t, strings.Join(args, " "), code, 2, out, errOut)
		}
	})
}

func TestCLIApplyExport(t *testing.T) {
	t.Parallel()
	w := startCLIWorld(t)
	ctx := context.Background()
	w.insertTask(t, &testenv.TaskOpts{Name: "alpha", Rule: "7 * * * *", Description: "the first"})
	w.insertTask(t, &testenv.TaskOpts{Name: "beta", Rule: "30 2 * * *", TimeZone: "Europe/Paris", Owners: []string{"ops@example.com"}})
	dir := t.TempDir()
	file := filepath.Join(dir, "tasks.yaml")

	out, errOut, code := w.run(t, "task", "export", "-o", file)
	wantExit(t, "task export", code, 0, out, errOut)
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: alpha", "name: beta", "7 * * * *", "Europe/Paris"} {
		if !bytes.Contains(exported, []byte(want)) {
			t.Fatalf("the export has no %q:\n%s", want, exported)
		}
	}

	// export → apply --dry-run: no change.
	out, errOut, code = w.run(t, "task", "apply", "-f", file, "--dry-run")
	wantExit(t, "apply the export --dry-run", code, 0, out, errOut)
	if changes := changeLines(out); len(changes) != 0 {
		t.Fatalf("applying the export would change %q; stdout:\n%s", changes, out)
	}

	// One rule edited: exactly that change, and a dry run makes none.
	edited := strings.Replace(string(exported), "7 * * * *", "8 * * * *", 1)
	if edited == string(exported) {
		t.Fatalf("no rule to edit in:\n%s", exported)
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = w.run(t, "task", "apply", "-f", file, "--dry-run")
	wantExit(t, "apply the edit --dry-run", code, 0, out, errOut)
	changes := changeLines(out)
	if len(changes) != 1 || !strings.Contains(changes[0], "alpha") || !strings.Contains(changes[0], "rule") ||
		!strings.Contains(changes[0], "7 * * * *") || !strings.Contains(changes[0], "8 * * * *") {
		t.Fatalf("the dry run shows %q, want alpha's rule 7 * * * * → 8 * * * *; stdout:\n%s", changes, out)
	}
	if rule := taskRule(t, w.system, "alpha"); rule != "7 * * * *" {
		t.Fatalf("a dry run changed alpha's rule to %q", rule)
	}

	// apply: the task changes, and its schedule follows within 2 s.
	out, errOut, code = w.run(t, "task", "apply", "-f", file)
	wantExit(t, "apply the edit", code, 0, out, errOut)
	applied := time.Now()
	if rule := taskRule(t, w.system, "alpha"); rule != "8 * * * *" {
		t.Fatalf("after apply alpha's rule is %q", rule)
	}
	h := w.env.Temporal.ScheduleClient().GetHandle(ctx, w.control.ScheduleID("alpha"))
	testenv.Eventually(t, 2*time.Second, func() string {
		d, err := h.Describe(ctx)
		if err != nil {
			return err.Error()
		}
		if len(d.Info.NextActionTimes) == 0 {
			return "the schedule has no next fire"
		}
		for _, next := range d.Info.NextActionTimes {
			if next.Minute() != 8 {
				return fmt.Sprintf("next fire at %s is not at minute 8", next)
			}
		}
		return ""
	})
	t.Logf("the schedule followed the apply within %s", time.Since(applied))

	// --prune deletes the task no file names.
	onlyAlpha := filepath.Join(dir, "alpha.yaml")
	out, errOut, code = w.run(t, "task", "export", "alpha", "-o", onlyAlpha)
	wantExit(t, "task export alpha", code, 0, out, errOut)
	out, errOut, code = w.run(t, "task", "apply", "-f", onlyAlpha, "--prune")
	wantExit(t, "apply --prune", code, 0, out, errOut)
	if changes := changeLines(out); len(changes) != 1 || !strings.HasPrefix(changes[0], "- beta") {
		t.Errorf("apply --prune printed %q, want - beta", changes)
	}
	if _, err := w.env.Store.GetTask(ctx, "beta"); err == nil {
		t.Fatal("beta is still there after apply --prune")
	}

	// An invalid file changes nothing and says file, line and field.
	bad := filepath.Join(dir, "bad.yaml")
	content := "tasks:\n  - name: alpha\n    rule: 9 * * * *\n    description: edited\n  - name: gamma\n    description: new\n    rule: 99 * * * *\n"
	if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := w.env.Store.GetTask(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code = w.run(t, "task", "apply", "-f", bad)
	wantExit(t, "apply an invalid file", code, 1, out, errOut)
	if want := bad + ":7"; !strings.Contains(errOut, want) || !strings.Contains(errOut, "rule") {
		t.Errorf("the error does not name %s and the field rule:\n%s", want, errOut)
	}
	after, err := w.env.Store.GetTask(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if after.Rule != before.Rule || after.Description != before.Description || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("an invalid apply changed alpha: rule %q → %q, description %q → %q", before.Rule, after.Rule, before.Description, after.Description)
	}
	if _, err := w.env.Store.GetTask(ctx, "gamma"); err == nil {
		t.Error("an invalid apply created gamma")
	}
}

// changeLines are the change lines of apply's output: "+ task", "- task",
// "~ task: field before → after".
func changeLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "~ ") {
			lines = append(lines, l)
		}
	}
	return lines
}

func taskRule(t *testing.T, s *system, name string) string {
	t.Helper()
	task, err := s.env.Store.GetTask(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return task.Rule
}
