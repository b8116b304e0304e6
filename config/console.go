package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// loadConsole reads the console's settings: where it listens, its public
// URL (http://<listen address> unless set), the first admin's password,
// session lifetimes, single sign-on, and the API's rate limit and
// backfill cap.
func loadConsole(r *reader, c *Config) {
	c.ListenAddr = r.str("SCHETASK_LISTEN", "127.0.0.1:8080")
	c.ConsoleURL = strings.TrimRight(r.str("SCHETASK_CONSOLE_URL", "http://"+c.ListenAddr), "/")
	c.AdminPassword = r.secret("SCHETASK_ADMIN_PASSWORD")
	c.SessionIdle = r.duration("SCHETASK_SESSION_IDLE", 12*time.Hour)
	c.SessionMaxAge = r.duration("SCHETASK_SESSION_MAX_AGE", 7*24*time.Hour)
	c.OIDC = OIDCConfig{
		Issuer:       r.str("SCHETASK_OIDC_ISSUER", ""),
		ClientID:     r.str("SCHETASK_OIDC_CLIENT_ID", ""),
		ClientSecret: r.secret("SCHETASK_OIDC_CLIENT_SECRET"),
		RedirectURL:  r.str("SCHETASK_OIDC_REDIRECT_URL", ""),
		GroupsClaim:  r.str("SCHETASK_OIDC_GROUPS_CLAIM", "groups"),
		Roles:        r.list("SCHETASK_OIDC_ROLES"),
		DefaultRole:  r.str("SCHETASK_OIDC_DEFAULT_ROLE", ""),
		Only:         r.boolean("SCHETASK_OIDC_ONLY", false),
	}
	c.APIRate = r.count("SCHETASK_API_RATE", 600)
	c.BackfillMax = r.count("SCHETASK_BACKFILL_MAX", 1000)
	r.positive("SCHETASK_SESSION_IDLE", c.SessionIdle)
	r.positive("SCHETASK_SESSION_MAX_AGE", c.SessionMaxAge)
	if c.SessionMaxAge < c.SessionIdle {
		r.errs = append(r.errs, fmt.Errorf("SCHETASK_SESSION_MAX_AGE: %s is shorter than SCHETASK_SESSION_IDLE %s", c.SessionMaxAge, c.SessionIdle))
	}
	if c.OIDC.Enabled() && (c.OIDC.ClientID == "" || c.OIDC.RedirectURL == "") {
		r.errs = append(r.errs, errors.New("SCHETASK_OIDC_CLIENT_ID and SCHETASK_OIDC_REDIRECT_URL: required when SCHETASK_OIDC_ISSUER is set"))
	}
	if c.OIDC.Only && !c.OIDC.Enabled() {
		r.errs = append(r.errs, errors.New("SCHETASK_OIDC_ONLY: needs SCHETASK_OIDC_ISSUER"))
	}
}

// loadMetrics reads where every process serves /metrics and the token it
// asks for.
func loadMetrics(r *reader, c *Config) {
	c.MetricsAddr = r.str("SCHETASK_METRICS_LISTEN", "127.0.0.1:9464")
	c.MetricsToken = r.secret("SCHETASK_METRICS_TOKEN")
}

// OIDCConfig is single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (SCHETASK_OIDC_ISSUER); its
	// discovery document says the rest.
	Issuer string
	// ClientID and ClientSecret identify the console to the provider
	// (SCHETASK_OIDC_CLIENT_ID, SCHETASK_OIDC_CLIENT_SECRET or _FILE).
	ClientID     string
	ClientSecret Secret
	// RedirectURL is the console's callback, https://<console>/auth/oidc/callback
	// (SCHETASK_OIDC_REDIRECT_URL).
	RedirectURL string
	// GroupsClaim names the ID token claim holding the user's groups
	// (SCHETASK_OIDC_GROUPS_CLAIM, default groups).
	GroupsClaim string
	// Roles map groups to roles, "group=role" pairs; the highest role of
	// a user's groups wins (SCHETASK_OIDC_ROLES).
	Roles []string
	// DefaultRole is the role of a user in none of those groups; "" refuses
	// them (SCHETASK_OIDC_DEFAULT_ROLE).
	DefaultRole string
	// Only turns password logins off (SCHETASK_OIDC_ONLY).
	Only bool
}

// Enabled reports whether single sign-on is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }
