package alert_test

import (
	"slices"
	"testing"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/internal/testenv"
)

// TestDatabaseAcceptsExactlyTheAlertKinds: the kind_known check of
// t_task_alert names exactly alert.Kinds, so a kind added to one and not
// the other fails here rather than when the first such alert is raised.
func TestDatabaseAcceptsExactlyTheAlertKinds(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	got := checkLiterals(t, env, "t_task_alert", "kind_known")
	var want []string
	for _, k := range alert.Kinds {
		want = append(want, string(k))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("kind_known accepts %q; alert.Kinds has %q: add a migration or the kind", got, want)
	}
}
