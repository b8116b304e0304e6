package taskdir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/tasktype"
)

func TestEntrypoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]os.FileMode
		want    []string // relative to the folder for the file
		wantErr string
	}{
		{"node first", map[string]os.FileMode{"index.js": 0o644, "index.sh": 0o644}, []string{"node", "index.js"}, ""},
		{"python", map[string]os.FileMode{"index.py": 0o644}, []string{"python3", "index.py"}, ""},
		{"shell", map[string]os.FileMode{"index.sh": 0o644}, []string{"sh", "index.sh"}, ""},
		{"executable run", map[string]os.FileMode{"run": 0o755}, []string{"run"}, ""},
		{"run not executable", map[string]os.FileMode{"run": 0o644}, nil, "not executable"},
		{"empty folder", map[string]os.FileMode{}, nil, "looked for index.js, index.mjs, index.py, index.sh, run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, mode := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, mode); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Entrypoint(dir)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrNoEntrypoint) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrNoEntrypoint saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.want)
			want[len(want)-1] = filepath.Join(dir, want[len(want)-1])
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	if _, err := Entrypoint(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrNoEntrypoint) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestArchivePublishDirMovesOnceAndIsIdempotent(t *testing.T) {
	t.Parallel()
	l := tasktype.Layout{Root: t.TempDir()}
	if err := os.Mkdir(filepath.Join(l.Root, "gold"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := EmptyPublishDir(l, "gold"); err != nil {
		t.Fatal(err)
	}
	publish, _ := l.PublishDir("gold")
	if err := os.MkdirAll(filepath.Join(publish, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.json", "sub/b.txt"} {
		if err := os.WriteFile(filepath.Join(publish, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	version := tasktype.Version(time.Date(2017, 11, 23, 21, 38, 54, 0, time.UTC), time.UTC, 1)
	rel, files, err := ArchivePublishDir(l, "gold", version)
	if err != nil {
		t.Fatal(err)
	}
	if rel != "gold/history/201711/23_213854" || !reflect.DeepEqual(files, []string{"a.json", "sub/b.txt"}) {
		t.Fatalf("archived %q to %q", files, rel)
	}
	if entries, _ := os.ReadDir(publish); len(entries) != 0 {
		t.Errorf("publish not empty after archive: %v", entries)
	}
	// A retry after a crash finds the archive and reports the same files.
	rel2, files2, err := ArchivePublishDir(l, "gold", version)
	if err != nil || rel2 != rel || !reflect.DeepEqual(files2, files) {
		t.Errorf("second archive: %q %q %v", rel2, files2, err)
	}
	// An empty publish folder archives nothing.
	rel3, files3, err := ArchivePublishDir(l, "gold", tasktype.Version(time.Now(), time.UTC, 1))
	if err != nil || rel3 != "" || files3 != nil {
		t.Errorf("empty publish: %q %q %v", rel3, files3, err)
	}
	if _, _, err := ArchivePublishDir(l, "../etc", version); !errors.Is(err, tasktype.ErrInvalidName) {
		t.Errorf("archive of ../etc: %v", err)
	}
}
