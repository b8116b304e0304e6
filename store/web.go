package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUserNotFound is returned for an unknown console user.
var ErrUserNotFound = errors.New("user not found")

// ErrUserExists is returned when creating a user whose name is taken.
var ErrUserExists = errors.New("user already exists")

// ErrLastAdmin is returned for a change that would leave no enabled admin.
var ErrLastAdmin = errors.New("the last enabled admin can be neither disabled nor demoted")

// ErrLocalUser is returned when single sign-on names a user who logs in
// with a password: a name at the identity provider does not take over a
// local account.
var ErrLocalUser = errors.New("a local user with a password has this name")

// User is a console user (t_web_user).
type User struct {
	Username string
	// PasswordHash is the bcrypt hash; "" for single sign-on users.
	PasswordHash string
	Role         string
	Disabled     bool
	// MustChangePassword keeps the user on the change-password page
	// until they choose a password of their own.
	MustChangePassword bool
	// SSO users sign in through single sign-on only.
	SSO bool
	// SessionEpoch rises at each change of the role, the password or
	// Disabled; a session started at another epoch is refused.
	SessionEpoch      int64
	LastLoginAt       *time.Time
	PasswordChangedAt *time.Time
	CreatedAt         time.Time
}

const userColumns = `username, password_hash, role, disabled, must_change_password, sso, session_epoch,
	last_login_at, password_changed_at, created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.Username, &u.PasswordHash, &u.Role, &u.Disabled, &u.MustChangePassword, &u.SSO,
		&u.SessionEpoch, &u.LastLoginAt, &u.PasswordChangedAt, &u.CreatedAt)
	return u, err
}

// GetUser returns a console user, or ErrUserNotFound.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM t_web_user WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("get user %q: %w", username, ErrUserNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get user %q: %w", username, err)
	}
	return u, nil
}

// ListUsers returns every console user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM t_web_user ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// CreateUserIfNone creates u only when there is no user at all, and
// reports whether it did (the first admin, made once).
func (s *Store) CreateUserIfNone(ctx context.Context, u User) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role, password_changed_at)
		SELECT $1, $2, $3, now() WHERE NOT EXISTS (SELECT 1 FROM t_web_user)`, u.Username, u.PasswordHash, u.Role)
	if err != nil {
		return false, fmt.Errorf("create first user: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// CreateUser adds a console user, or returns ErrUserExists.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role, disabled, must_change_password,
		sso, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $2 <> '' THEN now() END)
		ON CONFLICT (username) DO NOTHING`,
		u.Username, u.PasswordHash, u.Role, u.Disabled, u.MustChangePassword, u.SSO)
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create user %q: %w", u.Username, ErrUserExists)
	}
	return nil
}

// UpsertUser creates or replaces a console user. Replacing the password,
// the role or Disabled ends the user's sessions, as ChangeUser does.
func (s *Store) UpsertUser(ctx context.Context, u User) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM t_web_user WHERE username = $1 FOR UPDATE`, u.Username))
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role, disabled, must_change_password,
				sso, password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, now())`,
				u.Username, u.PasswordHash, u.Role, u.Disabled, u.MustChangePassword, u.SSO)
			return err
		}
		if err != nil {
			return err
		}
		endSessions := old.PasswordHash != u.PasswordHash || old.Role != u.Role || old.Disabled != u.Disabled
		epoch := 0
		if endSessions {
			epoch = 1
		}
		if _, err := tx.Exec(ctx, `UPDATE t_web_user SET password_hash = $2, role = $3, disabled = $4,
			must_change_password = $5, sso = $6, updated_at = now(), session_epoch = session_epoch + $7,
			password_changed_at = CASE WHEN password_hash <> $2 THEN now() ELSE password_changed_at END
			WHERE username = $1`, u.Username, u.PasswordHash, u.Role, u.Disabled, u.MustChangePassword, u.SSO, epoch); err != nil {
			return err
		}
		if endSessions {
			_, err = tx.Exec(ctx, `DELETE FROM t_web_session WHERE username = $1`, u.Username)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("save user %q: %w", u.Username, err)
	}
	return nil
}

// ChangeUser applies change to the named user and saves the result, in
// one transaction that holds the user, and every enabled admin, locked:
// a change that would leave no enabled admin fails with ErrLastAdmin, even
// when two admins demote each other at the same moment. A change to the
// password, the role or Disabled raises the user's session epoch and
// deletes their sessions in the same transaction. It returns the user
// before and after.
func (s *Store) ChangeUser(ctx context.Context, username string, change func(*User) error) (before, after User, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The admins first, always in the same order, then the user: two
		// changes never wait for each other crosswise.
		rows, err := tx.Query(ctx, `SELECT username FROM t_web_user WHERE role = 'admin' AND NOT disabled
			ORDER BY username FOR UPDATE`)
		if err != nil {
			return err
		}
		admins, err := collect(rows, func(row pgx.Row) (string, error) {
			var name string
			return name, row.Scan(&name)
		})
		if err != nil {
			return err
		}
		before, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM t_web_user WHERE username = $1 FOR UPDATE`, username))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUserNotFound
		}
		if err != nil {
			return err
		}
		next := before
		if err := change(&next); err != nil {
			return err
		}
		enabledAdmin := func(u User) bool { return u.Role == "admin" && !u.Disabled }
		if enabledAdmin(before) && !enabledAdmin(next) && len(admins) <= 1 {
			return ErrLastAdmin
		}
		endSessions := next.PasswordHash != before.PasswordHash || next.Role != before.Role || next.Disabled != before.Disabled
		epoch := 0
		if endSessions {
			epoch = 1
		}
		after, err = scanUser(tx.QueryRow(ctx, `UPDATE t_web_user SET password_hash = $2, role = $3, disabled = $4,
			must_change_password = $5, updated_at = now(), session_epoch = session_epoch + $6,
			password_changed_at = CASE WHEN password_hash <> $2 THEN now() ELSE password_changed_at END
			WHERE username = $1 RETURNING `+userColumns,
			username, next.PasswordHash, next.Role, next.Disabled, next.MustChangePassword, epoch))
		if err != nil {
			return err
		}
		if endSessions {
			_, err = tx.Exec(ctx, `DELETE FROM t_web_session WHERE username = $1`, username)
		}
		return err
	})
	if err != nil {
		return before, after, fmt.Errorf("change user %q: %w", username, err)
	}
	return before, after, nil
}

// EnsureSSOUser records a user who signed in through single sign-on with
// the role their identity provider gives: created on first sign-in, the
// role brought up to date after. A local user of that name is left alone
// (ErrLocalUser); a disabled one is returned as it is, for the caller to
// refuse.
func (s *Store) EnsureSSOUser(ctx context.Context, username, role string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO t_web_user AS t (username, password_hash, role, sso)
		VALUES ($1, '', $2, true)
		ON CONFLICT (username) DO UPDATE SET role = $2,
			updated_at = CASE WHEN t.role <> $2 THEN now() ELSE t.updated_at END
		WHERE t.sso RETURNING `+userColumns, username, role))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("single sign-on user %q: %w", username, ErrLocalUser)
	}
	if err != nil {
		return u, fmt.Errorf("single sign-on user %q: %w", username, err)
	}
	return u, nil
}

// RecordLogin notes that the user has just logged in.
func (s *Store) RecordLogin(ctx context.Context, username string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_web_user SET last_login_at = now() WHERE username = $1`, username); err != nil {
		return fmt.Errorf("record login of %q: %w", username, err)
	}
	return nil
}

// SetSessionUser names the user of a saved session, so that
// DeleteUserSessions finds it.
func (s *Store) SetSessionUser(ctx context.Context, key, username string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_web_session SET username = $2 WHERE key = $1`, key, username); err != nil {
		return fmt.Errorf("set session user: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user and returns how many.
func (s *Store) DeleteUserSessions(ctx context.Context, username string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_web_session WHERE username = $1`, username)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %q: %w", username, err)
	}
	return tag.RowsAffected(), nil
}

// LoginThrottle is how failed logins are held back for one kind of key
// (a client address, a user name).
type LoginThrottle struct {
	// After this many failures in a row, each further failure blocks the
	// key: for FirstDelay, then twice as long each time, up to MaxDelay.
	After      int
	FirstDelay time.Duration
	MaxDelay   time.Duration
	// Forget is how long a key must stay quiet (no failure, no block)
	// before its count starts again from zero.
	Forget time.Duration
}

// delay is how long failures failures block a key.
func (p LoginThrottle) delay(failures int) time.Duration {
	if failures < p.After {
		return 0
	}
	d := p.FirstDelay
	for i := p.After; i < failures && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// LoginBlocked returns how much longer the most blocked of keys must
// wait before it may try to log in again (0: none is blocked).
func (s *Store) LoginBlocked(ctx context.Context, keys ...string) (time.Duration, error) {
	var ms *float64
	if err := s.pool.QueryRow(ctx, `SELECT extract(epoch FROM max(blocked_until) - now()) * 1000
		FROM t_web_login_failure WHERE key = ANY($1) AND blocked_until > now()`, keys).Scan(&ms); err != nil {
		return 0, fmt.Errorf("login blocked: %w", err)
	}
	if ms == nil {
		return 0, nil
	}
	return time.Duration(*ms * float64(time.Millisecond)), nil
}

// RecordLoginFailure counts a failed login against key and returns how
// long the key is now blocked (0: not yet).
func (s *Store) RecordLoginFailure(ctx context.Context, key string, p LoginThrottle) (time.Duration, error) {
	var failures int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO t_web_login_failure AS f (key, failures, last_at) VALUES ($1, 1, now())
			ON CONFLICT (key) DO UPDATE SET last_at = now(), failures = CASE
				WHEN greatest(f.last_at, f.blocked_until) < now() - $2::interval THEN 1 ELSE f.failures + 1 END
			RETURNING failures`, key, p.Forget).Scan(&failures); err != nil {
			return err
		}
		if d := p.delay(failures); d > 0 {
			_, err := tx.Exec(ctx, `UPDATE t_web_login_failure SET blocked_until = now() + $2::interval WHERE key = $1`, key, d)
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record login failure: %w", err)
	}
	return p.delay(failures), nil
}

// ClearLoginFailures forgets the failures of key (after a good login).
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM t_web_login_failure WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// DeleteStaleLoginFailures removes the failure counts that have been
// quiet for longer than forget and returns how many.
func (s *Store) DeleteStaleLoginFailures(ctx context.Context, forget time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_web_login_failure
		WHERE greatest(last_at, blocked_until) < now() - $1::interval`, forget)
	if err != nil {
		return 0, fmt.Errorf("delete stale login failures: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SessionStore keeps the console's sessions in t_web_session. It has the
// method set of fiber.Storage, which has no context: each call gets a
// bounded one of its own.
type SessionStore struct{ s *Store }

// Sessions returns the session store.
func (s *Store) Sessions() *SessionStore { return &SessionStore{s: s} }

const sessionTimeout = 5 * time.Second

// Get returns a session's data, or nil when it is missing or expired.
func (ss *SessionStore) Get(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	var data []byte
	err := ss.s.pool.QueryRow(ctx, `SELECT data FROM t_web_session
		WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return data, nil
}

// Set stores a session's data for exp (0: no expiry).
func (ss *SessionStore) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	var expires *time.Time
	if exp > 0 {
		t := time.Now().Add(exp)
		expires = &t
	}
	if _, err := ss.s.pool.Exec(ctx, `INSERT INTO t_web_session (key, data, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET data = $2, expires_at = $3`, key, val, expires); err != nil {
		return fmt.Errorf("set session: %w", err)
	}
	return nil
}

// Delete removes a session.
func (ss *SessionStore) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if _, err := ss.s.pool.Exec(ctx, `DELETE FROM t_web_session WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Reset removes every session.
func (ss *SessionStore) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	if _, err := ss.s.pool.Exec(ctx, `DELETE FROM t_web_session`); err != nil {
		return fmt.Errorf("reset sessions: %w", err)
	}
	return nil
}

// Close does nothing: the pool belongs to the Store.
func (ss *SessionStore) Close() error { return nil }

// DeleteExpiredSessions removes expired sessions and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM t_web_session WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AuditEntry is one audited change (t_audit): made through the console
// or the API, or, for task settings, by any path, SQL included.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Username string
	Action   string
	TaskName string
	Before   map[string]any
	After    map[string]any
	// DBRole is the SQL role that made the change, on the entries the
	// database wrote itself (changes of t_task_list); "" on others.
	DBRole string
}

// AddAudit records a change: who, what, on which task, before and after.
func (s *Store) AddAudit(ctx context.Context, username, action, taskName string, before, after any) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO t_audit (username, action, task_name, before, after)
		VALUES ($1, $2, nullif($3, ''), $4, $5)`, username, action, taskName, before, after); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// TaskAudit returns the changes made to a task, newest first.
func (s *Store) TaskAudit(ctx context.Context, taskName string, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, username, action, coalesce(task_name, ''), before, after, coalesce(db_role, '')
		FROM t_audit WHERE task_name = $1 ORDER BY id DESC LIMIT $2`, taskName, limit)
	if err != nil {
		return nil, fmt.Errorf("audit of %q: %w", taskName, err)
	}
	entries, err := collect(rows, func(row pgx.Row) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Username, &e.Action, &e.TaskName, &e.Before, &e.After, &e.DBRole)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit of %q: %w", taskName, err)
	}
	return entries, nil
}

// UserAudit returns the changes made to console users, newest first.
func (s *Store) UserAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, username, action, coalesce(task_name, ''), before, after, coalesce(db_role, '')
		FROM t_audit WHERE action LIKE 'user.%' ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("user audit: %w", err)
	}
	entries, err := collect(rows, func(row pgx.Row) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Username, &e.Action, &e.TaskName, &e.Before, &e.After, &e.DBRole)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("user audit: %w", err)
	}
	return entries, nil
}
