package activities

import (
	"bytes"
	"strings"
	"sync"
)

// maxStoredLineBytes caps each stored stderr line; the log keeps all of it.
const maxStoredLineBytes = 1000

// stderrHead keeps the first lines of a stream, for the run's row, with
// memory bounded by lines × maxStoredLineBytes whatever the stream's size.
// It is safe to read while it is written.
type stderrHead struct {
	limit int

	mu      sync.Mutex
	lines   []string
	partial []byte // the unfinished line, at most maxStoredLineBytes+1
	total   int64  // lines seen, stored or not
	changed bool
}

func newStderrHead(limit int) *stderrHead { return &stderrHead{limit: limit} }

// Write takes a chunk of the stream; it never fails.
func (h *stderrHead) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if len(h.lines) < h.limit {
			room := maxStoredLineBytes + 1 - len(h.partial)
			if room > 0 {
				h.partial = append(h.partial, chunk[:min(room, len(chunk))]...)
			}
		}
		if i < 0 {
			break
		}
		h.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (h *stderrHead) endLine() {
	h.total++
	if len(h.lines) < h.limit {
		h.lines = append(h.lines, cleanLine(h.partial))
		h.changed = true
	}
	h.partial = h.partial[:0]
}

// Close ends an unfinished last line.
func (h *stderrHead) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.partial) > 0 {
		h.endLine()
	}
	return nil
}

// Snapshot returns the stored lines, the number of lines seen, and whether
// anything changed since the last snapshot.
func (h *stderrHead) Snapshot() (lines []string, total int64, changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed, h.changed = h.changed, false
	return append([]string(nil), h.lines...), h.total, changed
}

// cleanLine makes a stderr line safe to store in a text column: valid
// UTF-8, no NUL bytes or carriage return, at most maxStoredLineBytes.
func cleanLine(b []byte) string {
	cut := len(b) > maxStoredLineBytes
	if cut {
		b = b[:maxStoredLineBytes] // a rune cut in two becomes U+FFFD below
	}
	s := strings.ToValidUTF8(string(bytes.TrimRight(b, "\r")), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if cut {
		s += " …[cut]"
	}
	return s
}
