package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A cluster with a password file lets nobody in without the password:
// not over TCP, not over its socket; the password is made once, kept
// private and reused, and never logged.
func TestPostgresWithAPasswordRefusesConnectionsWithoutIt(t *testing.T) {
	t.Parallel()
	opts, log := passwordCluster(t)
	pg := startPostgres(t, opts)
	password := readFile(t, opts.PasswordFile)
	if fi, err := os.Stat(opts.PasswordFile); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: mode %v, want 0600", fi.Mode())
	}
	requireConnects(t, pg.URL())
	for desc, connString := range map[string]string{
		"no password over TCP":      pg.URLWithoutPassword(),
		"a wrong password over TCP": strings.Replace(pg.URL(), password, "not-"+password, 1),
		"no password over the socket": fmt.Sprintf("postgres:///postgres?host=%s&port=%d&user=postgres",
			opts.Dir, opts.Port),
	} {
		requireRefused(t, desc, connString)
	}
	if !strings.Contains(pg.PsqlCommand(), "$(cat '"+opts.PasswordFile+"')") || strings.Contains(pg.PsqlCommand(), password) {
		t.Errorf("PsqlCommand() = %q, want it to read the password from the file", pg.PsqlCommand())
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}

	pg = startPostgres(t, opts)
	if again := readFile(t, opts.PasswordFile); again != password {
		t.Errorf("the second start changed the password")
	}
	requireConnects(t, pg.URL())
	if strings.Contains(log.String(), password) {
		t.Errorf("the log shows the password:\n%s", log)
	}
}

// A cluster an earlier version made with trust is switched to the
// password on its next start, saying so once.
func TestPostgresSwitchesATrustingClusterToAPassword(t *testing.T) {
	t.Parallel()
	opts, log := passwordCluster(t)
	trusting := opts
	trusting.PasswordFile = ""
	pg := startPostgres(t, trusting)
	requireConnects(t, pg.URLWithoutPassword())
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}

	pg = startPostgres(t, opts)
	password := readFile(t, opts.PasswordFile)
	requireConnects(t, pg.URL())
	requireRefused(t, "no password after the switch", pg.URLWithoutPassword())
	if hba := readFile(t, filepath.Join(opts.Dir, "pg_hba.conf")); strings.Contains(hba, "trust") {
		t.Errorf("pg_hba.conf still trusts:\n%s", hba)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	pg = startPostgres(t, opts)
	requireConnects(t, pg.URL())
	if n := strings.Count(log.String(), "now asks for a password"); n != 1 {
		t.Errorf("the switch was logged %d times, want once:\n%s", n, log)
	}
	if strings.Contains(log.String(), password) {
		t.Errorf("the log shows the password:\n%s", log)
	}
}

// A cluster with a password whose file is gone is not started with a new
// password it does not know; one whose file holds another password says
// so at once rather than after the start timeout.
func TestPostgresWithoutItsPasswordSaysSo(t *testing.T) {
	t.Parallel()
	opts, _ := passwordCluster(t)
	pg := startPostgres(t, opts)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(opts.PasswordFile); err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(context.Background(), opts)
	if err == nil {
		pg.Stop()
		t.Fatal("started without the password file")
	}
	if !strings.Contains(err.Error(), opts.PasswordFile+" is missing") {
		t.Errorf("error = %v, want it to name the missing file", err)
	}
	if _, err := os.Stat(opts.PasswordFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new password file was made: %v", err)
	}

	if err := os.WriteFile(opts.PasswordFile, []byte("another-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if pg, err = StartPostgres(context.Background(), opts); err == nil {
		pg.Stop()
		t.Fatal("started with another password")
	}
	if !strings.Contains(err.Error(), "refuses the password in "+opts.PasswordFile) {
		t.Errorf("error = %v, want it to say the file's password is refused", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the refused password took %s to report", took)
	}
}

// passwordCluster returns the options of a cluster with a password, laid
// out as `schetask dev` lays it out, and the log StartPostgres writes.
func passwordCluster(t *testing.T) (PostgresOptions, *lockedBuffer) {
	t.Helper()
	// Not t.TempDir(): its parent is private to us, and Postgres runs as
	// the postgres user when we are root.
	parent, err := os.MkdirTemp("", "schetask-devstack-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(parent, "data")
	if err := PrivateDataDir(data); err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	return PostgresOptions{
		Dir: filepath.Join(data, "postgres"), Port: freePort(t), Database: "schetask",
		PasswordFile: filepath.Join(data, "postgres-password"),
		Logger:       slog.New(slog.NewTextHandler(log, nil)),
	}, log
}

func startPostgres(t *testing.T, opts PostgresOptions) *Postgres {
	t.Helper()
	pg, err := StartPostgres(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	return pg
}

func requireConnects(t *testing.T, connString string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	conn.Close(context.Background())
}

// requireRefused checks that the server turns the connection away for
// its password (28P01), not for another reason.
func requireRefused(t *testing.T, desc, connString string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connString)
	if err == nil {
		conn.Close(context.Background())
		t.Errorf("%s: connected", desc)
		return
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("%s: %v, want password authentication failed (28P01)", desc, err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
