package devstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// passwordHBA is the pg_hba.conf of a cluster with a password: every
// connection, over the socket or TCP, gives the postgres user's password.
const passwordHBA = `# schetask dev stack: every connection gives the postgres user's password
# (scram-sha-256). schetask dev keeps it in .data/postgres-password.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
`

// readPassword reads the cluster's password from file; a file others may
// read is made private again.
func readPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	password := strings.TrimSpace(string(b))
	if password == "" {
		return "", fmt.Errorf("postgres password: %s is empty", file)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	return password, nil
}

// createPassword generates a password and writes it to file (mode 0600),
// which must not exist yet.
func createPassword(file string) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	// URL-safe, so that it goes into a connection URL as it is.
	password := base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	if _, err := f.WriteString(password + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("postgres password: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	return password, nil
}

// writePasswordFile writes password to a temporary file the cluster's
// user can read, for initdb's --pwfile; remove deletes it.
func writePasswordFile(password string, cred *syscall.Credential) (name string, remove func(), err error) {
	f, err := os.CreateTemp("", "schetask-pg-pwfile-")
	if err != nil {
		return "", nil, fmt.Errorf("initdb password file: %w", err)
	}
	remove = func() { os.Remove(f.Name()) }
	_, err = f.WriteString(password + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && cred != nil {
		err = os.Chown(f.Name(), int(cred.Uid), int(cred.Gid))
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("initdb password file: %w", err)
	}
	return f.Name(), remove, nil
}

// hbaTrusts reports whether the cluster's pg_hba.conf lets any connection
// in without a password (a cluster made by an earlier schetask dev).
func hbaTrusts(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "pg_hba.conf"))
	if err != nil {
		return false, fmt.Errorf("read pg_hba.conf: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, field := range strings.Fields(line) {
			if field == "trust" {
				return true, nil
			}
		}
	}
	return false, sc.Err()
}

// scramVerifier is what Postgres stores for password under scram-sha-256
// (RFC 5802/7677, in Postgres's format). Setting the verifier rather than
// the password keeps the password out of the server's log, whatever it
// logs of the statement.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(msg string) []byte {
		h := hmac.New(sha256.New, salted)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	storedKey := sha256.Sum256(mac("Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(mac("Server Key"))), nil
}

// switchToPassword gives the postgres user the cluster's password and
// replaces a pg_hba.conf that trusts with one that asks for it, then
// waits until the server refuses a connection without it. The server
// still trusts while this runs, so the connection needs no password.
func (p *Postgres) switchToPassword(ctx context.Context) error {
	verifier, err := scramVerifier(p.password)
	if err != nil {
		return fmt.Errorf("switch postgres to a password: %w", err)
	}
	conn, err := pgx.Connect(ctx, p.AdminURL())
	if err != nil {
		return fmt.Errorf("switch postgres to a password: %w", err)
	}
	defer conn.Close(ctx)
	// ALTER ROLE takes no parameters; the verifier holds no quote.
	if _, err := conn.Exec(ctx, `ALTER ROLE postgres PASSWORD '`+verifier+`'`); err != nil {
		return fmt.Errorf("switch postgres to a password: set the password: %w", err)
	}
	// WriteFile keeps the file's owner (the cluster's user) and mode.
	if err := os.WriteFile(filepath.Join(p.opts.Dir, "pg_hba.conf"), []byte(passwordHBA), 0o600); err != nil {
		return fmt.Errorf("switch postgres to a password: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		return fmt.Errorf("switch postgres to a password: reload: %w", err)
	}
	return p.waitReady(ctx, 10*time.Second, 50*time.Millisecond, p.refusesWithoutPassword)
}

// refusesWithoutPassword succeeds when a connection without the password
// is turned away for it.
func (p *Postgres) refusesWithoutPassword(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.URLWithoutPassword())
	if err == nil {
		conn.Close(ctx)
		return errors.New("postgres still lets connections in without a password")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" {
		return nil
	}
	return err
}
