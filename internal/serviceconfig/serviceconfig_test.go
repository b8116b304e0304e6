package serviceconfig_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/config"
	"github.com/schetask/schetask/internal/serviceconfig"
	"github.com/schetask/schetask/tasktype"
)

// fill sets every exported field v holds, recursively, to a value that is
// not zero.
func fill(v reflect.Value) {
	switch {
	case v.Type() == reflect.TypeFor[config.Secret]():
		v.Set(reflect.ValueOf(config.NewSecret("s3cret")))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case v.Type() == reflect.TypeFor[time.Duration]():
		v.SetInt(int64(7 * time.Second))
	case v.Kind() == reflect.String:
		v.SetString("x")
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		v.SetInt(7)
	case v.Kind() == reflect.Float64:
		v.SetFloat(0.5)
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf([]string{"x"}))
	}
}

// zeroFields names the exported fields of v, recursively, that are zero.
func zeroFields(prefix string, v reflect.Value) []string {
	if v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[config.Secret]() {
		var out []string
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, zeroFields(prefix+"."+f.Name, v.Field(i))...)
			}
		}
		return out
	}
	if v.IsZero() {
		return []string{prefix}
	}
	return nil
}

// TestEverySettingReachesItsService: with every setting of config.Config
// set, every field of each service's Config is set, but those the service
// keeps to its defaults. A field added to a service's Config and not
// mapped here fails.
func TestEverySettingReachesItsService(t *testing.T) {
	t.Parallel()
	var c config.Config
	fill(reflect.ValueOf(&c).Elem())
	for _, tt := range []struct {
		name     string
		cfg      any
		defaults []string // fields config does not set: the service's defaults
	}{
		{name: "tasksync.Config", cfg: serviceconfig.Sync(c)},
		{name: "monitor.Config", cfg: serviceconfig.Monitor(c), defaults: []string{"monitor.Config.Lookback", "monitor.Config.Settle"}},
		{name: "janitor.Config", cfg: serviceconfig.Janitor(c), defaults: []string{"janitor.Config.BatchSize", "janitor.Config.Day", "janitor.Config.Duty"}},
		{name: "alert.Config", cfg: serviceconfig.Alert(c)},
		{name: "notify.Config", cfg: serviceconfig.Notify(c)},
		{name: "worker.Config", cfg: serviceconfig.Worker(c)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range zeroFields(tt.name, reflect.ValueOf(tt.cfg)) {
				if !slices.Contains(tt.defaults, f) {
					t.Errorf("%s is not set from config.Config: map it in serviceconfig", f)
				}
			}
		})
	}
}

// TestEveryChannelReachesTheRaiser: with every channel configured, the
// alert raiser of sync and of the workers knows them all, in order.
func TestEveryChannelReachesTheRaiser(t *testing.T) {
	t.Parallel()
	var c config.Config
	fill(reflect.ValueOf(&c).Elem())
	if got := serviceconfig.Alert(c).Channels; !slices.Equal(got, tasktype.AlertChannelNames) {
		t.Errorf("Alert(c).Channels = %q, want %q", got, tasktype.AlertChannelNames)
	}
	if got := serviceconfig.Worker(c).Alerts.Channels; !slices.Equal(got, tasktype.AlertChannelNames) {
		t.Errorf("Worker(c).Alerts.Channels = %q, want %q", got, tasktype.AlertChannelNames)
	}
	if got := serviceconfig.Alert(config.Config{}).Channels; got == nil || len(got) != 0 {
		t.Errorf("Alert of no channel: Channels = %#v, want empty, not nil (nil means not known)", got)
	}
}
