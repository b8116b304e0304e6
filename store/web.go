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

// User is a console user (t_web_user).
type User struct {
	Username     string
	PasswordHash string
	Role         string
	Disabled     bool
	CreatedAt    time.Time
}

// GetUser returns a console user, or ErrUserNotFound.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	var u User
	err := s.pool.QueryRow(ctx, `SELECT username, password_hash, role, disabled, created_at
		FROM t_web_user WHERE username = $1`, username).
		Scan(&u.Username, &u.PasswordHash, &u.Role, &u.Disabled, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("get user %q: %w", username, ErrUserNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get user %q: %w", username, err)
	}
	return u, nil
}

// CreateUserIfNone creates u only when there is no user at all, and
// reports whether it did (the first admin, made once).
func (s *Store) CreateUserIfNone(ctx context.Context, u User) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role)
		SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM t_web_user)`, u.Username, u.PasswordHash, u.Role)
	if err != nil {
		return false, fmt.Errorf("create first user: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// UpsertUser creates or replaces a console user.
func (s *Store) UpsertUser(ctx context.Context, u User) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role, disabled)
		VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET password_hash = $2, role = $3,
		disabled = $4, updated_at = now()`, u.Username, u.PasswordHash, u.Role, u.Disabled); err != nil {
		return fmt.Errorf("save user %q: %w", u.Username, err)
	}
	return nil
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

// AuditEntry is one change made through the console (t_audit).
type AuditEntry struct {
	ID       int64
	At       time.Time
	Username string
	Action   string
	TaskName string
	Before   map[string]any
	After    map[string]any
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
	rows, err := s.pool.Query(ctx, `SELECT id, at, username, action, coalesce(task_name, ''), before, after
		FROM t_audit WHERE task_name = $1 ORDER BY id DESC LIMIT $2`, taskName, limit)
	if err != nil {
		return nil, fmt.Errorf("audit of %q: %w", taskName, err)
	}
	entries, err := collect(rows, func(row pgx.Row) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Username, &e.Action, &e.TaskName, &e.Before, &e.After)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit of %q: %w", taskName, err)
	}
	return entries, nil
}
