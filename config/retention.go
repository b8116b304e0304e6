package config

import "time"

// loadRetention reads how long runs, their files and alerts, and the
// console's audit rows are kept, and how often the janitor looks.
func loadRetention(r *reader, c *Config) {
	c.KeepRuns = r.whole("SCHETASK_KEEP_RUNS", 0)
	c.KeepDays = r.whole("SCHETASK_KEEP_DAYS", 30)
	c.KeepAuditDays = r.whole("SCHETASK_KEEP_AUDIT_DAYS", 365)
	c.JanitorInterval = r.duration("SCHETASK_JANITOR_INTERVAL", time.Minute)
	r.positive("SCHETASK_JANITOR_INTERVAL", c.JanitorInterval)
}
