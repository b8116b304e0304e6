package monitor

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Defaults of the Config fields left zero.
const (
	IntervalDefault = 5 * time.Second
	GraceDefault    = time.Minute
	LookbackDefault = 24 * time.Hour
	SettleDefault   = 5 * time.Second
)

// Config is what a Monitor reads: how often it checks, how late a run may
// start, and how far back and how soon after a change it looks. New fills
// the zero fields with defaults (WithDefaults) and rejects the rest of
// what is wrong.
type Config struct {
	// Interval is how often the checks run.
	Interval time.Duration
	// Grace is how late a run may start before it counts as missed.
	Grace time.Duration
	// CatchupWindow is how late Temporal may still start a fire after an
	// outage (the schedules' catch-up window, set by sync). A fire is not
	// counted as missed before that window and a few seconds more have
	// passed, so a fire that is caught up is never also reported missed.
	// Zero: no catch-up.
	CatchupWindow time.Duration
	// Lookback bounds how far back a check looks (after the monitor itself
	// was down, say).
	Lookback time.Duration
	// Settle is how long after a schedule is created or changed its fires
	// are not checked: Temporal's scheduler drops fires due before it first
	// runs, which can be a second or more after the create call.
	Settle time.Duration
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Interval = cmp.Or(c.Interval, IntervalDefault)
	c.Grace = cmp.Or(c.Grace, GraceDefault)
	c.Lookback = cmp.Or(c.Lookback, LookbackDefault)
	c.Settle = cmp.Or(c.Settle, SettleDefault)
	return c
}

// validate reports every field that is wrong, naming it and saying why.
func (c Config) validate() error {
	var errs []error
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"Interval", c.Interval}, {"Grace", c.Grace}, {"Lookback", c.Lookback}, {"Settle", c.Settle}} {
		if d.val <= 0 {
			errs = append(errs, fmt.Errorf("monitor config: %s: must be positive, got %s", d.field, d.val))
		}
	}
	if c.CatchupWindow < 0 {
		errs = append(errs, fmt.Errorf("monitor config: CatchupWindow: must not be negative, got %s", c.CatchupWindow))
	}
	return errors.Join(errs...)
}
