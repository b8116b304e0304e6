package tasksync_test

import (
	"context"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/schetask/schetask/tasktype"
)

// TestEachOverlapPolicyReachesTemporalAsItsOwnEnum: every overlap policy
// a row may hold becomes Temporal's policy of the same name, both when the
// schedule is created and when a row changes policy (the update path), so
// swapping two entries of the mapping fails here.
func TestEachOverlapPolicyReachesTemporalAsItsOwnEnum(t *testing.T) {
	t.Parallel()
	s, env := setup(t)
	ctx := context.Background()
	policies := []struct {
		policy tasktype.OverlapPolicy
		want   enumspb.ScheduleOverlapPolicy
	}{
		{tasktype.OverlapSkip, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
		{tasktype.OverlapBufferOne, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
		{tasktype.OverlapBufferAll, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
		{tasktype.OverlapCancelOther, enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
		{tasktype.OverlapTerminateOther, enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
		{tasktype.OverlapAllowAll, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
	}
	// The table must name every policy the database accepts.
	var accepted []string
	rows, err := env.Store.Pool().Query(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 't_task_list'::regclass AND pg_get_constraintdef(oid) LIKE '%overlap_policy%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, def)
	}
	rows.Close()
	if len(accepted) != 1 {
		t.Fatalf("want one CHECK on overlap_policy, found %q", accepted)
	}
	for _, p := range policies {
		if !containsQuoted(accepted, string(p.policy)) {
			t.Errorf("the database does not accept %q: %q", p.policy, accepted)
		}
	}
	for _, def := range accepted {
		if n := countQuoted(def); n != len(policies) {
			t.Errorf("the database accepts %d overlap policies, the table names %d: %s", n, len(policies), def)
		}
	}

	describe := func(name string) enumspb.ScheduleOverlapPolicy {
		t.Helper()
		d, err := env.Temporal.ScheduleClient().GetHandle(ctx, env.Config.ScheduleIDPrefix+name).Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Schedule.Policy == nil {
			t.Fatalf("%s: schedule has no policies", name)
		}
		return d.Schedule.Policy.Overlap
	}
	for i, p := range policies {
		// Created with the policy.
		created := "ov-new-" + string(rune('a'+i))
		row := task(created, "0 0 1 1 *", "UTC")
		row.Overlap = p.policy
		if err := env.Store.UpsertTask(ctx, row); err != nil {
			t.Fatal(err)
		}
		if st, err := s.ReconcileTask(ctx, created); err != nil || st.Created != 1 {
			t.Fatalf("%s: create %+v %v", p.policy, st, err)
		}
		if got := describe(created); got != p.want {
			t.Errorf("created with %s: Temporal has %s, want %s", p.policy, got, p.want)
		}

		// Changed to the policy from the one before it in the table.
		changed := "ov-upd-" + string(rune('a'+i))
		row = task(changed, "0 0 1 1 *", "UTC")
		row.Overlap = policies[(i+len(policies)-1)%len(policies)].policy
		if err := env.Store.UpsertTask(ctx, row); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReconcileTask(ctx, changed); err != nil {
			t.Fatal(err)
		}
		row.Overlap = p.policy
		if err := env.Store.UpsertTask(ctx, row); err != nil {
			t.Fatal(err)
		}
		if st, err := s.ReconcileTask(ctx, changed); err != nil || st.Updated != 1 {
			t.Fatalf("%s: update %+v %v", p.policy, st, err)
		}
		if got := describe(changed); got != p.want {
			t.Errorf("changed to %s: Temporal has %s, want %s", p.policy, got, p.want)
		}
	}
}

func containsQuoted(defs []string, v string) bool {
	for _, d := range defs {
		if strings.Contains(d, "'"+v+"'") {
			return true
		}
	}
	return false
}

// countQuoted counts the quoted literals in a CHECK constraint.
func countQuoted(def string) int { return strings.Count(def, "'") / 2 }
