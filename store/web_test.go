package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

// user is a factory: a local console user with what the test states.
func user(name, role string) store.User {
	return store.User{Username: name, PasswordHash: "$2a$10$" + name, Role: role}
}

// session stores a session of name, as a login does, and returns its key.
func session(t *testing.T, st *store.Store, name string) string {
	t.Helper()
	key := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	if err := st.Sessions().Set(key, []byte("data"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSessionUser(context.Background(), key, name); err != nil {
		t.Fatal(err)
	}
	return key
}

func sessionsOf(t *testing.T, st *store.Store, name string) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM t_web_session WHERE username = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChangeUserEndsSessionsAndKeepsAnAdmin: a change to the role, the
// password or disabled raises the epoch and deletes the user's sessions
// (and no one else's); other changes keep them; the last enabled admin
// is neither demoted nor disabled, even by two admins demoting each other
// at once; deleting a user deletes their sessions.
func TestChangeUserEndsSessionsAndKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	st := env.Store
	for _, u := range []store.User{user("ada", "admin"), user("olga", "operator")} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, user("olga", "viewer")); !errors.Is(err, store.ErrUserExists) {
		t.Errorf("second olga: %v, want ErrUserExists", err)
	}

	for _, tt := range []struct {
		desc      string
		change    func(*store.User)
		wantEnded bool
	}{
		{"must change password only", func(u *store.User) { u.MustChangePassword = true }, false},
		{"role", func(u *store.User) { u.Role = "viewer" }, true},
		{"password", func(u *store.User) { u.PasswordHash = "$2a$10$other" }, true},
		{"disabled", func(u *store.User) { u.Disabled = true }, true},
		{"enabled again", func(u *store.User) { u.Disabled = false }, true},
	} {
		session(t, st, "olga")
		session(t, st, "ada")
		before, after, err := st.ChangeUser(ctx, "olga", func(u *store.User) error { tt.change(u); return nil })
		if err != nil {
			t.Fatalf("%s: %v", tt.desc, err)
		}
		if ended := after.SessionEpoch == before.SessionEpoch+1 && sessionsOf(t, st, "olga") == 0; ended != tt.wantEnded {
			t.Errorf("%s: epoch %d → %d, %d sessions left; want sessions ended %v", tt.desc,
				before.SessionEpoch, after.SessionEpoch, sessionsOf(t, st, "olga"), tt.wantEnded)
		}
		if sessionsOf(t, st, "ada") == 0 {
			t.Errorf("%s: ada's sessions were ended by a change to olga", tt.desc)
		}
		if _, err := st.DeleteUserSessions(ctx, "olga"); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := st.GetUser(ctx, "olga"); u.PasswordChangedAt == nil {
		t.Error("password_changed_at not set by the password change")
	}
	if _, _, err := st.ChangeUser(ctx, "ghost", func(*store.User) error { return nil }); !errors.Is(err, store.ErrUserNotFound) {
		t.Errorf("change of a missing user: %v, want ErrUserNotFound", err)
	}

	for _, change := range []func(*store.User){func(u *store.User) { u.Role = "operator" }, func(u *store.User) { u.Disabled = true }} {
		if _, _, err := st.ChangeUser(ctx, "ada", func(u *store.User) error { change(u); return nil }); !errors.Is(err, store.ErrLastAdmin) {
			t.Errorf("change of the last admin: %v, want ErrLastAdmin", err)
		}
	}
	if u, _ := st.GetUser(ctx, "ada"); u.Role != "admin" || u.Disabled {
		t.Fatalf("the last admin was changed: %+v", u)
	}

	// Two admins demote each other at the same moment: one must lose. Ada's
	// change holds its transaction open until bob's has either got as far
	// (the bug) or is seen waiting for a lock.
	if err := st.CreateUser(ctx, user("bob", "admin")); err != nil {
		t.Fatal(err)
	}
	adaInside, bobInside := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		_, _, errs[0] = st.ChangeUser(ctx, "ada", func(u *store.User) error {
			close(adaInside)
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				select {
				case <-bobInside:
				default:
					var waiting int
					if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
						WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil || waiting == 0 {
						time.Sleep(10 * time.Millisecond)
						continue
					}
				}
				break
			}
			u.Role = "viewer"
			return nil
		})
	})
	wg.Go(func() {
		<-adaInside
		_, _, errs[1] = st.ChangeUser(ctx, "bob", func(u *store.User) error {
			close(bobInside)
			u.Role = "viewer"
			return nil
		})
	})
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], store.ErrLastAdmin) {
		t.Errorf("ada and bob demoted each other: %v; want ada's to pass and bob's to fail with ErrLastAdmin", errs)
	}

	session(t, st, "olga")
	if _, err := st.Pool().Exec(ctx, `DELETE FROM t_web_user WHERE username = 'olga'`); err != nil {
		t.Fatal(err)
	}
	if n := sessionsOf(t, st, "olga"); n != 0 {
		t.Errorf("%d sessions outlived their user", n)
	}
}

// TestUpsertUserEndsSessionsOnChange: replacing a user's password ends
// their sessions; saving the same user again does not.
func TestUpsertUserEndsSessionsOnChange(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	u := user("olga", "operator")
	if err := env.Store.UpsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	session(t, env.Store, "olga")
	if err := env.Store.UpsertUser(ctx, u); err != nil || sessionsOf(t, env.Store, "olga") != 1 {
		t.Errorf("same user saved again: %v, %d sessions; want 1 kept", err, sessionsOf(t, env.Store, "olga"))
	}
	u.PasswordHash = "$2a$10$new"
	if err := env.Store.UpsertUser(ctx, u); err != nil || sessionsOf(t, env.Store, "olga") != 0 {
		t.Errorf("new password: %v, %d sessions; want none", err, sessionsOf(t, env.Store, "olga"))
	}
}

// TestEnsureSSOUser: a single sign-on user is made at first sign-in and
// takes the provider's role after; a local user's name is not taken.
func TestEnsureSSOUser(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	u, err := env.Store.EnsureSSOUser(ctx, "sam@example.com", "viewer")
	if err != nil || !u.SSO || u.Role != "viewer" || u.PasswordHash != "" {
		t.Fatalf("first sign-in: %+v, %v", u, err)
	}
	if u, err = env.Store.EnsureSSOUser(ctx, "sam@example.com", "operator"); err != nil || u.Role != "operator" {
		t.Errorf("second sign-in with a new role: %+v, %v", u, err)
	}
	if err := env.Store.CreateUser(ctx, user("ada", "admin")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.EnsureSSOUser(ctx, "ada", "viewer"); !errors.Is(err, store.ErrLocalUser) {
		t.Errorf("sign-in as a local user: %v, want ErrLocalUser", err)
	}
	if u, _ := env.Store.GetUser(ctx, "ada"); u.SSO || u.Role != "admin" {
		t.Errorf("the local user was changed: %+v", u)
	}
	if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO t_web_user (username, password_hash, role) VALUES ('nopass', '', 'viewer')`); err == nil {
		t.Error("a local user without a password was accepted")
	}
}

// TestLoginFailuresBackOff: after After failures each further one blocks
// the key twice as long, up to MaxDelay; other keys are not blocked; a
// key quiet for Forget starts again from zero; clearing forgets at once.
func TestLoginFailuresBackOff(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	st := env.Store
	p := store.LoginThrottle{After: 3, FirstDelay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Hour}
	var got []time.Duration
	for range 7 {
		d, err := st.RecordLoginFailure(ctx, "user:olga", p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("blocks after each failure: %v, want %v", got, want)
	}
	if wait, err := st.LoginBlocked(ctx, "ip:192.0.2.1", "user:olga"); err != nil || wait < 7*time.Second || wait > 8*time.Second {
		t.Errorf("blocked for %v (%v), want nearly 8s", wait, err)
	}
	if wait, err := st.LoginBlocked(ctx, "ip:192.0.2.1", "user:ada"); err != nil || wait != 0 {
		t.Errorf("other keys blocked for %v (%v), want 0", wait, err)
	}

	// Quiet for longer than Forget (block included): counting restarts.
	if _, err := st.Pool().Exec(ctx, `UPDATE t_web_login_failure SET last_at = now() - interval '2 hours',
		blocked_until = now() - interval '61 minutes'`); err != nil {
		t.Fatal(err)
	}
	if d, err := st.RecordLoginFailure(ctx, "user:olga", p); err != nil || d != 0 {
		t.Errorf("first failure after a quiet hour: blocked %v (%v), want 0", d, err)
	}
	// Quiet, but the block ended less than Forget ago: counting goes on.
	if _, err := st.Pool().Exec(ctx, `UPDATE t_web_login_failure SET failures = 5, last_at = now() - interval '2 hours',
		blocked_until = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if d, err := st.RecordLoginFailure(ctx, "user:olga", p); err != nil || d != 8*time.Second {
		t.Errorf("failure soon after a block: blocked %v (%v), want 8s", d, err)
	}
	if err := st.ClearLoginFailures(ctx, "user:olga"); err != nil {
		t.Fatal(err)
	}
	if wait, err := st.LoginBlocked(ctx, "user:olga"); err != nil || wait != 0 {
		t.Errorf("after clearing: blocked %v (%v)", wait, err)
	}

	if _, err := st.RecordLoginFailure(ctx, "ip:192.0.2.9", p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE t_web_login_failure SET last_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteStaleLoginFailures(ctx, time.Hour); err != nil || n != 1 {
		t.Errorf("stale counts deleted: %d (%v), want 1", n, err)
	}
}
