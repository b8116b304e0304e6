package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/client"

	"github.com/schetask/schetask/devstack"
	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/temporalclient"
)

// StoreResult is raw Temporal's same-second burst on one dev server store.
type StoreResult struct {
	Store    string `json:"store"`
	Lateness Dist   `json:"fire_lateness"`
}

// storesBench fires n raw schedules due at one second on a fresh dev
// server per store, one after the other: SQLite written ahead (make run's),
// SQLite with its defaults, and memory (the tests').
func storesBench(ctx context.Context, logger *slog.Logger, cli, tmp string, n int) ([]StoreResult, error) {
	var out []StoreResult
	for i, s := range []struct {
		name     string
		file     bool
		defaults bool
	}{
		{name: "SQLite, write-ahead (make run)", file: true},
		{name: "SQLite, its defaults", file: true, defaults: true},
		{name: "memory (the tests)"},
	} {
		opts := devstack.TemporalOptions{CLI: cli, Port: testenv.FreePort(), Logger: logger,
			LogFile: filepath.Join(tmp, fmt.Sprintf("temporal-store-%d.log", i)), SQLiteDefaults: s.defaults}
		if s.file {
			opts.DBFile = filepath.Join(tmp, fmt.Sprintf("temporal-store-%d.db", i))
		}
		fmt.Fprintf(os.Stderr, "temporal store %s…\n", s.name)
		tp, err := devstack.StartTemporal(ctx, opts)
		if err != nil {
			return out, err
		}
		d, err := func() (Dist, error) {
			defer tp.Stop()
			c, err := client.Dial(temporalclient.Reconnecting(client.Options{HostPort: tp.Address(), Logger: devstack.SilentLogger{}}))
			if err != nil {
				return Dist{}, err
			}
			defer c.Close()
			return rawBurst(ctx, c, "bench-raw-store", n)
		}()
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Printf("raw Temporal, %d schedules due at one second, %s: %s\n", n, s.name, d)
		out = append(out, StoreResult{Store: s.name, Lateness: d})
	}
	return out, nil
}
