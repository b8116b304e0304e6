package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresOptions configure a private Postgres cluster.
type PostgresOptions struct {
	// Dir is the cluster's data directory; it is created and initialised
	// when empty, and reused as it is otherwise.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Database is created when missing.
	Database string
	// Durable keeps fsync on; tests turn it off for speed.
	Durable bool
	// PasswordFile, when set, protects the cluster with a password: every
	// connection, over TCP or the socket, gives the postgres user's
	// password (scram-sha-256). It is generated into this file (mode 0600)
	// when the cluster is made and read from it on later starts; a cluster
	// an earlier version made with trust is switched to it. Empty leaves
	// the cluster open to every local user (trust): for throwaway test
	// clusters only, since any local user may then connect as superuser.
	PasswordFile string
	// Logger receives progress messages.
	Logger *slog.Logger
}

// Postgres is a running private cluster.
type Postgres struct {
	child
	opts PostgresOptions
	bin  string
	// password is the postgres user's, or empty under trust.
	password string
}

// URL returns the connection string of the cluster's database, with the
// password when the cluster has one: hand it to services, never log it.
func (p *Postgres) URL() string {
	return p.url(p.opts.Database, true)
}

// AdminURL returns the connection string of the cluster's postgres
// database, with the password when the cluster has one.
func (p *Postgres) AdminURL() string {
	return p.url("postgres", true)
}

// URLWithoutPassword returns the connection string of the cluster's
// database without the password, for logs.
func (p *Postgres) URLWithoutPassword() string {
	return p.url(p.opts.Database, false)
}

// PsqlCommand returns a shell command that opens psql on the cluster's
// database, reading the password from its file rather than showing it.
func (p *Postgres) PsqlCommand() string {
	u := strings.TrimSuffix(p.URLWithoutPassword(), "?sslmode=disable")
	if p.password == "" {
		return "psql " + shellQuote(u)
	}
	return "PGPASSWORD=$(cat " + shellQuote(p.opts.PasswordFile) + ") psql " + shellQuote(u)
}

func (p *Postgres) url(database string, withPassword bool) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(p.opts.Port),
		Path: "/" + database, RawQuery: "sslmode=disable"}
	if withPassword && p.password != "" {
		u.User = url.UserPassword("postgres", p.password)
	}
	return u.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// PostgresBinDir finds the Postgres server binaries: $SCHETASK_PG_BIN,
// the newest /usr/lib/postgresql/*/bin (Debian), or initdb on the PATH.
func PostgresBinDir() (string, error) {
	if dir := os.Getenv("SCHETASK_PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("postgres server binaries not found: install Debian's postgresql package (make run does) or set SCHETASK_PG_BIN")
}

// StartPostgres initialises the cluster if needed, starts it and waits
// until the database answers.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Database == "" {
		opts.Database = "schetask"
	}
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	// SIGINT is Postgres's fast shutdown.
	p := &Postgres{opts: opts, bin: bin, child: child{name: "postgres", stopSignal: syscall.SIGINT, wait: 30 * time.Second,
		logFile: filepath.Join(filepath.Dir(opts.Dir), filepath.Base(opts.Dir)+".log")}}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create postgres dir: %w", err)
	}
	if cred != nil {
		if err := os.Chown(opts.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown postgres dir: %w", err)
		}
	}
	_, err = os.Stat(filepath.Join(opts.Dir, "PG_VERSION"))
	exists := err == nil
	switchToPassword, err := p.preparePassword(exists)
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := p.initdb(cred); err != nil {
			return nil, err
		}
	}
	// A cluster left running by a process that died is stopped first.
	if _, err := os.Stat(filepath.Join(opts.Dir, "postmaster.pid")); err == nil {
		if p.command(cred, "pg_ctl", "status", "-D", opts.Dir).Run() == nil {
			opts.Logger.Warn("stopping a postgres left running from before", slog.String("dir", opts.Dir))
			_ = p.command(cred, "pg_ctl", "stop", "-D", opts.Dir, "-m", "fast", "-w").Run()
		}
	}
	args := []string{"-D", opts.Dir, "-p", strconv.Itoa(opts.Port), "-k", opts.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	p.launch = func(ctx context.Context) error { return p.run(ctx, cred, args) }
	if err := p.launch(ctx); err != nil {
		return nil, err
	}
	if switchToPassword {
		if err := p.switchToPassword(ctx); err != nil {
			_ = p.Stop()
			return nil, err
		}
		opts.Logger.Warn("postgres trusted every local user (a cluster made by an earlier schetask dev); it now asks for a password, kept in "+opts.PasswordFile,
			slog.String("dir", opts.Dir))
	}
	opts.Logger.Info("postgres ready", slog.String("url", p.URLWithoutPassword()))
	return p, nil
}

// run starts the server with args and waits until its database answers;
// in the same folder, on the same port and with the same password each
// time, so a restart keeps the data.
func (p *Postgres) run(ctx context.Context, cred *syscall.Credential, args []string) error {
	logFile, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open postgres log: %w", err)
	}
	cmd := p.command(cred, "postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := p.start(cmd, func() { logFile.Close() }); err != nil {
		logFile.Close()
		return err
	}
	if err := p.waitReady(ctx, 60*time.Second, 100*time.Millisecond, p.ready); err != nil {
		_ = p.halt()
		return fmt.Errorf("postgres did not start (see %s): %w", p.logFile, err)
	}
	return nil
}

// preparePassword sets p.password from the password file, creating the
// file for a new cluster, and reports whether the existing cluster still
// trusts and must be switched to the password once it runs.
func (p *Postgres) preparePassword(exists bool) (switchToPassword bool, err error) {
	file := p.opts.PasswordFile
	if file == "" {
		return false, nil
	}
	trusts := false
	if exists {
		if trusts, err = hbaTrusts(p.opts.Dir); err != nil {
			return false, err
		}
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if exists && !trusts {
			return false, fmt.Errorf("postgres password: %s is missing, and the cluster in %s asks for it: restore the file, or remove the cluster to start over", file, p.opts.Dir)
		}
		p.password, err = createPassword(file)
		return trusts, err
	}
	p.password, err = readPassword(file)
	return trusts, err
}

// initdb makes the cluster: with the password when there is one, trusting
// every local user otherwise.
func (p *Postgres) initdb(cred *syscall.Credential) error {
	p.opts.Logger.Info("initialising postgres cluster", slog.String("dir", p.opts.Dir))
	args := []string{"-D", p.opts.Dir, "-U", "postgres", "-E", "UTF8", "--locale=C"}
	if p.password == "" {
		args = append(args, "--auth=trust")
	} else {
		pwfile, remove, err := writePasswordFile(p.password, cred)
		if err != nil {
			return err
		}
		defer remove()
		args = append(args, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--pwfile="+pwfile)
	}
	if !p.opts.Durable {
		args = append(args, "--no-sync")
	}
	if out, err := p.command(cred, "initdb", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	return nil
}

func (p *Postgres) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// ready succeeds once the database answers; a refused password ends the
// wait, since waiting cannot mend it.
func (p *Postgres) ready(ctx context.Context) error {
	err := p.ensureDatabase(ctx)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" {
		return noRetry{fmt.Errorf("the cluster refuses the password in %s: %w", p.opts.PasswordFile, err)}
	}
	return err
}

// ensureDatabase connects and creates the database when missing.
func (p *Postgres) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.AdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, p.opts.Database).Scan(&exists); err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{p.opts.Database}.Sanitize()); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}

// postgresCredential returns the credential to run Postgres under: none
// for an ordinary user, the postgres user for root, since initdb and the
// server refuse to run as root.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, postgres must run as the postgres user, which is missing (install Debian's postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// PrivateDataDir makes the dev stack's data folder private: its owner
// only, and, as root, the postgres user's group, which must pass through
// it to the cluster. Tasks (another user) can neither list nor read it.
func PrivateDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	cred, err := postgresCredential()
	if err != nil {
		return err
	}
	mode := os.FileMode(0o700)
	if cred != nil {
		if err := os.Chown(dir, 0, int(cred.Gid)); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		mode = 0o710
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// CheckReachable reports a clear error when dir cannot be reached by the
// postgres user (a checkout under /root, say).
func CheckReachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	cred, _ := postgresCredential()
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && cred != nil && st.Gid == cred.Gid && fi.Mode().Perm()&0o010 != 0 {
			continue
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("postgres runs as the postgres user, which cannot enter %s (mode %s): move the checkout, set SCHETASK_DATA_DIR to a reachable folder, or chmod o+x %s", d, fi.Mode().Perm(), d)
		}
	}
	return nil
}
