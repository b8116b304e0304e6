package migrations_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every migration's drop half undoes its create half: the schema goes down
// to nothing and up again to the newest, on a database the tests filled
// with a task. A broken drop half fails here, not on a rollback in
// production.
func TestEveryMigrationGoesDownAndUpAgain(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	testenv.Task(ctx, t, env.Store.Pool(), &testenv.TaskOpts{})
	conn, err := pgx.Connect(ctx, env.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, "schetask_schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	newest := int32(len(m.Migrations))
	for v := newest - 1; v >= 0; v-- {
		if err := m.MigrateTo(ctx, v); err != nil {
			t.Fatalf("down to %d: %v", v, err)
		}
	}
	if err := migrations.Migrate(ctx, conn); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got, err := m.GetCurrentVersion(ctx); err != nil || got != newest {
		t.Errorf("version %d after going up again, want %d (%v)", got, newest, err)
	}
}
