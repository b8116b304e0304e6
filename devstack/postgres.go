package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
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
	// Logger receives progress messages.
	Logger *slog.Logger
}

// Postgres is a running private cluster.
type Postgres struct {
	child
	opts PostgresOptions
	bin  string
}

// URL returns the connection string of the cluster's database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.opts.Port, p.opts.Database)
}

// AdminURL returns the connection string of the cluster's postgres database.
func (p *Postgres) AdminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.opts.Port)
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
	p := &Postgres{opts: opts, bin: bin, child: child{name: "postgres", stopSignal: syscall.SIGINT, wait: 30 * time.Second}}
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
	if _, err := os.Stat(filepath.Join(opts.Dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		opts.Logger.Info("initialising postgres cluster", slog.String("dir", opts.Dir))
		args := []string{"-D", opts.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
		if !opts.Durable {
			args = append(args, "--no-sync")
		}
		if out, err := p.command(cred, "initdb", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	// A cluster left running by a process that died is stopped first.
	if _, err := os.Stat(filepath.Join(opts.Dir, "postmaster.pid")); err == nil {
		if p.command(cred, "pg_ctl", "status", "-D", opts.Dir).Run() == nil {
			opts.Logger.Warn("stopping a postgres left running from before", slog.String("dir", opts.Dir))
			_ = p.command(cred, "pg_ctl", "stop", "-D", opts.Dir, "-m", "fast", "-w").Run()
		}
	}
	logFile, err := os.OpenFile(filepath.Join(filepath.Dir(opts.Dir), filepath.Base(opts.Dir)+".log"),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open postgres log: %w", err)
	}
	args := []string{"-D", opts.Dir, "-p", strconv.Itoa(opts.Port), "-k", opts.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	p.cmd = p.command(cred, "postgres", args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.start(func() { logFile.Close() }); err != nil {
		logFile.Close()
		return nil, err
	}
	if err := p.waitReady(ctx, 60*time.Second, 100*time.Millisecond, p.ensureDatabase); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("postgres did not start (see %s): %w", logFile.Name(), err)
	}
	opts.Logger.Info("postgres ready", slog.String("url", p.URL()))
	return p, nil
}

func (p *Postgres) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
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
