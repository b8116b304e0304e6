package sync_test

import (
	"context"
	"strings"
	"testing"
)

// TestRulesThatNeverFireAndTheHostsZoneAreInvalid: a rule whose fields
// never meet on a date, and a zone that is not an IANA name (a row written
// before the database refused "Local"), are reported like a bad field, and
// the schedule keeps its last good settings.
func TestRulesThatNeverFireAndTheHostsZoneAreInvalid(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, task("gold", "*/10 * * * * *", "UTC")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.ReconcileTask(ctx, "gold"); err != nil || st.Created != 1 {
		t.Fatalf("create: %+v %v", st, err)
	}
	h := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+"gold")
	before, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ rule, zone, want string }{
		{"0 0 30 2 *", "UTC", `invalid rule "0 0 30 2 *": never fires: February has no day 30`},
		{"0 0 31 4 *", "UTC", "never fires: April has no day 31"},
		{"0 0 0 31 4 *", "Asia/Shanghai", "never fires: April has no day 31"},
		{"0 9 * * *", "Local", `time zone "Local": use an IANA name`},
		{"0 9 * * *", "", `time zone "": use an IANA name`},
	} {
		if bad.zone == "Local" {
			// Rows from before migration 008 may hold "Local" or "".
			if _, err := env.Store.Pool().Exec(ctx, `ALTER TABLE t_task_list DISABLE TRIGGER t_task_list_time_zone_iana`); err != nil {
				t.Fatal(err)
			}
		}
		if err := env.Store.UpsertTask(ctx, task("gold", bad.rule, bad.zone)); err != nil {
			t.Fatal(err)
		}
		st, err := s.ReconcileTask(ctx, "gold")
		if err != nil || st.Invalid != 1 || st.Writes() != 0 {
			t.Fatalf("%q in %q: %+v %v, want invalid and no writes", bad.rule, bad.zone, st, err)
		}
		state, ok, err := env.Store.GetSyncState(ctx, "gold")
		if err != nil || !ok || !strings.Contains(state.Error, bad.want) || !strings.Contains(state.Error, "keeps its last good settings") {
			t.Errorf("%q in %q: sync state %q %v, want it to say %q", bad.rule, bad.zone, state.Error, err, bad.want)
		}
	}
	after, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Info.LastUpdateAt.Equal(before.Info.LastUpdateAt) {
		t.Error("an invalid task changed the schedule")
	}
	// February 29 comes every four years: that rule is valid.
	if err := env.Store.UpsertTask(ctx, task("gold", "0 0 29 2 *", "UTC")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.ReconcileTask(ctx, "gold"); err != nil || st.Updated != 1 {
		t.Fatalf("0 0 29 2 *: %+v %v, want the schedule updated", st, err)
	}
	if state, _, _ := env.Store.GetSyncState(ctx, "gold"); state.Error != "" {
		t.Errorf("0 0 29 2 *: error not cleared: %q", state.Error)
	}
}
