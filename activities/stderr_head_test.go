package activities

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStderrHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		writes    []string
		limit     int
		wantLines []string
		wantTotal int64
	}{
		{"lines across writes", []string{"he", "llo\nwor", "ld\n"}, 10, []string{"hello", "world"}, 2},
		{"unfinished last line", []string{"a\nb"}, 10, []string{"a", "b"}, 2},
		{"limit", []string{"1\n2\n3\n4\n"}, 2, []string{"1", "2"}, 4},
		{"binary", []string{"ok\x00\xff\xfe\r\n"}, 10, []string{"ok\uFFFD\uFFFD"}, 1},
		{"empty lines count", []string{"\n\n"}, 10, []string{"", ""}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newStderrHead(tt.limit)
			for _, w := range tt.writes {
				_, _ = h.Write([]byte(w))
			}
			_ = h.Close()
			lines, total, _ := h.Snapshot()
			if strings.Join(lines, "|") != strings.Join(tt.wantLines, "|") || total != tt.wantTotal {
				t.Errorf("got %q (%d), want %q (%d)", lines, total, tt.wantLines, tt.wantTotal)
			}
		})
	}
}

func TestStderrHeadCutsLongLinesAndBoundsMemory(t *testing.T) {
	t.Parallel()
	h := newStderrHead(3)
	long := strings.Repeat("é", 5000) // 10,000 bytes
	for i := 0; i < 1000; i++ {
		_, _ = h.Write([]byte(long))
	}
	_, _ = h.Write([]byte("\nshort\n"))
	lines, total, _ := h.Snapshot()
	if total != 2 || len(lines) != 2 {
		t.Fatalf("got %d lines of %d", len(lines), total)
	}
	if !utf8.ValidString(lines[0]) || len(lines[0]) > maxStoredLineBytes+20 || !strings.HasSuffix(lines[0], "[cut]") {
		t.Errorf("long line stored as %d bytes, valid %v", len(lines[0]), utf8.ValidString(lines[0]))
	}
	if cap(h.partial) > 4*maxStoredLineBytes {
		t.Errorf("partial buffer grew to %d bytes", cap(h.partial))
	}
}
