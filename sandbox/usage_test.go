package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schetask/schetask/tasktype"
)

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func TestUsageReadersOnFixtureFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		read func() Result
		want Result
	}{
		{"v2 cpu.stat, memory.peak, memory.events, io.stat", func() Result { return readV2("testdata/v2") },
			Result{Usage: usage(f64(2), f64(0.5), i64(64<<20), i64(12288), i64(1<<20)), OOMKills: 1}},
		{"v1 cpuacct usage_user/usage_sys, memory, blkio", func() Result {
			return readV1(map[string]string{"cpuacct": "testdata/v1/cpuacct", "memory": "testdata/v1/memory", "blkio": "testdata/v1/blkio"})
		}, Result{Usage: usage(f64(1.25), f64(0.25), i64(32<<20), i64(12388), i64(4096)), OOMKills: 2}},
		{"v1 cpuacct.stat in ticks, nothing else", func() Result {
			return readV1(map[string]string{"cpuacct": "testdata/v1old/cpuacct"})
		}, Result{Usage: usage(f64(1.5), f64(0.25), nil, nil, nil)}},
		{"a missing cgroup tells nothing", func() Result { return readV2("testdata/none") }, Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.read()
			if d := diffUsage(got, tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func usage(user, sys *float64, peak, rd, wr *int64) tasktype.Usage {
	return tasktype.Usage{CPUUserSeconds: user, CPUSystemSeconds: sys, PeakMemoryBytes: peak, IOReadBytes: rd, IOWriteBytes: wr}
}

func limits(mem int64, cpu float64, pids int64) tasktype.Limits {
	return tasktype.Limits{MemoryMB: mem, CPU: cpu, Pids: pids}
}

func diffUsage(got, want Result) string {
	fs := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	is := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	g, w := got.Usage, want.Usage
	gotV := []any{fs(g.CPUUserSeconds), fs(g.CPUSystemSeconds), is(g.PeakMemoryBytes), is(g.IOReadBytes), is(g.IOWriteBytes), got.OOMKills}
	wantV := []any{fs(w.CPUUserSeconds), fs(w.CPUSystemSeconds), is(w.PeakMemoryBytes), is(w.IOReadBytes), is(w.IOWriteBytes), want.OOMKills}
	for i := range gotV {
		if gotV[i] != wantV[i] {
			return "usage = " + describe(gotV) + ", want " + describe(wantV)
		}
	}
	return ""
}

func describe(v []any) string {
	out := ""
	for _, x := range v {
		out += " " + fmtAny(x)
	}
	return out
}

func fmtAny(x any) string {
	if x == nil {
		return "nil"
	}
	return fmt.Sprint(x)
}

func TestMountsFindEachHierarchy(t *testing.T) {
	t.Parallel()
	v2, v1, err := mounts("testdata/mountinfo-hybrid")
	if err != nil {
		t.Fatal(err)
	}
	if v2 == nil || v2.point != "/sys/fs/cgroup/unified" {
		t.Errorf("v2 = %+v", v2)
	}
	for c, want := range map[string]string{"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer"} {
		if v1[c].point != want {
			t.Errorf("v1[%s] = %q, want %q", c, v1[c].point, want)
		}
	}
	if _, ok := v1["blkio"]; ok {
		t.Error("blkio is not mounted in the fixture")
	}
	// A mount of a sub-tree (a container's) maps cgroup paths under its root.
	if got := dirOf(v1["freezer"], "/docker/abc/x"); got != "/sys/fs/cgroup/freezer/x" {
		t.Errorf("dirOf = %q", got)
	}
	if got := unescapeMount(`/mnt/with\040space`); got != "/mnt/with space" {
		t.Errorf("unescape = %q", got)
	}
}

func TestParseCgroupFile(t *testing.T) {
	t.Parallel()
	v2, v1, err := parseCgroupFile("12:pids:/user.slice\n4:cpu,cpuacct:/a/b\n1:name=systemd:/x\n0::/system.slice/w.service\n")
	if err != nil {
		t.Fatal(err)
	}
	if v2 != "/system.slice/w.service" || v1["pids"] != "/user.slice" || v1["cpu"] != "/a/b" || v1["cpuacct"] != "/a/b" {
		t.Errorf("v2 %q v1 %v", v2, v1)
	}
}

func TestKillCgroupsRefusesWhatIsNotARunsCgroup(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified/schetask-runs/../init.scope",
		"/etc/passwd", "/sys/fs/cgroup/unified/other/run-1-ab"} {
		if _, err := KillCgroups([]string{p}); err == nil {
			t.Errorf("KillCgroups(%q) accepted it", p)
		}
	}
	// A run's cgroup that is gone already is not an error.
	if _, err := KillCgroups([]string{"/sys/fs/cgroup/unified/schetask-runs/run-1-gone"}); err != nil {
		t.Errorf("gone cgroup: %v", err)
	}
}

func TestANonWritableCgroupTreeFallsBackToTheProcessGroupVisibly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A "cgroup2 mount" that is a plain read-only folder.
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	mi := filepath.Join(dir, "mountinfo")
	cg := filepath.Join(dir, "cgroup")
	_ = os.WriteFile(mi, []byte("34 33 0:29 / "+ro+" rw - cgroup2 cgroup2 rw\n"), 0o644)
	_ = os.WriteFile(cg, []byte("0::/\n"), 0o644)
	sb, err := New(Options{User: "schetask-task", Cgroup: CgroupAuto, mountinfo: mi, cgroupFile: cg, canSwitch: func() bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if sb.Mode() != ModePgroup {
		t.Errorf("mode = %s, want pgroup", sb.Mode())
	}
	run, err := sb.Prepare(1, "", limits(64, 0.5, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if got := run.Isolation(); got != "pgroup same-user unenforced=memory,cpu" {
		t.Errorf("isolation = %q", got)
	}
	if d := sb.Describe(); !strings.Contains(d, "cannot switch users") {
		t.Errorf("Describe() = %q does not say tasks share the worker's user", d)
	}
}
