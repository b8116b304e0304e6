package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
)

// requireIsolated checks that a run went as the task user in a cgroup and
// recorded what it used.
func requireIsolated(t *testing.T, r tasktype.Run) {
	t.Helper()
	if !strings.Contains(r.Isolation, "user=schetask-task") || strings.HasPrefix(r.Isolation, "pgroup") {
		t.Errorf("run %d isolation = %q, want a cgroup and user=schetask-task", r.ID, r.Isolation)
	}
	if r.Usage.CPUUserSeconds == nil || r.Usage.CPUSystemSeconds == nil || r.Usage.PeakMemoryBytes == nil || *r.Usage.PeakMemoryBytes <= 0 {
		t.Errorf("run %d usage not recorded: %+v", r.ID, r.Usage)
	}
}

// snoop tries what a hostile task would: the worker's environment through
// /proc, pid 1's, the worker's secret config, the database's files, and
// another task's code. Each attempt prints LEAK when it works.
const snoop = `#!/bin/sh
echo "running as uid $(id -u)"
for f in /proc/$PPID/environ /proc/1/environ /proc/$(cat worker.pid)/environ $(cat secret-paths); do
  if cat "$f" >/dev/null; then echo "LEAK read $f"; fi
done
if ls $(cat pg-dir) >/dev/null; then echo "LEAK listed the database's folder"; fi
if echo 'echo pwned' >> ../victim/index.sh; then echo "LEAK wrote victim"; fi
if touch index.sh; then echo "LEAK wrote own code"; fi
if echo x > "$SCHETASK_PUBLISH_DIR/out.txt"; then echo "publish is writable"; fi
if echo x > "$TMPDIR/scratch"; then echo "tmp is writable"; fi
env | grep -c . >/dev/null
env
`

func TestATaskCannotReadTheWorkersSecretsOrTouchOtherTasks(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	const dbPassword, adminPassword = "pg-s3cret-pw", "admin-s3cret-pw"

	// The worker reads its secrets from a config folder kept 0700, as the
	// README says, and its database URL holds a password.
	confDir := filepath.Join(t.TempDir(), "config")
	if err := os.Mkdir(confDir, 0o700); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(confDir, "production.env")
	if err := os.WriteFile(confFile, []byte("SCHETASK_ADMIN_PASSWORD="+adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbURL := strings.Replace(s.env.Config.DatabaseURL, "postgres@", "postgres:"+dbPassword+"@", 1)
	if !strings.Contains(dbURL, dbPassword) {
		t.Fatalf("could not put a password in %s", s.env.Config.DatabaseURL)
	}
	worker := startWorkerProcess(t, s, "SCHETASK_DATABASE_URL="+dbURL,
		"SCHETASK_CONFIG_DIR="+confDir, "SCHETASK_ENV=production")

	pgDirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "schetask-test-pg-*", "pg"))
	if len(pgDirs) == 0 {
		t.Fatal("no test Postgres folder found")
	}
	victimCode := "#!/bin/sh\necho victim\n"
	s.writeTask(t, "victim", map[string]string{"index.sh": victimCode})
	s.writeTask(t, "snoop", map[string]string{
		"index.sh":     snoop,
		"worker.pid":   strconv.Itoa(worker.Process.Pid),
		"secret-paths": confFile + "\n" + filepath.Join(pgDirs[0], "postgresql.auto.conf") + "\n",
		"pg-dir":       pgDirs[0],
	})
	s.insertTask(t, &testenv.TaskOpts{Name: "snoop", Rule: never})
	s.runNow(t, "snoop")
	run := s.waitRun(t, "snoop", 30*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
	log, err := os.ReadFile(s.layout.Abs(run.LogPath))
	if err != nil {
		t.Fatal(err)
	}
	out := string(log)
	t.Logf("the snooping task's log:\n%s", out)
	if strings.Contains(out, "LEAK") || strings.Contains(out, dbPassword) || strings.Contains(out, adminPassword) {
		t.Errorf("the task got through:\n%s", out)
	}
	if strings.Contains(out, "running as uid 0") || !strings.Contains(out, "Permission denied") {
		t.Errorf("the task's log shows no refusals:\n%s", out)
	}
	for _, want := range []string{"publish is writable", "tmp is writable", "USER=schetask-task"} {
		if !strings.Contains(out, want) {
			t.Errorf("the task's log lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(s.env.Config.TasksDir, "victim", "index.sh")); string(b) != victimCode {
		t.Errorf("the victim's code changed: %q", b)
	}
	if run.Status != tasktype.RunSucceeded {
		t.Errorf("run %s: %s", run.Status, run.Error)
	}
	requireIsolated(t, run)
	// What it published went to history, taken back by the worker.
	if uid := statUID(t, filepath.Join(s.layout.Abs(run.HistoryPath), "out.txt")); uid != os.Geteuid() {
		t.Errorf("archived file owned by uid %d, want the worker's %d", uid, os.Geteuid())
	}
}

// intruder connects to the helper socket of another run, named in the
// file "target", as a task would that scanned for it or read it from the
// other run's environment; then uses its own.
const intruder = `#!/bin/sh
target=$(cat target)
ls "$(dirname "$(dirname "$SCHETASK_HELPER_SOCKET")")" && echo "LEAK listed the runs"
if SCHETASK_HELPER_SOCKET="$target" "$SCHETASK_BIN" notify "sent as someone else"; then echo "LEAK notified as another run"; fi
if SCHETASK_HELPER_SOCKET="$target" "$SCHETASK_BIN" publish prod; then echo "LEAK published as another run"; fi
"$SCHETASK_BIN" notify "sent as myself" && echo "own notify ok"
`

func TestAHelperSocketAnswersOnlyItsOwnRun(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	s.cli = schetaskBinary(t)
	s.startWorker(t)
	s.insertTask(t, &testenv.TaskOpts{Name: "holder", Rule: never})
	run, pid, _ := startSleeper(t, s, "holder")
	// The holder's socket, from its environment (readable to its own user).
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	var target string
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "SCHETASK_HELPER_SOCKET="); ok {
			target = v
		}
	}
	if target == "" {
		t.Fatalf("no socket in the holder's environment")
	}
	s.writeTask(t, "intruder", map[string]string{"index.sh": intruder, "target": target})
	s.insertTask(t, &testenv.TaskOpts{Name: "intruder", Rule: never})
	s.runNow(t, "intruder")
	ir := s.waitRun(t, "intruder", 30*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
	log, _ := os.ReadFile(s.layout.Abs(ir.LogPath))
	out := string(log)
	t.Logf("the intruder's log:\n%s", out)
	if strings.Contains(out, "LEAK") || !strings.Contains(out, "own notify ok") {
		t.Errorf("socket check failed:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("is not part of run %d", run.ID)) {
		t.Errorf("the refusal does not say why:\n%s", out)
	}
	for _, a := range s.alertRows(t, "holder") {
		t.Errorf("an alert was raised as the holder: %+v", a)
	}
	if got := s.alertRows(t, "intruder"); len(got) != 1 || !strings.Contains(got[0].Body+got[0].Title, "sent as myself") {
		t.Errorf("the intruder's own alerts = %+v", got)
	}
	for _, r := range s.runs(t, "holder") {
		if len(r.Publishes) > 0 {
			t.Errorf("the holder's run recorded a publish it did not make: %+v", r.Publishes)
		}
	}
}

func TestASetsidChildDiesWhenItsEntrypointExits(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "leaver", map[string]string{"index.sh": "#!/bin/sh\nsetsid sleep 600 &\necho $! > \"$SCHETASK_PUBLISH_DIR/gc.pid\"\necho bye\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "leaver", Rule: never})
	s.runNow(t, "leaver")
	run := s.waitRun(t, "leaver", 30*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	b, err := os.ReadFile(filepath.Join(s.layout.Abs(run.HistoryPath), "gc.pid"))
	if err != nil {
		t.Fatal(err)
	}
	gc, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	requireGone(t, gc)
	requireIsolated(t, run)
}

// hog allocates 500 MB and touches every page.
const hog = `const chunks = [];
for (let i = 0; i < 50; i++) { chunks.push(Buffer.alloc(10 << 20, 1)); console.log('allocated', (i + 1) * 10, 'MB'); }
console.log('survived');
`

func TestAMemoryLimitEndsTheRunNotTheWorker(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "hog", map[string]string{"index.js": hog})
	s.insertTask(t, &testenv.TaskOpts{Name: "hog", Rule: never, MemoryLimitMB: new(64)})
	s.writeTask(t, "bystander", map[string]string{"index.sh": "echo fine\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "bystander", Rule: never})
	s.runNow(t, "hog")
	run := s.waitRun(t, "hog", 60*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
	if run.Status != tasktype.RunFailed || run.ExitCode == nil || *run.ExitCode != tasktype.ExitOutOfMemory ||
		!strings.Contains(run.Error, "out of memory: limit 64 MiB, peak") {
		t.Fatalf("hog run: %s exit %v %q", run.Status, run.ExitCode, run.Error)
	}
	if run.Usage.PeakMemoryBytes == nil || *run.Usage.PeakMemoryBytes > 65<<20 {
		t.Errorf("peak memory %v passed the 64 MiB limit", run.Usage.PeakMemoryBytes)
	}
	requireIsolated(t, run)
	testenv.Eventually(t, 20*time.Second, func() string {
		var failed []string
		for _, a := range s.alertRows(t, "hog") {
			if a.Kind == "failed" {
				failed = append(failed, a.Title+" "+a.Body)
			}
		}
		if len(failed) != 1 || !strings.Contains(failed[0], "out of memory") {
			return fmt.Sprintf("failure alerts: %q", failed)
		}
		return ""
	})
	s.runNow(t, "bystander")
	s.waitRun(t, "bystander", 30*time.Second, "succeeded after the hog", func(r tasktype.Run) bool {
		return r.Status == tasktype.RunSucceeded
	})
}

func TestACPULimitSlowsABusyLoop(t *testing.T) {
	t.Parallel()
	s := startSystem(t, true)
	s.writeTask(t, "spin", map[string]string{"index.js": "const end = Date.now() + 4000; while (Date.now() < end) {}\n"})
	s.insertTask(t, &testenv.TaskOpts{Name: "spin", Rule: never, CPULimit: new(0.5)})
	s.runNow(t, "spin")
	run := s.waitRun(t, "spin", 60*time.Second, "succeeded", func(r tasktype.Run) bool { return r.Status == tasktype.RunSucceeded })
	requireIsolated(t, run)
	cpu := *run.Usage.CPUSeconds()
	t.Logf("4 s busy loop at cpu_limit 0.5 used %.2f s of CPU", cpu)
	if cpu < 1.4 || cpu > 2.6 {
		t.Errorf("CPU = %.2f s, want about 2 s", cpu)
	}
}

func statUID(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// TestAPublishLeavesOutLinksThatLeadOutAndSaysSo: a task that plants
// links to the worker's files in publish/ publishes none of them, and
// its publish answer lists what was left out.
func TestAPublishLeavesOutLinksThatLeadOutAndSaysSo(t *testing.T) {
	t.Parallel()
	s := startSystem(t, false)
	s.cli = schetaskBinary(t)
	s.startWorker(t)
	s.writeTask(t, "linker", map[string]string{"index.sh": `#!/bin/sh
cd "$SCHETASK_PUBLISH_DIR"
echo data > real.txt
ln -s /etc/shadow shadow
ln -s ../../linker escape
ln -s real.txt alias
"$SCHETASK_BIN" publish prod
`})
	s.insertTask(t, &testenv.TaskOpts{Name: "linker", Rule: never})
	s.runNow(t, "linker")
	run := s.waitRun(t, "linker", 30*time.Second, "ended", func(r tasktype.Run) bool { return r.Status != tasktype.RunRunning })
	log, _ := os.ReadFile(s.layout.Abs(run.LogPath))
	if run.Status != tasktype.RunSucceeded || !strings.Contains(string(log), `"skipped"`) ||
		!strings.Contains(string(log), `"shadow"`) || !strings.Contains(string(log), `"escape"`) {
		t.Fatalf("run %s, log:\n%s", run.Status, log)
	}
	var root string
	for _, kv := range strings.Split(s.env.Config.PublishTargets, ",") {
		if v, ok := strings.CutPrefix(kv, "prod="); ok {
			root = v
		}
	}
	dst := filepath.Join(root, "linker")
	for _, name := range []string{"shadow", "escape"} {
		if _, err := os.Lstat(filepath.Join(dst, name)); err == nil {
			t.Errorf("%s was published", name)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "alias")); err != nil || target != "real.txt" {
		t.Errorf("the link inside the folder: %q %v", target, err)
	}
}
