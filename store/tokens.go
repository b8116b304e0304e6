package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrTokenNotFound is returned for a token that no row of t_api_token has.
var ErrTokenNotFound = errors.New("API token not found")

// ErrTokenExists is returned when a user already has a token of the name.
var ErrTokenExists = errors.New("the user already has an API token of this name")

// TokenPrefix starts every API token, so that one pasted somewhere it
// should not be is easy to recognise (and to scan for).
const TokenPrefix = "stk_"

// APIToken is a personal API token (t_api_token); the token itself is
// never kept, only its SHA-256.
type APIToken struct {
	ID int64
	// Name is unique per user; the audit names the token by it.
	Name     string
	Username string
	// Role is the most the token may do; its user's current role limits
	// it further.
	Role       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Active reports whether t is neither revoked nor expired at now.
func (t APIToken) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// TokenUse is a token as an API request finds it, with its user as the
// user is now.
type TokenUse struct {
	APIToken
	UserRole     string
	UserDisabled bool
}

// HashToken is what t_api_token keeps of a token: its SHA-256.
func HashToken(plain string) []byte {
	sum := sha256.Sum256([]byte(plain))
	return sum[:]
}

// newTokenSecret makes a token: TokenPrefix and 32 random bytes in lower
// case base32, without padding.
func newTokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate API token: %w", err)
	}
	return TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

const tokenColumns = `id, name, username, role, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row pgx.Row) (APIToken, error) {
	var t APIToken
	err := row.Scan(&t.ID, &t.Name, &t.Username, &t.Role, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt)
	return t, err
}

// CreateToken makes a token named t.Name for t.Username with t.Role and
// t.ExpiresAt, and returns its row and the token, which is never
// available again. The caller checks that the role is at most the
// user's.
func (s *Store) CreateToken(ctx context.Context, t APIToken) (APIToken, string, error) {
	plain, err := newTokenSecret()
	if err != nil {
		return t, "", err
	}
	row, err := scanToken(s.pool.QueryRow(ctx, `INSERT INTO t_api_token (name, username, role, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+tokenColumns, t.Name, t.Username, t.Role, HashToken(plain), t.ExpiresAt))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return t, "", fmt.Errorf("create API token %q of %q: %w", t.Name, t.Username, ErrTokenExists)
	}
	if err != nil {
		return t, "", fmt.Errorf("create API token %q of %q: %w", t.Name, t.Username, err)
	}
	return row, plain, nil
}

// LookupToken finds the token plain and its user, or ErrTokenNotFound.
// It returns revoked and expired tokens too: the caller refuses them.
func (s *Store) LookupToken(ctx context.Context, plain string) (TokenUse, error) {
	var u TokenUse
	err := s.pool.QueryRow(ctx, `SELECT t.id, t.name, t.username, t.role, t.created_at, t.expires_at, t.last_used_at,
		t.revoked_at, w.role, w.disabled
		FROM t_api_token t JOIN t_web_user w ON w.username = t.username WHERE t.token_hash = $1`, HashToken(plain)).
		Scan(&u.ID, &u.Name, &u.Username, &u.Role, &u.CreatedAt, &u.ExpiresAt, &u.LastUsedAt, &u.RevokedAt,
			&u.UserRole, &u.UserDisabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrTokenNotFound
	}
	if err != nil {
		return u, fmt.Errorf("look up API token: %w", err)
	}
	return u, nil
}

// TouchToken records that the token was used now, unless that was
// recorded less than every ago.
func (s *Store) TouchToken(ctx context.Context, id int64, every time.Duration) error {
	if _, err := s.pool.Exec(ctx, `UPDATE t_api_token SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= now() - $2::interval)`, id, every); err != nil {
		return fmt.Errorf("touch API token %d: %w", id, err)
	}
	return nil
}

// GetToken returns one token's row, or ErrTokenNotFound.
func (s *Store) GetToken(ctx context.Context, id int64) (APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM t_api_token WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("get API token %d: %w", id, ErrTokenNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get API token %d: %w", id, err)
	}
	return t, nil
}

// RevokeToken revokes a token of username ("" for any user's) from now
// on, and returns it as it was before and after; a token revoked already
// keeps its first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id int64, username string) (before, after APIToken, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM t_api_token
			WHERE id = $1 AND ($2 = '' OR username = $2) FOR UPDATE`, id, username))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenNotFound
		}
		if err != nil {
			return err
		}
		after, err = scanToken(tx.QueryRow(ctx, `UPDATE t_api_token SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 RETURNING `+tokenColumns, id))
		return err
	})
	if err != nil {
		return before, after, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return before, after, nil
}

// ListTokens returns username's tokens ("" for every user's), newest
// first.
func (s *Store) ListTokens(ctx context.Context, username string) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM t_api_token
		WHERE $1 = '' OR username = $1 ORDER BY created_at DESC, id DESC`, username)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	tokens, err := collect(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return tokens, nil
}
