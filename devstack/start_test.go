package devstack_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

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
