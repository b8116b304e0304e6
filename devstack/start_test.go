package devstack_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/testenv"
)

// A dev server that cannot start says why in the error, not only in a log
// file the caller may have removed by then. Removing logTail from
// StartTemporal's error fails this test.
func TestTemporalThatExitsAtStartSaysWhy(t *testing.T) {
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = devstack.StartTemporal(context.Background(), devstack.TemporalOptions{
		CLI: cli, Port: busy.Addr().(*net.TCPAddr).Port,
		LogFile: filepath.Join(t.TempDir(), "temporal.log"), Logger: slog.New(slog.DiscardHandler),
	})
	if err == nil {
		t.Fatal("started on a port another process holds")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error does not carry the log's reason: %v", err)
	}
}

// A dev server that exits at once is started once more, so a port it lost
// to another process for a moment costs a second, not the stack. Removing
// the second launch from StartTemporal fails this test.
func TestTemporalThatExitsAtStartIsTriedOnceMore(t *testing.T) {
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "temporal.log")
	// The port is freed once the first server has failed on it.
	freed := make(chan struct{})
	go func() {
		defer close(freed)
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if b, _ := os.ReadFile(logFile); strings.Contains(string(b), "address already in use") {
				break
			}
		}
		busy.Close()
	}()
	tp, err := devstack.StartTemporal(context.Background(), devstack.TemporalOptions{
		CLI: cli, Port: busy.Addr().(*net.TCPAddr).Port, LogFile: logFile, Logger: slog.New(slog.DiscardHandler),
	})
	<-freed
	if err != nil {
		t.Fatalf("the second start failed too: %v", err)
	}
	tp.Stop()
}
