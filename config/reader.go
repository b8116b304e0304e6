package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// reader reads settings through getenv and gathers what is wrong with
// them, so Load reports every bad setting at once.
type reader struct {
	getenv func(string) string
	errs   []error
	// secretKeys are the secret settings that were set; secretFiles the
	// files named by their _FILE variants.
	secretKeys, secretFiles []string
}

// secret reads key, or the file named by key_FILE (for Docker and
// Kubernetes secrets); setting both is an error.
func (r *reader) secret(key string) Secret {
	v := strings.TrimSpace(r.getenv(key))
	file := strings.TrimSpace(r.getenv(key + "_FILE"))
	switch {
	case v != "" && file != "":
		r.errs = append(r.errs, fmt.Errorf("%s and %s_FILE: set one, not both", key, key))
	case file != "":
		r.secretFiles = append(r.secretFiles, file)
		b, err := os.ReadFile(file)
		if err != nil {
			// The path is not secret; the error says why it cannot be read.
			r.errs = append(r.errs, fmt.Errorf("%s_FILE: %w", key, err))
			return Secret{}
		}
		return NewSecret(strings.TrimSpace(string(b)))
	}
	if v != "" {
		r.secretKeys = append(r.secretKeys, key)
	}
	return NewSecret(v)
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a duration like 30s or 5m", key, v))
		return def
	}
	return d
}

func (r *reader) port(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a port number", key, v))
		return def
	}
	return n
}

func (r *reader) count(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive whole number", key, v))
		return def
	}
	return n
}

// boolean reads true/false (also 1/0, yes/no, on/off).
func (r *reader) boolean(key string, def bool) bool {
	switch v := strings.ToLower(strings.TrimSpace(r.getenv(key))); v {
	case "":
		return def
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	default:
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", key, v))
		return def
	}
}

// whole reads a whole number that may be 0.
func (r *reader) whole(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a whole number (0 or more)", key, v))
		return def
	}
	return n
}

// float reads a number that may have a fraction and may be 0.
func (r *reader) float(key string, def float64) float64 {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a number (0 or more, like 0.5)", key, v))
		return def
	}
	return f
}

func (r *reader) list(key string) []string {
	var out []string
	for _, s := range strings.Split(r.getenv(key), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// positive requires d, read from key, to be above zero.
func (r *reader) positive(key string, d time.Duration) {
	if d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: must be positive, got %s", key, d))
	}
}

// notNegative requires d, read from key, to be zero or more.
func (r *reader) notNegative(key string, d time.Duration) {
	if d < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: must not be negative, got %s", key, d))
	}
}
