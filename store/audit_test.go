package store_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/schetask/schetask/devstack"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The database audits every change of a task's settings, whoever makes it
// (migration 013's t_task_list_audit): SQL typed by hand is recorded with
// its role and statement, schetask's own writes with the actor they name;
// run bookkeeping is not a change, and the webhook secret is never copied.
func TestTaskSettingsAreAuditedByTheDatabase(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	name := testenv.Task(ctx, t, pool, &testenv.TaskOpts{Rule: "0 * * * *"})
	var role string
	if err := pool.QueryRow(ctx, `SELECT session_user::text`).Scan(&role); err != nil {
		t.Fatal(err)
	}

	newest := func(t *testing.T) store.AuditEntry {
		t.Helper()
		entries, err := env.Store.TaskAudit(ctx, name, 1)
		if err != nil || len(entries) == 0 {
			t.Fatalf("no audit of %s: %v", name, err)
		}
		return entries[0]
	}
	count := func(t *testing.T) int {
		t.Helper()
		entries, err := env.Store.TaskAudit(ctx, name, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}

	t.Run("psql", func(t *testing.T) {
		// As a person would: psql, its own connection, no schetask code.
		bin, err := devstack.PostgresBinDir()
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(filepath.Join(bin, "psql"), "-v", "ON_ERROR_STOP=1", "-X", "-q", env.Config.DatabaseURL, "-c",
			"UPDATE t_task_list SET rule = '30 * * * *' WHERE task_name = '"+name+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("psql: %v: %s", err, out)
		}
		e := newest(t)
		if e.Username != role || e.DBRole != role || e.Action != "sql.update" {
			t.Errorf("by %q (role %q) doing %q, want %q doing sql.update", e.Username, e.DBRole, e.Action, role)
		}
		if e.Before["rule"] != "0 * * * *" || e.After["rule"] != "30 * * * *" {
			t.Errorf("rule %v → %v, want 0 * * * * → 30 * * * *", e.Before["rule"], e.After["rule"])
		}
		for _, m := range []map[string]any{e.Before, e.After} {
			for _, k := range []string{"webhook_secret", "last_start_time", "updated_at"} {
				if _, ok := m[k]; ok {
					t.Errorf("the audit copies %s", k)
				}
			}
		}
	})

	t.Run("bookkeeping is no change", func(t *testing.T) {
		n := count(t)
		if _, err := pool.Exec(ctx, `UPDATE t_task_list SET last_start_time = now(), task_version = 'v9' WHERE task_name = $1`, name); err != nil {
			t.Fatal(err)
		}
		if got := count(t); got != n {
			t.Errorf("%d audit entries after a bookkeeping update, want %d", got, n)
		}
	})

	t.Run("actor", func(t *testing.T) {
		actx := store.WithActor(ctx, store.Actor{Name: "alice (token deploy)", Action: "pause"})
		if err := env.Store.SetTaskStatusNote(actx, name, tasktype.StatusOff, "maintenance"); err != nil {
			t.Fatal(err)
		}
		e := newest(t)
		if e.Username != "alice (token deploy)" || e.Action != "pause" || e.DBRole != role {
			t.Errorf("by %q doing %q (role %q), want alice (token deploy) doing pause", e.Username, e.Action, e.DBRole)
		}
		if e.After["status_note"] != "maintenance" {
			t.Errorf("after %v", e.After)
		}
		// The setting is the transaction's own: the next plain SQL change
		// on the same pool is the role's again.
		if _, err := pool.Exec(ctx, `UPDATE t_task_list SET description = 'x' WHERE task_name = $1`, name); err != nil {
			t.Fatal(err)
		}
		if e := newest(t); e.Username != role {
			t.Errorf("plain SQL after an actor's change recorded as %q", e.Username)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := env.Store.DeleteTask(store.WithActor(ctx, store.Actor{Name: "bob", Action: "delete"}), name); err != nil {
			t.Fatal(err)
		}
		e := newest(t)
		if e.Username != "bob" || e.Action != "delete" || e.After != nil || e.Before["task_name"] != name {
			t.Errorf("delete audited as %+v", e)
		}
	})
}
