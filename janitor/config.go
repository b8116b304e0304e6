package janitor

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Defaults of the Config fields left zero.
const (
	IntervalDefault  = time.Minute
	BatchSizeDefault = 500
	DayDefault       = 24 * time.Hour
	DutyDefault      = 0.25
)

// Config is what a Janitor reads. New fills the zero fields that have
// defaults (WithDefaults) and rejects the rest of what is wrong; the
// Keep* fields have none, as 0 means no limit.
type Config struct {
	// TasksDir is the absolute tasks root, where logs and history live.
	TasksDir string
	// Interval is the time between two passes.
	Interval time.Duration
	// KeepRuns and KeepDays are the retention of tasks whose row sets
	// none; 0 is no limit of that kind.
	KeepRuns int
	KeepDays int
	// KeepAuditDays is how many days of audit rows are kept; 0 keeps all.
	KeepAuditDays int
	// BatchSize is the most rows one delete statement removes.
	BatchSize int
	// Day is how long a retention day is: 24 hours, shortened by tests
	// that want keep_days to pass in seconds.
	Day time.Duration
	// Duty is the share of a pass's time spent deleting (0 < Duty ≤ 1):
	// after each batch the janitor rests (1-Duty)/Duty times as long as
	// the batch took, so a pass over a large backlog leaves Postgres's CPU
	// to the runs' own writes. 1 never rests.
	Duty float64
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Interval = cmp.Or(c.Interval, IntervalDefault)
	c.BatchSize = cmp.Or(c.BatchSize, BatchSizeDefault)
	c.Day = cmp.Or(c.Day, DayDefault)
	c.Duty = cmp.Or(c.Duty, DutyDefault)
	return c
}

// validate reports every field that is wrong, naming it and saying why.
func (c Config) validate() error {
	var errs []error
	if c.TasksDir == "" || !filepath.IsAbs(c.TasksDir) {
		errs = append(errs, fmt.Errorf("janitor config: TasksDir: must be an absolute path, got %q", c.TasksDir))
	}
	if !(c.Duty > 0 && c.Duty <= 1) {
		errs = append(errs, fmt.Errorf("janitor config: Duty: must be in (0, 1], got %g", c.Duty))
	}
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"Interval", c.Interval}, {"Day", c.Day}} {
		if d.val <= 0 {
			errs = append(errs, fmt.Errorf("janitor config: %s: must be positive, got %s", d.field, d.val))
		}
	}
	for _, n := range []struct {
		field string
		val   int
	}{{"KeepRuns", c.KeepRuns}, {"KeepDays", c.KeepDays}, {"KeepAuditDays", c.KeepAuditDays}} {
		if n.val < 0 {
			errs = append(errs, fmt.Errorf("janitor config: %s: must be 0 (no limit) or more, got %d", n.field, n.val))
		}
	}
	if c.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("janitor config: BatchSize: must be positive, got %d", c.BatchSize))
	}
	return errors.Join(errs...)
}
