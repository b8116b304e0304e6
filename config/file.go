package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultDir is where the environment files are looked for when
// SCHETASK_CONFIG_DIR is not set, relative to the working directory.
const DefaultDir = "deploy/config"

// fileSetting is one KEY=value line of an environment file.
type fileSetting struct {
	value string
	where string // file:line, for errors
}

var keyRE = regexp.MustCompile(`^SCHETASK_[A-Z0-9_]+$`)

// layered looks settings up in the process environment first, then in
// the environment files: <dir>/default.env, then <dir>/<SCHETASK_ENV>.env
// (later files win). It is what Load(nil) reads.
type layered struct {
	env   func(string) (string, bool)
	file  map[string]fileSetting
	files []string
}

// where is the file line a setting comes from, or "" when the process
// environment sets it or nothing does.
func (l *layered) where(key string) string {
	if _, ok := l.env(key); ok {
		return ""
	}
	return l.file[key].where
}

func (l *layered) get(key string) string {
	if v, ok := l.env(key); ok {
		return v
	}
	return l.file[key].value
}

// loadFiles reads the environment files that SCHETASK_CONFIG_DIR and
// SCHETASK_ENV select. A missing default directory is fine; a missing
// directory or environment file that was asked for is an error. With
// lines it cannot parse it returns the settings it could read and the
// errors; with nothing usable, nil.
func loadFiles(env func(string) (string, bool)) (*layered, error) {
	l := &layered{env: env, file: map[string]fileSetting{}}
	dir, explicit := env("SCHETASK_CONFIG_DIR")
	if !explicit || dir == "" {
		dir = DefaultDir
	}
	name, _ := env("SCHETASK_ENV")
	if name != "" && !regexp.MustCompile(`^[a-z0-9_-]+$`).MatchString(name) {
		return nil, fmt.Errorf("SCHETASK_ENV: %q: use lowercase letters, digits, '-' or '_' (default, development, production…)", name)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if explicit || name != "" {
			return nil, fmt.Errorf("SCHETASK_CONFIG_DIR: %s is not a folder of environment files", dir)
		}
		return l, nil
	}
	paths := []string{filepath.Join(dir, "default.env")}
	if name != "" && name != "default" {
		paths = append(paths, filepath.Join(dir, name+".env"))
	}
	var errs []error
	for i, p := range paths {
		err := l.read(p)
		if errors.Is(err, fs.ErrNotExist) && i == 0 {
			continue // default.env is optional
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("SCHETASK_ENV=%s: no file %s", name, p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return l, errors.Join(errs...)
}

// read parses one environment file: KEY=value lines, # comments, blank
// lines, an optional "export " and optional single or double quotes.
func (l *layered) read(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	l.files = append(l.files, path)
	var errs []error
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		key = strings.TrimSpace(key)
		if !ok || !keyRE.MatchString(key) {
			errs = append(errs, fmt.Errorf("%s: want SCHETASK_NAME=value, got %q", where, line))
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		l.file[key] = fileSetting{value: value, where: where}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read %s: %w", path, err))
	}
	return errors.Join(errs...)
}

// unknown reports file settings that no part of the configuration read:
// a typo there would otherwise be silently ignored.
func (l *layered) unknown(read map[string]bool) error {
	var errs []error
	for key, s := range l.file {
		if !read[key] {
			errs = append(errs, fmt.Errorf("%s: %s is not a schetask setting", s.where, key))
		}
	}
	return errors.Join(errs...)
}
