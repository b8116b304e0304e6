package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strconv"

	"github.com/wneessen/go-mail"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
)

// Email sends alerts as plain-text e-mail, through go-mail.
type Email struct {
	cfg  config.EmailConfig
	host string
	port int
	tls  *tls.Config
}

// NewEmail checks the configuration and makes the channel.
func NewEmail(cfg config.EmailConfig) (*Email, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp address %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtp address %q: bad port", cfg.Addr)
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("from address %q: %w", cfg.From, err)
	}
	for _, to := range cfg.To {
		if _, err := netmail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("recipient %q: %w", to, err)
		}
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("tls mode %q: want starttls, tls or none", cfg.TLS)
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Email{cfg: cfg, host: host, port: port, tls: tc}, nil
}

// Name is "email".
func (e *Email) Name() string { return "email" }

// Send mails the alert to the task's e-mail owners, or to the default
// recipients when it has none.
func (e *Email) Send(ctx context.Context, a alert.Alert) error {
	to := a.Emails()
	if len(to) == 0 {
		to = e.cfg.To
	}
	if len(to) == 0 {
		return Permanent(errors.New("email: no recipient: the task has no e-mail owner and SCHETASK_ALERT_EMAIL_TO is empty"))
	}
	m := mail.NewMsg()
	if err := m.From(e.cfg.From); err != nil {
		return Permanent(fmt.Errorf("email: from: %w", err))
	}
	if err := m.To(to...); err != nil {
		return Permanent(fmt.Errorf("email: to: %w", err))
	}
	m.Subject(a.Subject())
	m.SetGenHeader("X-Schetask-Alert-Id", strconv.FormatInt(a.ID, 10))
	m.SetGenHeader("X-Schetask-Event", string(a.Kind))
	m.SetMessageIDWithValue(fmt.Sprintf("schetask-alert-%d@%s", a.ID, e.host))
	m.SetBodyString(mail.TypeTextPlain, a.Body())

	opts := []mail.Option{mail.WithPort(e.port), mail.WithTLSConfig(e.tls)}
	switch e.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.cfg.Username),
			mail.WithPassword(e.cfg.Password.Reveal()))
	}
	c, err := mail.NewClient(e.host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return mailError(err)
	}
	return nil
}

// mailError makes 5xx answers (bad credentials, refused recipients)
// permanent; everything else is retried.
func mailError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return Permanent(fmt.Errorf("email: %w", err))
	}
	return fmt.Errorf("email: %w", err)
}
