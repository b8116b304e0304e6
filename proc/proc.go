// Package proc knows Linux processes: a process's identity (pid plus its
// start time, so a reused pid is never mistaken for it), and how to signal
// and find the members of a process group.
package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Stat is what /proc/<pid>/stat says about a process that matters here.
type Stat struct {
	PID        int
	PGID       int
	StartTicks uint64
	Zombie     bool
}

// ReadStat reads /proc/<pid>/stat; it fails when the process is gone.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return parseStat(pid, string(b))
}

func parseStat(pid int, s string) (Stat, error) {
	// The command name (field 2) is in parentheses and may hold anything,
	// so fields are counted from the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("parse stat of %d: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); pgrp is field 5, starttime field 22.
	if len(f) < 20 {
		return Stat{}, fmt.Errorf("parse stat of %d: %d fields", pid, len(f))
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return Stat{}, fmt.Errorf("parse stat of %d: pgrp: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("parse stat of %d: starttime: %w", pid, err)
	}
	return Stat{PID: pid, PGID: pgid, StartTicks: start, Zombie: f[0] == "Z" || f[0] == "X"}, nil
}

// StartTicks returns the start time of pid in clock ticks since boot.
func StartTicks(pid int) (uint64, error) {
	st, err := ReadStat(pid)
	return st.StartTicks, err
}

// Alive reports whether the process pid that started at startTicks still
// runs (and is not a zombie).
func Alive(pid int, startTicks uint64) bool {
	st, err := ReadStat(pid)
	return err == nil && st.StartTicks == startTicks && !st.Zombie
}

// GroupMembers lists the live processes of process group pgid that
// started at or after minStartTicks: the group's leader and whatever it
// spawned, but not an unrelated group that later took the same id.
func GroupMembers(pgid int, minStartTicks uint64) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.Zombie || st.PGID != pgid || st.StartTicks < minStartTicks {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// SignalGroup sends sig to every process of group pgid. A group that has
// no process left is not an error.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal group %d: %w", pgid, err)
	}
	return nil
}
