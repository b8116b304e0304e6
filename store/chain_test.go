package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
)

// The database refuses a chain that would loop (migration 014's
// t_task_list_chain_cycle), naming the cycle, whoever edits the table.
func TestChainCyclesAreRefusedNamingThem(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pool := env.Store.Pool()
	for _, name := range []string{"a", "b", "c", "cleanup"} {
		testenv.Task(ctx, t, pool, &testenv.TaskOpts{Name: name, Rule: "0 * * * *"})
	}
	exec := func(q string) error {
		_, err := pool.Exec(ctx, q)
		return err
	}
	for _, q := range []string{
		`UPDATE t_task_list SET after = '{a}' WHERE task_name = 'b'`,
		`UPDATE t_task_list SET after = '{b}' WHERE task_name = 'c'`,
		`UPDATE t_task_list SET on_failure = '{cleanup}' WHERE task_name = 'c'`,
		`UPDATE t_task_list SET after = '{a,b}', rule = '' WHERE task_name = 'c'`, // a diamond is no cycle
	} {
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tt := range []struct{ q, want string }{
		{`UPDATE t_task_list SET after = '{c}' WHERE task_name = 'a'`, "chain cycle: a → c → a"},
		{`UPDATE t_task_list SET after = '{b}' WHERE task_name = 'a'`, "chain cycle: a → b → a"},
		{`UPDATE t_task_list SET on_failure = '{a}' WHERE task_name = 'cleanup'`, "chain cycle: cleanup → a → "},
		{`UPDATE t_task_list SET after = '{a}' WHERE task_name = 'a'`, "task a cannot run after or on failure of itself"},
		{`INSERT INTO t_task_list (task_name, rule, after) VALUES ('d', '', '{d}')`, "itself"},
		{`INSERT INTO t_task_list (task_name, rule) VALUES ('e', '')`, "rule_or_after"},
	} {
		err := exec(tt.q)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a refusal saying %q", tt.q, err, tt.want)
		}
	}
}
