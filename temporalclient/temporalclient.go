// Package temporalclient holds how every schetask process connects to
// Temporal: the address, namespace and credentials of the configuration,
// and a reconnect policy fit for a scheduler.
//
// gRPC's default reconnect backoff grows to two minutes: after a Temporal
// outage of a minute, a client waits up to half a minute more before it
// tries again, so its workers poll nothing and every fire in between is
// missed (a */2 task ran nothing for 20 s after Temporal came back). A
// scheduler wants to be back within a second of its server.
package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/schetask/schetask/config"
)

// ReconnectMaxDelay bounds the wait between two attempts to reach a
// Temporal server that went away.
const ReconnectMaxDelay = time.Second

// Reconnecting returns opts with the reconnect policy added: attempts
// start 100 ms after a failure and never wait more than ReconnectMaxDelay.
func Reconnecting(opts client.Options) client.Options {
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  100 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   ReconnectMaxDelay,
			},
			MinConnectTimeout: 5 * time.Second,
		}))
	return opts
}

// Options are the client options for the configured Temporal: plain, TLS
// (with a client certificate for mTLS), or an API key; always Reconnecting.
func Options(cfg config.Config, logger *slog.Logger) (client.Options, error) {
	opts := Reconnecting(client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: log.NewStructuredLogger(logger.With(slog.String("component", "temporal"))),
	})
	t := cfg.TemporalTLS
	if !t.Enabled() && cfg.TemporalAPIKey.Reveal() == "" {
		return opts, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return opts, fmt.Errorf("temporal mTLS certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return opts, fmt.Errorf("temporal TLS CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("temporal TLS CA: no PEM certificate in %s", t.CAFile)
		}
	}
	opts.ConnectionOptions.TLS = tc
	if key := cfg.TemporalAPIKey.Reveal(); key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	return opts, nil
}
