package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schetask/schetask/tasktype"
)

// writeVersion fills dir with n files all saying version v, in sub-folders.
func writeVersion(t *testing.T, dir string, v, n int) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%02d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("version %d\n", v)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadersNeverSeeAMix publishes version after version while a reader
// takes snapshots of the target through a pinned folder handle: every
// snapshot must hold all the files of exactly one version.
func TestReadersNeverSeeAMix(t *testing.T) {
	src, root := t.TempDir(), t.TempDir()
	const files, versions = 20, 40
	writeVersion(t, src, 0, files)
	if _, _, err := Publish(src, root, "gold"); err != nil {
		t.Fatal(err)
	}
	var snapshots atomic.Int64
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := snapshot(filepath.Join(root, "gold"), files); err != nil {
				errc <- err
				return
			}
			snapshots.Add(1)
		}
	}()
	for v := 1; v <= versions; v++ {
		writeVersion(t, src, v, files)
		// Let the reader take a snapshot between two publishes, so it is
		// never more than one version behind (the one kept as previous).
		seen := snapshots.Load()
		deadline := time.Now().Add(10 * time.Second)
		for snapshots.Load() < seen+2 && time.Now().Before(deadline) {
			select {
			case err := <-errc:
				t.Fatal(err)
			default:
			}
			time.Sleep(time.Millisecond)
		}
		dst, got, err := Publish(src, root, "gold")
		if err != nil {
			t.Fatal(err)
		}
		if dst != filepath.Join(root, "gold") || len(got) != files {
			t.Fatalf("Publish = %s, %d files; want %s, %d", dst, len(got), filepath.Join(root, "gold"), files)
		}
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := snapshot(filepath.Join(root, "gold"), files); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "gold", "d0", "f00.txt"))
	if err != nil || string(b) != fmt.Sprintf("version %d\n", versions) {
		t.Fatalf("after the last publish: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != ".gold.previous,gold" {
		t.Errorf("target root holds %v, want the task and its previous version only", names)
	}
}

// snapshot reads every file under dir through one folder handle and
// checks they are n files of one version.
func snapshot(dir string, n int) error {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	versions := map[string]int{}
	count := 0
	for d := 0; d < 3; d++ {
		sub, err := r.OpenRoot(fmt.Sprintf("d%d", d))
		if err != nil {
			return err
		}
		f, err := sub.Open(".")
		if err != nil {
			sub.Close()
			return err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			sub.Close()
			return err
		}
		for _, name := range names {
			b, err := sub.ReadFile(name)
			if err != nil {
				sub.Close()
				return err
			}
			versions[string(b)]++
			count++
		}
		sub.Close()
	}
	if count != n || len(versions) != 1 {
		return fmt.Errorf("snapshot of %s: %d files, versions %v: a mix", dir, count, versions)
	}
	return nil
}

func TestPublishRefusesBadNamesAndParsesTargets(t *testing.T) {
	if _, _, err := Publish(t.TempDir(), t.TempDir(), "../etc"); !errors.Is(err, tasktype.ErrInvalidName) {
		t.Errorf("Publish(../etc) = %v, want ErrInvalidName", err)
	}
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "[]", false},
		{"prod=/srv/prod, pre=/srv/pre/", "[pre prod]", false},
		{"prod=relative/path", "", true},
		{"prod", "", true},
	}
	for _, tt := range tests {
		got, err := ParseTargets(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTargets(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && fmt.Sprint(got.Names()) != tt.want {
			t.Errorf("ParseTargets(%q) = %v, want %s", tt.in, got.Names(), tt.want)
		}
	}
}

// BenchmarkPublish publishes a folder of 20 files of 4 KiB, the atomic way;
// BenchmarkCopyInPlace copies the same files over the target in place, as a
// naive publish would. Their ratio is the price of never showing a mix.
func BenchmarkPublish(b *testing.B) {
	src, root := b.TempDir(), b.TempDir()
	writeBenchFiles(b, src)
	for b.Loop() {
		if _, _, err := Publish(src, root, "gold"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyInPlace(b *testing.B) {
	src, dst := b.TempDir(), b.TempDir()
	writeBenchFiles(b, src)
	for b.Loop() {
		entries, err := os.ReadDir(src)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func writeBenchFiles(b *testing.B, dir string) {
	data := []byte(strings.Repeat("x", 4096))
	for i := 0; i < 20; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.json", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLinksLeavingTheFolderAreNotPublished: a target is public and its
// readers follow links, so only relative links that keep a reader inside
// the published folder are copied; the rest, and what is not a file, are
// skipped and reported.
func TestLinksLeavingTheFolderAreNotPublished(t *testing.T) {
	src, root := t.TempDir(), t.TempDir()
	// What links could reach outside: a secret next to the target root,
	// another task's published folder.
	for _, f := range []string{filepath.Join(filepath.Dir(root), "secret"), filepath.Join(root, "silver", "index.html")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("not public"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"sub", "sibling", "deep/er"} {
		if err := os.MkdirAll(filepath.Join(src, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"sub/file.txt", "sibling/file.txt"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := []struct {
		at, to  string
		skipped string // the reason, or "" when the link is published
	}{
		{"x", "/etc/passwd", ReasonAbsoluteLink},
		{"y", "../../secret", ReasonLinkOutside},
		{"ok", "sub/file.txt", ""},
		{"self", ".", ""},
		{"sub/up", "../sibling/file.txt", ""},
		{"sub/via", "../ok", ""},
		{"deep/er/top", "../../sub/./file.txt", ""},
		{"deep/er/out", "../../../x", ReasonLinkOutside},
		// Lexically self/.. is the folder itself, but self leads to the
		// folder and its ".." to the target root, where other tasks are.
		{"climb", "self/../silver/index.html", ReasonDotDotAfterLink},
		{"deep/climb", "../self/self/../../secret", ReasonDotDotAfterLink},
		{"sub/file-up", "file.txt/../../x", ReasonDotDotAfterLink},
	}
	for _, l := range links {
		if err := os.Symlink(l.to, filepath.Join(src, l.at)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Folder(src, root, "gold")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, "gold")
	wantSkipped := []Skipped{{Path: "pipe", Reason: ReasonNotAFile}}
	wantFiles := []string{"sibling/file.txt", "sub/file.txt"}
	for _, l := range links {
		if l.skipped != "" {
			wantSkipped = append(wantSkipped, Skipped{Path: l.at, Reason: l.skipped})
		} else {
			wantFiles = append(wantFiles, l.at)
		}
	}
	slices.SortFunc(wantSkipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(wantFiles)
	if res.Path != dst || !slices.Equal(res.Files, wantFiles) || !slices.Equal(res.Skipped, wantSkipped) {
		t.Errorf("Folder = %s\n files %v\n skipped %v\nwant %s\n files %v\n skipped %v", res.Path, res.Files, res.Skipped, dst, wantFiles, wantSkipped)
	}

	// Every link in the target leads inside it.
	err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Errorf("link %s leads nowhere: %v", p, err)
			return nil
		}
		if rel, err := filepath.Rel(dst, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Errorf("link %s leads to %s, outside the published folder", p, resolved)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x", "y", "climb", "deep/climb", "deep/er/out", "pipe"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was published (%v)", p, err)
		}
	}
	for p, want := range map[string]string{"ok": "sub/file.txt", "sub/up": "sibling/file.txt", "sub/via": "sub/file.txt",
		"deep/er/top": "sub/file.txt", "self/sub/file.txt": "sub/file.txt"} {
		if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != want {
			t.Errorf("read %s through the target: %q, %v; want %q", p, b, err, want)
		}
	}
}

// TestPublishFolderMustNotBeALink: the publish folder itself is not
// followed when it is a symbolic link.
func TestPublishFolderMustNotBeALink(t *testing.T) {
	dir, root := t.TempDir(), t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(dir, "publish")); err != nil {
		t.Fatal(err)
	}
	if res, err := Folder(filepath.Join(dir, "publish"), root, "gold"); err == nil {
		t.Fatalf("Folder of a linked publish folder = %+v, want an error", res)
	}
	if _, err := os.Lstat(filepath.Join(root, "gold")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("something was published: %v", err)
	}
}
