package store_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
)

// tokenFormat is the contract: "stk_" and 32 random bytes in lower-case
// base32 without padding (52 characters).
var tokenFormat = regexp.MustCompile(`^stk_[a-z2-7]{52}$`)

func TestTokensAreShownOnceAndStoredHashed(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		if err := env.Store.CreateUser(ctx, store.User{Username: u, Role: "admin", SSO: true}); err != nil {
			t.Fatal(err)
		}
	}
	row, plain, err := env.Store.CreateToken(ctx, store.APIToken{Name: "deploy", Username: "alice", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if !tokenFormat.MatchString(plain) {
		t.Errorf("token %q is not stk_ and 52 lower-case base32 characters", plain)
	}
	var stored []byte
	if err := env.Store.Pool().QueryRow(ctx, `SELECT token_hash FROM t_api_token WHERE id = $1`, row.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, store.HashToken(plain)) || bytes.Contains(stored, []byte(plain)) {
		t.Errorf("stored %x, want the SHA-256 of the token and nothing else", stored)
	}
	_, other, err := env.Store.CreateToken(ctx, store.APIToken{Name: "deploy", Username: "bob", Role: "viewer"})
	if err != nil || other == plain {
		t.Fatalf("bob's token deploy: %v (same token as alice's: %v)", err, other == plain)
	}
	if _, _, err := env.Store.CreateToken(ctx, store.APIToken{Name: "deploy", Username: "alice", Role: "viewer"}); !errors.Is(err, store.ErrTokenExists) {
		t.Errorf("a second deploy of alice: %v, want ErrTokenExists", err)
	}

	use, err := env.Store.LookupToken(ctx, plain)
	if err != nil || use.ID != row.ID || use.Username != "alice" || use.Role != "operator" || use.UserRole != "admin" || use.UserDisabled {
		t.Fatalf("lookup: %+v, %v", use, err)
	}
	if _, err := env.Store.LookupToken(ctx, plain+"x"); !errors.Is(err, store.ErrTokenNotFound) {
		t.Errorf("lookup of another token: %v, want ErrTokenNotFound", err)
	}

	mine, err := env.Store.ListTokens(ctx, "alice")
	if err != nil || len(mine) != 1 || mine[0].ID != row.ID {
		t.Errorf("alice's tokens: %+v, %v", mine, err)
	}
	all, err := env.Store.ListTokens(ctx, "")
	if err != nil || len(all) != 2 {
		t.Errorf("every token: %d, %v; want 2", len(all), err)
	}

	if _, _, err := env.Store.RevokeToken(ctx, row.ID, "bob"); !errors.Is(err, store.ErrTokenNotFound) {
		t.Errorf("bob revoking alice's token: %v, want ErrTokenNotFound", err)
	}
	before, after, err := env.Store.RevokeToken(ctx, row.ID, "alice")
	if err != nil || before.RevokedAt != nil || after.RevokedAt == nil {
		t.Fatalf("revoke: before %v after %v, %v", before.RevokedAt, after.RevokedAt, err)
	}
	if use, err := env.Store.LookupToken(ctx, plain); err != nil || use.RevokedAt == nil || use.Active(time.Now()) {
		t.Errorf("a revoked token looks active: %+v, %v", use, err)
	}
	if _, again, err := env.Store.RevokeToken(ctx, row.ID, ""); err != nil || !again.RevokedAt.Equal(*after.RevokedAt) {
		t.Errorf("revoking again moved the revocation time: %v, %v", again.RevokedAt, err)
	}
}

func TestTokenLastUseIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.CreateUser(ctx, store.User{Username: "alice", Role: "viewer", SSO: true}); err != nil {
		t.Fatal(err)
	}
	row, plain, err := env.Store.CreateToken(ctx, store.APIToken{Name: "ci", Username: "alice", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		t.Helper()
		u, err := env.Store.LookupToken(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		return u.LastUsedAt
	}
	if lastUsed() != nil {
		t.Fatal("a new token has a last use")
	}
	if err := env.Store.TouchToken(ctx, row.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	first := lastUsed()
	if first == nil {
		t.Fatal("TouchToken recorded no use")
	}
	if err := env.Store.TouchToken(ctx, row.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if second := lastUsed(); !second.Equal(*first) {
		t.Errorf("a second use within the minute was written: %v then %v", first, second)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_api_token SET last_used_at = now() - interval '61 seconds' WHERE id = $1`, row.ID); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.TouchToken(ctx, row.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	if third := lastUsed(); time.Since(*third) > 10*time.Second {
		t.Errorf("a use a minute later was not written: last use %v", third)
	}
}
