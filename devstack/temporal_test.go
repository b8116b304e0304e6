package devstack

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The compose cluster and the dev server must be tuned alike, or the
// numbers measured here would not hold in production.
func TestComposeDynamicConfigMatchesTheDevServer(t *testing.T) {
	raw, err := os.ReadFile("../deploy/temporal/dynamicconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string][]struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse dynamicconfig.yaml: %v", err)
	}
	got := map[string]any{}
	for key, vals := range file {
		if len(vals) != 1 || vals[0].Constraints != nil {
			t.Fatalf("%s: want one value without constraints, got %+v", key, vals)
		}
		got[key] = normalize(t, vals[0].Value)
	}
	want := map[string]any{}
	for _, kv := range DevDynamicConfig {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("%q: want key=value", kv)
		}
		var v any
		if err := json.Unmarshal([]byte(val), &v); err != nil {
			t.Fatalf("%s: value is not JSON: %v", key, err)
		}
		want[key] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deploy/temporal/dynamicconfig.yaml = %v\nDevDynamicConfig = %v", got, want)
	}
}

// normalize gives a YAML value the shape the same value has as JSON.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
