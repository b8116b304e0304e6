package config

import "path/filepath"

// loadDevStack reads where `schetask dev` keeps its Postgres and Temporal
// (made absolute), their ports, and the temporal binary it runs.
func loadDevStack(r *reader, c *Config) {
	c.DataDir = r.str("SCHETASK_DATA_DIR", ".data")
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	c.DevPostgresPort = r.port("SCHETASK_DEV_PG_PORT", 55432)
	c.DevTemporalPort = r.port("SCHETASK_DEV_TEMPORAL_PORT", 7233)
	c.DevTemporalUIPort = r.port("SCHETASK_DEV_TEMPORAL_UI_PORT", 8233)
	c.TemporalCLI = r.str("SCHETASK_TEMPORAL_CLI", "bin/temporal")
}
