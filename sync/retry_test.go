package tasksync_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/internal/testenv"
	tasksync "github.com/schetask/schetask/sync"
	"github.com/schetask/schetask/temporalclient"
)

// A full reconcile that fails because Temporal is away is tried again
// within seconds, not at the next ResyncInterval (an hour here): the
// schedules, and Temporal's scheduler through their Describe, are in line
// soon after Temporal is back. Removing the retry timer from Syncer.Run
// fails this test.
func TestFailedReconcileIsRetriedWithinSeconds(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli, err := testenv.TemporalCLI()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort())
	// Nothing listens there yet.
	c, err := client.NewLazyClient(temporalclient.Reconnecting(client.Options{HostPort: addr, Logger: devstack.SilentLogger{}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := serviceconfig.Sync(env.Config)
	cfg.ResyncInterval = time.Hour
	var failures atomic.Int32
	logger := slog.New(countingHandler{Handler: env.Logger.Handler(), msg: "reconcile all", n: &failures})
	s, err := tasksync.New(cfg, env.Store, c, logger)
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{})
	go func() { _ = s.Run(ctx) }()
	// Two failures: the first full reconcile's, and that of the one the
	// listener asks for when it starts listening. Only a retry comes after.
	testenv.Eventually(t, 60*time.Second, func() string {
		if n := failures.Load(); n < 2 {
			return fmt.Sprintf("%d full reconciles have failed, want 2", n)
		}
		return ""
	})

	_, port, _ := strings.Cut(addr, ":")
	p, _ := strconv.Atoi(port)
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{CLI: cli, Port: p,
		LogFile: filepath.Join(t.TempDir(), "temporal.log"), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Stop()
	testenv.Eventually(t, 20*time.Second, func() string {
		if _, err := c.ScheduleClient().GetHandle(ctx, cfg.ScheduleIDPrefix+name).Describe(ctx); err != nil {
			return "no schedule yet: " + err.Error()
		}
		return ""
	})
}

// countingHandler counts the records whose message is msg.
type countingHandler struct {
	slog.Handler
	msg string
	n   *atomic.Int32
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return countingHandler{Handler: h.Handler.WithAttrs(attrs), msg: h.msg, n: h.n}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{Handler: h.Handler.WithGroup(name), msg: h.msg, n: h.n}
}
