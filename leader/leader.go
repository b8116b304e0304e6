// Package leader elects one process among many to do a job, with a
// Postgres session-level advisory lock: the process whose connection holds
// the lock leads; when it stops, crashes or loses its connection, Postgres
// releases the lock and a standby takes over. Several sync processes can
// run for availability while only one acts at a time.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Elector runs a job only while it holds the named lock.
type Elector struct {
	// Pool is where the lock's connection comes from; the connection is
	// taken out of the pool for as long as it holds the lock.
	Pool *pgxpool.Pool
	// Name names the job; processes with the same name compete.
	Name string
	// Retry is how often a standby tries to take the lock, and how often
	// the leader checks that its connection (and so the lock) is alive
	// (2 s when zero). A new leader waits two of these before acting.
	Retry  time.Duration
	Logger *slog.Logger
}

// Run calls job with a context that ends when leadership is lost, each
// time this process becomes the leader, until ctx ends or job fails. A job
// that returns while still leading ends Run with its error.
func (e *Elector) Run(ctx context.Context, job func(ctx context.Context) error) error {
	retry := e.Retry
	if retry <= 0 {
		retry = 2 * time.Second
	}
	log := e.Logger.With(slog.String("job", e.Name))
	standby := false
	for {
		conn, led, err := e.tryLock(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("leader election: cannot reach the database", slog.Any("error", err))
		case !led:
			if !standby {
				log.Info("another process leads; standing by")
				standby = true
			}
		default:
			standby = false
			// A leader whose session was cut off (not one that stopped)
			// learns it at its next ping: wait that out before acting, so
			// two never act at once.
			select {
			case <-ctx.Done():
				_ = conn.Close(context.WithoutCancel(ctx))
				return nil
			case <-time.After(2 * retry):
			}
			log.Info("leading")
			lost, err := e.lead(ctx, conn, retry, job)
			if ctx.Err() != nil {
				return nil
			}
			if !lost {
				return err
			}
			log.Warn("lost leadership (database connection gone); standing by", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

// tryLock takes a connection out of the pool and tries the lock on it; it
// keeps the connection only when it got the lock.
func (e *Elector) tryLock(ctx context.Context) (*pgx.Conn, bool, error) {
	pc, err := e.Pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("acquire connection: %w", err)
	}
	conn := pc.Hijack()
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, "schetask:leader:"+e.Name).Scan(&ok); err != nil || !ok {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
		if err != nil {
			return nil, false, fmt.Errorf("try advisory lock: %w", err)
		}
		return nil, false, nil
	}
	return conn, true, nil
}

// lead runs job while conn (and so the lock) stays alive. It reports
// whether leadership was lost, as opposed to the job or ctx ending.
func (e *Elector) lead(ctx context.Context, conn *pgx.Conn, check time.Duration, job func(context.Context) error) (lost bool, err error) {
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errLost := errors.New("lock connection lost")
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		t := time.NewTicker(check)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
				pingCtx, stop := context.WithTimeout(jobCtx, check)
				err := conn.Ping(pingCtx)
				stop()
				if err != nil && jobCtx.Err() == nil {
					cancel(fmt.Errorf("%w: %w", errLost, err))
					return
				}
			}
		}
	}()
	err = job(jobCtx)
	cancel(nil)
	<-watchDone
	closeCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	_ = conn.Close(closeCtx) // closing the session releases the lock
	if cause := context.Cause(jobCtx); errors.Is(cause, errLost) {
		return true, cause
	}
	return false, err
}
