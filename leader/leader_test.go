package leader_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/leader"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestOneLeaderAtATimeAndFailover runs three electors on one name: exactly
// one leads at any moment; when the leader stops, or its database session
// is killed, another takes over within seconds.
func TestOneLeaderAtATimeAndFailover(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	var leading, maxLeading atomic.Int32
	var mu sync.Mutex
	current := ""
	var pids sync.Map
	type process struct {
		cancel context.CancelFunc
		done   chan error
	}
	procs := map[string]*process{}
	for _, name := range []string{"a", "b", "c"} {
		ctx, cancel := context.WithCancel(context.Background())
		p := &process{cancel: cancel, done: make(chan error, 1)}
		procs[name] = p
		e := &leader.Elector{Pool: env.Store.Pool(), Name: "sync", Retry: 100 * time.Millisecond, Logger: env.Logger}
		go func() {
			p.done <- e.Run(ctx, func(ctx context.Context) error {
				n := leading.Add(1)
				for {
					m := maxLeading.Load()
					if n <= m || maxLeading.CompareAndSwap(m, n) {
						break
					}
				}
				mu.Lock()
				current = name
				mu.Unlock()
				var pid int32
				_ = env.Store.Pool().QueryRow(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid)
				pids.Store(name, pid)
				<-ctx.Done()
				leading.Add(-1)
				mu.Lock()
				if current == name {
					current = ""
				}
				mu.Unlock()
				return nil
			})
		}()
	}
	leaderName := func() string {
		mu.Lock()
		defer mu.Unlock()
		return current
	}
	var first string
	testenv.Eventually(t, 5*time.Second, func() string {
		if first = leaderName(); first == "" {
			return "no leader"
		}
		return ""
	})

	// The leader stops: another takes over.
	procs[first].cancel()
	if err := <-procs[first].done; err != nil {
		t.Errorf("stopped leader: %v", err)
	}
	var second string
	testenv.Eventually(t, 5*time.Second, func() string {
		if second = leaderName(); second == "" || second == first {
			return fmt.Sprintf("leader %q after %q stopped", second, first)
		}
		return ""
	})

	// The leader's database session dies: it steps down and someone leads again.
	pid, _ := pids.Load(second)
	if _, err := env.Store.Pool().Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() string {
		l := leaderName()
		p, _ := pids.Load(l)
		if l == "" || p == pid {
			return fmt.Sprintf("leader %q (session %v) after killing session %v", l, p, pid)
		}
		return ""
	})
	for name, p := range procs {
		if name != first {
			p.cancel()
			if err := <-p.done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if m := maxLeading.Load(); m != 1 {
		t.Errorf("%d processes led at once, want 1", m)
	}
}
