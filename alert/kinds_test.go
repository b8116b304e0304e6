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

// TestEveryAlertKindIsDecided walks alert.Kinds: each kind's repeat-limit
// topic and severity are written down here, so a kind added without
// deciding them (falling to the failure topic and "error" unseen) fails.
func TestEveryAlertKindIsDecided(t *testing.T) {
	t.Parallel()
	want := map[alert.Kind]struct {
		topic    alert.Topic
		severity string
	}{
		alert.KindTimeout:    {alert.TopicFailure, "error"},
		alert.KindFailed:     {alert.TopicFailure, "error"},
		alert.KindLost:       {alert.TopicFailure, "error"},
		alert.KindMissed:     {alert.TopicMissed, "warning"},
		alert.KindDeleted:    {alert.TopicDeleted, "warning"},
		alert.KindCustom:     {alert.TopicCustom, "warning"},
		alert.KindRecovered:  {alert.TopicFailure, "ok"},
		alert.KindSlow:       {alert.TopicNormal, "warning"},
		alert.KindFast:       {alert.TopicNormal, "warning"},
		alert.KindDidNothing: {alert.TopicNormal, "warning"},
		alert.KindDeadline:   {alert.TopicDeadline, "error"},
	}
	for _, k := range alert.Kinds {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %q: no topic and severity decided here", k)
			continue
		}
		if k.Topic() != w.topic || k.Severity() != w.severity {
			t.Errorf("kind %q: topic %q, severity %q; want %q, %q", k, k.Topic(), k.Severity(), w.topic, w.severity)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("kind %q is decided here but not in alert.Kinds", k)
	}
}
