package proc

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       Stat
		wantErr    bool
	}{
		{"plain", "42 (node) S 1 42 42 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 7 0 123456 1000 100",
			Stat{PID: 42, PGID: 42, StartTicks: 123456}, false},
		{"name with spaces and parens", "43 (we ird) (x) Z 1 40 40 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 7 0 99 1000 100",
			Stat{PID: 43, PGID: 40, StartTicks: 99, Zombie: true}, false},
		{"truncated", "44 (x) S 1 2", Stat{}, true},
		{"no name", "45 x S", Stat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pid := tt.want.PID
			if pid == 0 {
				pid = 1
			}
			got, err := parseStat(pid, tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGroupMembersFindsGrandchildrenAndSignalGroupKillsThem(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sh", "-c", "sleep 600 & sleep 600 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	start, err := StartTicks(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(cmd.Process.Pid, start) || Alive(cmd.Process.Pid, start+1) {
		t.Fatal("Alive must match pid and start time")
	}
	deadline := time.Now().Add(5 * time.Second)
	var members []int
	for time.Now().Before(deadline) {
		if members, _ = GroupMembers(cmd.Process.Pid, start); len(members) == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(members) != 3 {
		t.Fatalf("group members = %v, want the shell and two sleeps", members)
	}
	if err := SignalGroup(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for time.Now().Before(deadline) {
		if members, _ = GroupMembers(cmd.Process.Pid, start); len(members) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("after SIGKILL to the group, still alive: %v", members)
}
