// Package publish copies a task's publish/ folder to a target root, as the
// seed's caePublish did (/resources/autostatic/<task>/), atomically: the
// folder <root>/<task> is at every instant one whole version, old or new.
package publish

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schetask/schetask/tasktype"
)

// Targets maps a target's name ("pre", "prod") to its root folder.
type Targets map[string]string

// ParseTargets reads "name=/abs/root,name2=/abs/root2".
func ParseTargets(s string) (Targets, error) {
	t := Targets{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, root, ok := strings.Cut(part, "=")
		name, root = strings.TrimSpace(name), strings.TrimSpace(root)
		if !ok || name == "" || root == "" {
			return nil, fmt.Errorf("publish target %q: want name=/absolute/folder", part)
		}
		if !filepath.IsAbs(root) {
			return nil, fmt.Errorf("publish target %q: folder must be absolute", part)
		}
		t[name] = filepath.Clean(root)
	}
	return t, nil
}

// Names lists the targets, sorted.
func (t Targets) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownTarget is returned for a target that is not configured.
var ErrUnknownTarget = errors.New("unknown publish target")

// Publish copies the folder src to <root>/<name> and returns that path and
// the files published, relative to it. The copy is built next to the
// target and swapped in with one rename (RENAME_EXCHANGE), so readers see
// the old files or the new ones, never a mix. The version it replaces is
// kept as <root>/.<name>.previous until the next publish, so a reader
// still walking it can finish.
func Publish(src, root, name string) (dst string, files []string, err error) {
	if err := tasktype.ValidateName(name); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, fmt.Errorf("publish: create target root: %w", err)
	}
	staging, err := os.MkdirTemp(root, "."+name+".staging-")
	if err != nil {
		return "", nil, fmt.Errorf("publish: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op once it has been swapped in
	files, err = copyTree(src, staging)
	if err != nil {
		return "", nil, fmt.Errorf("publish: %w", err)
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return "", nil, fmt.Errorf("publish: %w", err)
	}
	dst = filepath.Join(root, name)
	previous := filepath.Join(root, "."+name+".previous")
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, dst); err != nil {
			return "", nil, fmt.Errorf("publish: %w", err)
		}
		return dst, files, nil
	}
	err = unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		// staging now holds the old version.
		if err := os.RemoveAll(previous); err != nil {
			return dst, files, fmt.Errorf("publish: remove older version: %w", err)
		}
		if err := os.Rename(staging, previous); err != nil {
			return dst, files, fmt.Errorf("publish: keep previous version: %w", err)
		}
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		// The file system cannot exchange: move the old one away first.
		// The folder is missing for an instant, never mixed.
		if err := os.RemoveAll(previous); err != nil {
			return "", nil, fmt.Errorf("publish: remove older version: %w", err)
		}
		if err := os.Rename(dst, previous); err != nil {
			return "", nil, fmt.Errorf("publish: %w", err)
		}
		if err := os.Rename(staging, dst); err != nil {
			return "", nil, fmt.Errorf("publish: %w", err)
		}
	default:
		return "", nil, fmt.Errorf("publish: swap in new version: %w", err)
	}
	return dst, files, nil
}

// copyTree copies regular files, folders and symbolic links (as links)
// from src into the existing folder dst, and lists the files copied.
func copyTree(src, dst string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			files = append(files, rel)
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			files = append(files, rel)
			return copyFile(path, target)
		}
		return nil // sockets, devices: not content
	})
	if err != nil {
		return nil, fmt.Errorf("copy publish folder: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// On disk before the swap makes it visible.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
