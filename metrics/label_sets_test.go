package metrics_test

import (
	"testing"

	"github.com/schetask/schetask/metrics"
	"github.com/schetask/schetask/tasktype"
)

// TestFixedLabelSeriesExistFromTheStart: every run outcome has its
// schetask_run_duration_seconds series and every alert channel its
// schetask_alerts_total series before the first event, so dashboards and
// alert rules see a new outcome or channel at 0 (see docs/extending.md).
func TestFixedLabelSeriesExistFromTheStart(t *testing.T) {
	t.Parallel()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]map[string]bool{} // metric → "label=value" seen
	for _, f := range families {
		seen := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				seen[l.GetName()+"="+l.GetValue()] = true
			}
		}
		series[f.GetName()] = seen
	}
	for _, status := range tasktype.EndStatuses {
		if !series["schetask_run_duration_seconds"]["outcome="+string(status)] {
			t.Errorf("no schetask_run_duration_seconds{outcome=%q} series at start", status)
		}
	}
	for _, kind := range metrics.JanitorKinds {
		if !series["schetask_janitor_deleted_total"]["kind="+kind] {
			t.Errorf("no schetask_janitor_deleted_total{kind=%q} series at start", kind)
		}
	}
	for _, ch := range tasktype.AlertChannelNames {
		for _, result := range []string{"sent", "failed"} {
			if !series["schetask_alerts_total"]["channel="+ch] || !series["schetask_alerts_total"]["result="+result] {
				t.Errorf("no schetask_alerts_total{channel=%q,result=%q} series at start", ch, result)
			}
		}
	}
}
