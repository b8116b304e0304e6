package alert

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/schetask/schetask/tasktype"
)

// Defaults of the Config fields left zero.
const (
	WorkflowIDPrefixDefault = "task-"
	RepeatEveryDefault      = 30 * time.Minute
	RetryMaxIntervalDefault = time.Minute
	GiveUpAfterDefault      = 24 * time.Hour
	NamespaceDefault        = "default"
)

// Config is what a Raiser reads: where deliveries run, how often a topic
// may alert, how long a delivery is retried, what the links point at and
// which channels exist. NewRaiser fills the zero fields with defaults
// (WithDefaults) and rejects the rest of what is wrong.
type Config struct {
	// TaskQueue is where the Notify workflows run. Required.
	TaskQueue string
	// WorkflowIDPrefix starts the Notify workflow ids ("<prefix>alert:<id>").
	WorkflowIDPrefix string
	// RepeatEvery is the repeat limit: one alert per task and topic per
	// this long.
	RepeatEvery time.Duration
	// RetryMaxInterval and GiveUpAfter bound the delivery retries: the
	// longest wait between two tries of a channel, and how long a channel
	// is tried at all.
	RetryMaxInterval time.Duration
	GiveUpAfter      time.Duration
	// ConsoleURL and TemporalUIURL are the bases of an alert's links; an
	// empty one gives no link. Namespace is the Temporal namespace in the
	// Temporal Web links.
	ConsoleURL    string
	TemporalUIURL string
	Namespace     string
	// Channels are the channels configured on the workers, as
	// notify.Config.ChannelNames gives them. An alert the repeat limit
	// lets through but no channel would carry, for the task's route, is
	// recorded as not sent, with the reason under NoChannel in its
	// deliveries, and not dispatched. Nil means not known: every such
	// alert is dispatched; empty means none.
	Channels []string
}

// WithDefaults returns c with its zero fields set to their defaults. The
// URLs and Channels have none: empty says something of its own.
func (c Config) WithDefaults() Config {
	c.WorkflowIDPrefix = cmp.Or(c.WorkflowIDPrefix, WorkflowIDPrefixDefault)
	c.RepeatEvery = cmp.Or(c.RepeatEvery, RepeatEveryDefault)
	c.RetryMaxInterval = cmp.Or(c.RetryMaxInterval, RetryMaxIntervalDefault)
	c.GiveUpAfter = cmp.Or(c.GiveUpAfter, GiveUpAfterDefault)
	c.Namespace = cmp.Or(c.Namespace, NamespaceDefault)
	return c
}

// validate reports every field that is wrong, naming it and saying why.
func (c Config) validate() error {
	var errs []error
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("alert config: TaskQueue: required"))
	}
	for _, d := range []struct {
		field string
		val   time.Duration
	}{{"RepeatEvery", c.RepeatEvery}, {"RetryMaxInterval", c.RetryMaxInterval}, {"GiveUpAfter", c.GiveUpAfter}} {
		if d.val <= 0 {
			errs = append(errs, fmt.Errorf("alert config: %s: must be positive, got %s", d.field, d.val))
		}
	}
	for _, ch := range c.Channels {
		if !slices.Contains(tasktype.AlertChannelNames, ch) {
			errs = append(errs, fmt.Errorf("alert config: Channels: %q is not a channel (want one of %q)", ch, tasktype.AlertChannelNames))
		}
	}
	return errors.Join(errs...)
}
