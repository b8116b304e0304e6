package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runsDirName is the folder under the worker's own cgroup that holds the
// runs' cgroups.
const runsDirName = "schetask-runs"

// v1Controllers are the v1 controllers a run uses when there is no v2
// hierarchy with them: limits (memory, cpu, pids), accounting (cpuacct,
// memory, blkio) and killing without a v2 tree (freezer).
var v1Controllers = []string{"memory", "cpu", "cpuacct", "pids", "blkio", "freezer"}

// mount is one cgroup hierarchy mounted on this host.
type mount struct {
	point       string   // where it is mounted
	root        string   // the cgroup path the mount shows at its point
	controllers []string // v1: the controllers it carries
}

// mounts reads /proc/self/mountinfo: the v2 mount, if any, and each v1
// controller's mount.
func mounts(mountinfo string) (v2 *mount, v1 map[string]mount, err error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	v1 = map[string]mount{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root point opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		m := mount{point: unescapeMount(a[4]), root: unescapeMount(a[3])}
		switch b[0] {
		case "cgroup2":
			if v2 == nil {
				v2 = &m
			}
		case "cgroup":
			for _, opt := range strings.Split(b[2], ",") {
				for _, c := range v1Controllers {
					if opt == c {
						m.controllers = append(m.controllers, c)
					}
				}
			}
			for _, c := range m.controllers {
				if _, seen := v1[c]; !seen {
					v1[c] = m
				}
			}
		}
	}
	return v2, v1, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups reads /proc/<pid>/cgroup: the v2 path ("" if none) and each
// v1 controller's path.
func ownCgroups(file string) (v2 string, v1 map[string]string, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("read cgroups: %w", err)
	}
	return parseCgroupFile(string(b))
}

func parseCgroupFile(s string) (v2 string, v1 map[string]string, err error) {
	v1 = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	return v2, v1, nil
}

// dirOf is the folder of cgroup path p in mount m.
func dirOf(m mount, p string) string {
	rel := p
	if m.root != "/" && m.root != "" {
		rel = strings.TrimPrefix(p, m.root)
	}
	return filepath.Join(m.point, rel)
}

func writeFile(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// keyed reads a "key value" file (cpu.stat, memory.events, memory.stat).
func keyed(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseKeyed(string(b)), nil
}

func parseKeyed(s string) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out
}

// procs lists the processes of the cgroup at dir.
func procs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// signalAll sends sig to every process of the cgroup at dir, never to
// the worker itself.
func signalAll(dir string, sig syscall.Signal) {
	pids, _ := procs(dir)
	for _, pid := range pids {
		if pid != os.Getpid() {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// killV2 kills every process of the v2 cgroup at dir at once
// (cgroup.kill, Linux 5.14), or one by one on older kernels.
func killV2(dir string) error {
	err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return killV1(dir, "")
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("kill cgroup %s: %w", dir, err)
	}
	return nil
}

// killV1 kills every process of the v1 cgroup at dir: frozen first, when
// a freezer cgroup is given, so nothing forks while it is killed.
func killV1(dir, freezer string) error {
	if freezer != "" {
		if err := writeFile(filepath.Join(freezer, "freezer.state"), "FROZEN"); err == nil {
			defer func() { _ = writeFile(filepath.Join(freezer, "freezer.state"), "THAWED") }()
		}
	}
	for round := 0; round < 100; round++ {
		pids, err := procs(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("kill cgroup %s: %w", dir, err)
		}
		pids = slices.DeleteFunc(pids, func(p int) bool { return p == os.Getpid() })
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if freezer != "" {
			return nil // frozen processes die when thawed
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("kill cgroup %s: processes keep appearing", dir)
}

// waitEmpty waits until the cgroup at dir has no process left (but the
// worker, whose thread passes through a run's v1 cgroups as it starts it).
func waitEmpty(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := procs(dir)
		pids = slices.DeleteFunc(pids, func(p int) bool { return p == os.Getpid() })
		if err != nil || len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s still has processes %v after %s", dir, pids, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// removeDir removes an empty cgroup, retrying while the kernel still
// counts a process that just exited.
func removeDir(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}
