package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadWith is Load(nil) with env as the process environment:
// loadFiles takes the lookup, so tests need not touch the real environment.
func loadWith(t *testing.T, env map[string]string) (Config, error) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	files, err := loadFiles(lookup)
	if files == nil {
		return Config{}, err
	}
	c, lerr := loadLayered(files)
	if err != nil || lerr != nil {
		return Config{}, errors.Join(err, lerr)
	}
	return c, nil
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEnvironmentFilesLayerUnderTheEnvironment(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"default.env":    "# shared\nSCHETASK_KILL_GRACE=7s\nSCHETASK_TASK_QUEUE=base\nexport SCHETASK_LISTEN=\"127.0.0.1:9000\"\n",
		"production.env": "SCHETASK_TASK_QUEUE=prod\nSCHETASK_WORKER_DRAIN='45s'\n",
	})
	c, err := loadWith(t, map[string]string{"SCHETASK_CONFIG_DIR": dir, "SCHETASK_ENV": "production",
		"SCHETASK_KILL_GRACE": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.KillGrace != 3*time.Second || c.TaskQueue != "prod" || c.WorkerDrain != 45*time.Second || c.ListenAddr != "127.0.0.1:9000" || c.Env != "production" {
		t.Errorf("layered config: grace %s (env wins), queue %q (production.env wins), drain %s, listen %q, env %q",
			c.KillGrace, c.TaskQueue, c.WorkerDrain, c.ListenAddr, c.Env)
	}
	if len(c.Files) != 2 {
		t.Errorf("files read: %v", c.Files)
	}
}

func TestEnvironmentFileErrorsSayWhereAndWhy(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"default.env":    "SCHETASK_KILL_GRACE=soon\nSCHETASK_KILL_GRAEC=5s\nnot a setting\nPATH=/bin\n",
		"production.env": "SCHETASK_LISTEN=0.0.0.0:8080\n",
	})
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"bad lines", map[string]string{"SCHETASK_CONFIG_DIR": dir},
			[]string{"default.env:1: SCHETASK_KILL_GRACE: \"soon\" is not a duration", "default.env:2: SCHETASK_KILL_GRAEC is not a schetask setting",
				"default.env:3: want SCHETASK_NAME=value", "default.env:4: want SCHETASK_NAME=value"}},
		{"unknown environment", map[string]string{"SCHETASK_CONFIG_DIR": writeFiles(t, nil), "SCHETASK_ENV": "staging"},
			[]string{"SCHETASK_ENV=staging: no file", "staging.env"}},
		{"missing folder", map[string]string{"SCHETASK_CONFIG_DIR": "/nonexistent/config"},
			[]string{"SCHETASK_CONFIG_DIR: /nonexistent/config is not a folder"}},
		{"bad environment name", map[string]string{"SCHETASK_CONFIG_DIR": dir, "SCHETASK_ENV": "../etc"},
			[]string{"SCHETASK_ENV: \"../etc\""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadWith(t, tt.env)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestShippedEnvironmentFilesLoad: the repository's deploy/config files
// load for each environment, and every setting default.env documents (its
// commented lines, uncommented) is one schetask reads.
func TestShippedEnvironmentFilesLoad(t *testing.T) {
	t.Parallel()
	shipped := filepath.Join("..", DefaultDir)
	for _, env := range []string{"", "development", "production"} {
		if _, err := loadWith(t, map[string]string{"SCHETASK_CONFIG_DIR": shipped, "SCHETASK_ENV": env}); err != nil {
			t.Errorf("SCHETASK_ENV=%q: %v", env, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(shipped, "default.env"))
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "# SCHETASK_"); ok {
			key, _, _ := strings.Cut(rest, "=")
			all = append(all, "SCHETASK_"+key+"=")
		}
	}
	if len(all) < 45 {
		t.Fatalf("default.env documents %d settings; expected every one", len(all))
	}
	dir := writeFiles(t, map[string]string{"default.env": strings.Join(all, "\n")})
	if _, err := loadWith(t, map[string]string{"SCHETASK_CONFIG_DIR": dir}); err != nil {
		t.Errorf("a setting default.env documents is not read: %v", err)
	}
}

func TestAdminPasswordAndTemporalTLSSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(func(k string) string {
		return map[string]string{"SCHETASK_ADMIN_PASSWORD": "first admin pw", "SCHETASK_TEMPORAL_API_KEY": "k"}[k]
	})
	if err != nil || c.AdminPassword.Reveal() != "first admin pw" || c.TemporalAPIKey.Reveal() != "k" {
		t.Errorf("admin password %q, api key set %v, %v", c.AdminPassword.Reveal(), c.TemporalAPIKey.Reveal() != "", err)
	}
	_, err = Load(func(k string) string {
		return map[string]string{"SCHETASK_TEMPORAL_TLS_CERT": "/nonexistent/cert.pem"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "set both for mTLS") || !strings.Contains(err.Error(), "SCHETASK_TEMPORAL_TLS_CERT: stat /nonexistent/cert.pem") {
		t.Errorf("cert without key: %v", err)
	}
}
