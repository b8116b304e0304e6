package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/schetask/schetask/tasktype"
)

// readV2 reads a v2 cgroup's accounting: cpu.stat (always there),
// memory.peak and memory.events (memory controller, Linux 5.19 for the
// peak), io.stat (io controller).
func readV2(dir string) Result {
	var res Result
	if st, err := keyed(filepath.Join(dir, "cpu.stat")); err == nil {
		if v, ok := st["user_usec"]; ok {
			res.Usage.CPUUserSeconds = seconds(v, 1e6)
		}
		if v, ok := st["system_usec"]; ok {
			res.Usage.CPUSystemSeconds = seconds(v, 1e6)
		}
	}
	if v, err := readInt(filepath.Join(dir, "memory.peak")); err == nil && v >= 0 {
		res.Usage.PeakMemoryBytes = &v
	}
	if ev, err := keyed(filepath.Join(dir, "memory.events")); err == nil {
		res.OOMKills = ev["oom_kill"]
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		rd, wr := parseIOStat(string(b))
		res.Usage.IOReadBytes, res.Usage.IOWriteBytes = &rd, &wr
	}
	return res
}

// parseIOStat sums rbytes and wbytes over the devices of a v2 io.stat:
// "8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0".
func parseIOStat(s string) (read, write int64) {
	for _, line := range strings.Split(s, "\n") {
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			}
		}
	}
	return read, write
}

// readV1 reads v1 accounting: cpuacct (usage_user and usage_sys in ns, or
// cpuacct.stat in USER_HZ ticks), memory (max_usage_in_bytes,
// oom_control's oom_kill) and blkio (throttle.io_service_bytes).
func readV1(dirs map[string]string) Result {
	var res Result
	if d := dirs["cpuacct"]; d != "" {
		if u, err := readInt(filepath.Join(d, "cpuacct.usage_user")); err == nil {
			res.Usage.CPUUserSeconds = seconds(u, 1e9)
			if s, err := readInt(filepath.Join(d, "cpuacct.usage_sys")); err == nil {
				res.Usage.CPUSystemSeconds = seconds(s, 1e9)
			}
		} else if st, err := keyed(filepath.Join(d, "cpuacct.stat")); err == nil {
			const userHZ = 100
			res.Usage.CPUUserSeconds = seconds(st["user"], userHZ)
			res.Usage.CPUSystemSeconds = seconds(st["system"], userHZ)
		}
	}
	if d := dirs["memory"]; d != "" {
		if v, err := readInt(filepath.Join(d, "memory.max_usage_in_bytes")); err == nil && v >= 0 {
			res.Usage.PeakMemoryBytes = &v
		}
		if oc, err := keyed(filepath.Join(d, "memory.oom_control")); err == nil {
			res.OOMKills = oc["oom_kill"]
		}
	}
	if d := dirs["blkio"]; d != "" {
		for _, f := range []string{"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"} {
			if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				rd, wr := parseBlkio(string(b))
				res.Usage.IOReadBytes, res.Usage.IOWriteBytes = &rd, &wr
				break
			}
		}
	}
	return res
}

// parseBlkio sums the Read and Write lines of a v1 blkio byte count:
// "8:0 Read 4096", "8:0 Write 0", ..., "Total 4096".
func parseBlkio(s string) (read, write int64) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		switch f[1] {
		case "Read":
			read += n
		case "Write":
			write += n
		}
	}
	return read, write
}

// fillFromRusage fills what the cgroup could not tell from the main
// process's rusage (it covers the process and the children it waited for).
func fillFromRusage(u tasktype.Usage, ps *os.ProcessState) tasktype.Usage {
	if ps == nil {
		return u
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return u
	}
	if u.CPUUserSeconds == nil {
		u.CPUUserSeconds = seconds(ru.Utime.Sec*1e6+int64(ru.Utime.Usec), 1e6)
	}
	if u.CPUSystemSeconds == nil {
		u.CPUSystemSeconds = seconds(ru.Stime.Sec*1e6+int64(ru.Stime.Usec), 1e6)
	}
	if u.PeakMemoryBytes == nil {
		v := ru.Maxrss * 1024 // KiB on Linux
		u.PeakMemoryBytes = &v
	}
	if u.IOReadBytes == nil {
		v := ru.Inblock * 512
		u.IOReadBytes = &v
	}
	if u.IOWriteBytes == nil {
		v := ru.Oublock * 512
		u.IOWriteBytes = &v
	}
	return u
}

func seconds(v int64, perSecond float64) *float64 {
	s := float64(v) / perSecond
	return &s
}
