package config

import (
	"errors"
	"fmt"
	"os"
)

// loadTemporal reads where Temporal is and how to reach it: address,
// namespace, Temporal Web's URL, TLS and the Cloud API key. The TLS files
// must exist, and a client certificate comes with its key.
func loadTemporal(r *reader, c *Config) {
	c.TemporalAddress = r.str("SCHETASK_TEMPORAL_ADDRESS", "localhost:7233")
	c.TemporalNamespace = r.str("SCHETASK_TEMPORAL_NAMESPACE", "default")
	c.TemporalUIURL = r.str("SCHETASK_TEMPORAL_UI_URL", "http://localhost:8233")
	c.TemporalTLS = TemporalTLS{
		CertFile:   r.str("SCHETASK_TEMPORAL_TLS_CERT", ""),
		KeyFile:    r.str("SCHETASK_TEMPORAL_TLS_KEY", ""),
		CAFile:     r.str("SCHETASK_TEMPORAL_TLS_CA", ""),
		ServerName: r.str("SCHETASK_TEMPORAL_TLS_SERVER_NAME", ""),
	}
	c.TemporalAPIKey = r.secret("SCHETASK_TEMPORAL_API_KEY")
	if (c.TemporalTLS.CertFile == "") != (c.TemporalTLS.KeyFile == "") {
		r.errs = append(r.errs, errors.New("SCHETASK_TEMPORAL_TLS_CERT and SCHETASK_TEMPORAL_TLS_KEY: set both for mTLS, or neither"))
	}
	for key, f := range map[string]string{"SCHETASK_TEMPORAL_TLS_CERT": c.TemporalTLS.CertFile,
		"SCHETASK_TEMPORAL_TLS_KEY": c.TemporalTLS.KeyFile, "SCHETASK_TEMPORAL_TLS_CA": c.TemporalTLS.CAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", key, err))
		}
	}
}

// TemporalTLS names the PEM files for a TLS connection to Temporal.
type TemporalTLS struct {
	// CertFile and KeyFile are the client certificate and key, for mTLS.
	CertFile, KeyFile string
	// CAFile is the CA that signed the server's certificate; empty uses
	// the system's roots.
	CAFile string
	// ServerName is the name to verify, when it is not the address's host.
	ServerName string
}

// Enabled reports whether any TLS setting is given.
func (t TemporalTLS) Enabled() bool { return t != TemporalTLS{} }
