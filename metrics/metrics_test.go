package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/schetask/schetask/metrics"
)

// TestDashboardQueriesExistingMetrics: every schetask metric the sample
// Grafana dashboard queries is one schetask exports.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../deploy/grafana/dashboards/schetask.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, n := range metrics.Names() {
		exported[n] = true
	}
	if len(exported) != 17 {
		t.Errorf("metrics.Names() = %v, want schetask's 17 metrics", metrics.Names())
	}
	name := regexp.MustCompile(`schetask_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				queried++
				base := n
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !exported[base] && !exported[n] {
					t.Errorf("panel %q queries %s, which schetask does not export", p.Title, n)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("the dashboard queries %d schetask metrics", queried)
	}
}
