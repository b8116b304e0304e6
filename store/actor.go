package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Actor says who changes a task's settings and what the change is, for
// the audit the database writes of every change of t_task_list (migration
// 013's t_task_list_audit). A change made without one, such as SQL typed
// by hand, is recorded with its SQL role and statement.
type Actor struct {
	// Name is who: a console user ("alice"), or for the API the token's
	// user and name ("alice (token deploy)").
	Name string
	// Action is what: create, edit, delete, pause, resume, apply.
	Action string
}

type actorKey struct{}

// WithActor returns ctx carrying a, which the task writes made with it
// hand to the audit trigger.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf returns the actor ctx carries, if any.
func ActorOf(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// taskTx runs fn in a transaction that has first told the audit trigger
// who acts and what they do, when ctx says.
func (s *Store) taskTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := SetActor(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

// SetActor tells the audit trigger, for the rest of tx, the actor ctx
// carries; without one it does nothing.
func SetActor(ctx context.Context, tx pgx.Tx) error {
	a, ok := ActorOf(ctx)
	if !ok {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('schetask.actor', $1, true), set_config('schetask.action', $2, true)`,
		a.Name, a.Action); err != nil {
		return fmt.Errorf("say who acts: %w", err)
	}
	return nil
}
