// Package store is schetask's only door to Postgres: every query on
// t_task_list, t_task_exec_list and t_task_sync lives here.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/schetask/schetask/migrations"
)

// ErrTaskNotFound is returned when no row of t_task_list has the name.
var ErrTaskNotFound = errors.New("task not found")

// ErrTaskExists is returned when creating a task whose name is taken.
var ErrTaskExists = errors.New("task already exists")

// ErrTaskChanged is returned when a task was changed by someone else
// between reading it and writing it back.
var ErrTaskChanged = errors.New("task was changed by someone else")

// ErrRunNotFound is returned when no row of t_task_exec_list has the id.
var ErrRunNotFound = errors.New("run not found")

// Store runs schetask's queries on a connection pool.
type Store struct {
	pool *pgxpool.Pool
}

// New wraps a pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Pool returns the underlying pool, for tests and migrations.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Migrate applies the schema migrations.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	return migrations.Migrate(ctx, conn.Conn())
}

// WaitForTaskChanges listens for changes to t_task_list and calls fn with
// each changed task name until ctx ends or the connection fails. The
// caller should do a full reconcile after it returns, since notifications
// sent while nobody listened are lost.
func (s *Store) WaitForTaskChanges(ctx context.Context, ready func(), fn func(name string)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listen connection: %w", err)
	}
	defer func() {
		// A connection that was listening must not go back to the pool.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN t_task_list_changed"); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		fn(n.Payload)
	}
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
