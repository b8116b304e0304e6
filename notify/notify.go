// Package notify holds the channels that carry an alert — Slack, e-mail
// and a signed JSON webhook — and the Notify workflow (Workflow, registered
// as alert.NotifyWorkflow) with the activities that drive them. What an alert says and when it is sent is package
// alert's business; this package only delivers.
package notify

import (
	"context"
	"errors"

	"github.com/schetask/schetask/alert"
)

// Channel delivers an alert one way.
type Channel interface {
	// Name is "slack", "email" or "webhook".
	Name() string
	// Send delivers the alert; an error wrapped by Permanent is not retried.
	Send(ctx context.Context, a alert.Alert) error
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks an error that retrying cannot fix: a bad address, a
// revoked token, a 4xx answer.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
