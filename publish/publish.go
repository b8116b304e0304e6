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
	"path"
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

// Result is what a publish did.
type Result struct {
	// Path is the published folder, <root>/<name>.
	Path string
	// Files are the files and symbolic links published, relative to Path,
	// sorted.
	Files []string
	// Skipped are the entries of the publish folder left out, and why,
	// sorted by path: links that could lead a reader of the target out of
	// the published folder, and what is neither a file, a folder nor a
	// link.
	Skipped []Skipped
}

// Skipped is an entry of the publish folder that was not published.
type Skipped struct {
	// Path is relative to the publish folder.
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Why an entry is skipped.
const (
	ReasonAbsoluteLink    = "absolute symbolic link"
	ReasonLinkOutside     = "symbolic link leading outside the published folder"
	ReasonDotDotAfterLink = "symbolic link whose '..' comes after a link or a file, which could lead outside"
	ReasonNotAFile        = "neither a regular file, a folder nor a symbolic link"
)

// Publish is Folder for callers that only want the path and the files.
// Callers that can tell the task what was left out use Folder.
func Publish(src, root, name string) (dst string, files []string, err error) {
	res, err := Folder(src, root, name)
	return res.Path, res.Files, err
}

// Folder copies the folder src to <root>/<name>. The copy is built next
// to the target and swapped in with one rename (RENAME_EXCHANGE), so
// readers see the old files or the new ones, never a mix. The version it
// replaces is kept as <root>/.<name>.previous until the next publish, so a
// reader still walking it can finish.
//
// A target is public, and its readers follow links: a symbolic link is
// copied only when it is relative and every reader stays inside the
// published folder by following it; others are skipped and listed in the
// result. src is read through a handle that cannot leave it, so a link
// swapped in while the copy runs cannot make it read elsewhere.
func Folder(src, root, name string) (Result, error) {
	if err := tasktype.ValidateName(name); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Result{}, fmt.Errorf("publish: create target root: %w", err)
	}
	staging, err := os.MkdirTemp(root, "."+name+".staging-")
	if err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	defer os.RemoveAll(staging) // a no-op once it has been swapped in
	res, err := copyTree(src, staging)
	if err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return Result{}, fmt.Errorf("publish: %w", err)
	}
	dst := filepath.Join(root, name)
	res.Path = dst
	previous := filepath.Join(root, "."+name+".previous")
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, dst); err != nil {
			return Result{}, fmt.Errorf("publish: %w", err)
		}
		return res, nil
	}
	err = unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		// staging now holds the old version.
		if err := os.RemoveAll(previous); err != nil {
			return res, fmt.Errorf("publish: remove older version: %w", err)
		}
		if err := os.Rename(staging, previous); err != nil {
			return res, fmt.Errorf("publish: keep previous version: %w", err)
		}
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		// The file system cannot exchange: move the old one away first.
		// The folder is missing for an instant, never mixed.
		if err := os.RemoveAll(previous); err != nil {
			return Result{}, fmt.Errorf("publish: remove older version: %w", err)
		}
		if err := os.Rename(dst, previous); err != nil {
			return Result{}, fmt.Errorf("publish: %w", err)
		}
		if err := os.Rename(staging, dst); err != nil {
			return Result{}, fmt.Errorf("publish: %w", err)
		}
	default:
		return Result{}, fmt.Errorf("publish: swap in new version: %w", err)
	}
	return res, nil
}

// copyTree copies regular files, folders and the symbolic links that stay
// inside from src into the existing folder dst. Links are made last, once
// every real folder of the copy is known (see linkProblem).
func copyTree(src, dst string) (Result, error) {
	var res Result
	from, err := openSource(src)
	if err != nil {
		return res, fmt.Errorf("copy publish folder: %w", err)
	}
	defer from.Close()
	dirs := map[string]bool{}
	type link struct{ rel, target string }
	var links []link
	err = fs.WalkDir(from.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch {
		case d.IsDir():
			dirs[rel] = true
			return os.Mkdir(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			to, err := from.Readlink(rel)
			if err != nil {
				return err
			}
			links = append(links, link{rel, to})
		case d.Type().IsRegular():
			err := copyFile(from, rel, target)
			if errors.Is(err, errNotRegular) {
				res.Skipped = append(res.Skipped, Skipped{Path: rel, Reason: ReasonNotAFile})
				return nil
			}
			if err != nil {
				return err
			}
			res.Files = append(res.Files, rel)
		default:
			res.Skipped = append(res.Skipped, Skipped{Path: rel, Reason: ReasonNotAFile})
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("copy publish folder: %w", err)
	}
	for _, l := range links {
		if reason := linkProblem(l.rel, l.target, dirs); reason != "" {
			res.Skipped = append(res.Skipped, Skipped{Path: l.rel, Reason: reason})
			continue
		}
		if err := os.Symlink(l.target, filepath.Join(dst, filepath.FromSlash(l.rel))); err != nil {
			return res, fmt.Errorf("copy publish folder: %w", err)
		}
		res.Files = append(res.Files, l.rel)
	}
	sort.Strings(res.Files)
	sort.Slice(res.Skipped, func(i, j int) bool { return res.Skipped[i].Path < res.Skipped[j].Path })
	return res, nil
}

// openSource opens the publish folder as a root that reads cannot leave.
// The folder itself must not be a symbolic link; it is opened from its
// parent, so one swapped in after the check cannot lead outside that.
func openSource(src string) (*os.Root, error) {
	src = filepath.Clean(src)
	fi, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder (a symbolic link is not followed)", src)
	}
	parent, err := os.OpenRoot(filepath.Dir(src))
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	return parent.OpenRoot(filepath.Base(src))
}

// linkProblem says why the link at rel (slash-separated, relative to the
// published folder) pointing to target could lead a reader outside the
// folder, or "" when it cannot. The target must be relative, and walking
// it from the link's folder must never climb above the published folder;
// each ".." must climb out of a real folder (one in dirs): after a link,
// ".." climbs from wherever that link led, not back along the path. Links kept under this rule
// lead inside whatever other kept links they pass through, so the rule
// holds for chains too.
func linkProblem(rel, target string, dirs map[string]bool) string {
	if target == "" || path.IsAbs(target) {
		return ReasonAbsoluteLink
	}
	var at []string
	if dir := path.Dir(rel); dir != "." {
		at = strings.Split(dir, "/")
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if len(at) == 0 {
				return ReasonLinkOutside
			}
			if !dirs[strings.Join(at, "/")] {
				return ReasonDotDotAfterLink
			}
			at = at[:len(at)-1]
		default:
			at = append(at, part)
		}
	}
	return ""
}

// errNotRegular is a file that was swapped for something else (a FIFO, a
// device) between the listing and the copy.
var errNotRegular = errors.New("not a regular file")

// copyFile copies the regular file rel of from to dst. It opens without
// blocking (a FIFO swapped in would hang an open for reading) and checks
// what it opened.
func copyFile(from *os.Root, rel, dst string) error {
	in, err := from.OpenFile(rel, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errNotRegular
	}
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
