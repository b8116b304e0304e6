package devstack

// SilentLogger is a Temporal SDK logger that drops everything: the SDK's
// retry chatter while a server starts, or in benchmark output.
type SilentLogger struct{}

// Debug drops the message.
func (SilentLogger) Debug(string, ...any) {}

// Info drops the message.
func (SilentLogger) Info(string, ...any) {}

// Warn drops the message.
func (SilentLogger) Warn(string, ...any) {}

// Error drops the message.
func (SilentLogger) Error(string, ...any) {}
