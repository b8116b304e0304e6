// Package deploy checks the deployment files: docker-compose.yml, its
// .env.example, Prometheus's configuration and .dockerignore.
package deploy

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeService is what these checks read of a compose service.
type composeService struct {
	Image       string            `yaml:"image"`
	CapDrop     []string          `yaml:"cap_drop"`
	SecurityOpt []string          `yaml:"security_opt"`
	ReadOnly    bool              `yaml:"read_only"`
	Tmpfs       []string          `yaml:"tmpfs"`
	Environment map[string]string `yaml:"environment"`
	Entrypoint  []string          `yaml:"entrypoint"`
}

func readCompose(t *testing.T) (map[string]composeService, string) {
	t.Helper()
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	if len(file.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return file.Services, string(raw)
}

// schetaskServices are the services running the schetask image.
func schetaskServices(services map[string]composeService) []string {
	var names []string
	for name, s := range services {
		if s.Image == "schetask:latest" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Every schetask container runs without capabilities it was not given
// back by name, cannot gain privileges, and has a read-only root with
// /tmp in memory.
func TestComposeHardensEverySchetaskService(t *testing.T) {
	t.Parallel()
	services, _ := readCompose(t)
	names := schetaskServices(services)
	if want := []string{"console", "migrate", "sync", "worker"}; !slices.Equal(names, want) {
		t.Fatalf("schetask services = %v, want %v", names, want)
	}
	for _, name := range names {
		s := services[name]
		if !slices.Equal(s.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: cap_drop = %v, want [ALL]", name, s.CapDrop)
		}
		if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: security_opt = %v, want no-new-privileges:true", name, s.SecurityOpt)
		}
		if !s.ReadOnly {
			t.Errorf("%s: read_only is off", name)
		}
		if !slices.ContainsFunc(s.Tmpfs, func(m string) bool { return m == "/tmp" || strings.HasPrefix(m, "/tmp:") }) {
			t.Errorf("%s: tmpfs = %v, want /tmp", name, s.Tmpfs)
		}
	}
}

// secretsIn returns the settings of env that hold a secret: the ones
// config reads as secrets (r.secret), the database URL (it carries the
// password), and anything named like a credential.
func secretsIn(t *testing.T, env map[string]string) []string {
	t.Helper()
	files, err := filepath.Glob("../config/*.go")
	if err != nil {
		t.Fatal(err)
	}
	secret := map[string]bool{"SCHETASK_DATABASE_URL": true}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`r\.secret\("([A-Z0-9_]+)"\)`).FindAllStringSubmatch(string(src), -1) {
			secret[m[1]] = true
		}
	}
	if len(secret) < 5 {
		t.Fatalf("found %d secret settings in config/*.go; has r.secret changed?", len(secret))
	}
	credential := regexp.MustCompile(`(PASSWORD|PWD|SECRET|TOKEN|_KEY)$`)
	var found []string
	for key := range env {
		if secret[key] || credential.MatchString(key) {
			found = append(found, key)
		}
	}
	slices.Sort(found)
	return found
}

// Each container gets the secrets it uses and no other: the console no
// SMTP password, sync no alert channel (workers deliver alerts), migrate
// only the database.
func TestComposeGivesEachServiceOnlyItsSecrets(t *testing.T) {
	t.Parallel()
	services, _ := readCompose(t)
	channels := []string{"SCHETASK_SLACK_TOKEN", "SCHETASK_SLACK_WEBHOOK_URL", "SCHETASK_SMTP_PASSWORD", "SCHETASK_WEBHOOK_SECRET"}
	want := map[string][]string{
		"postgres":    {"POSTGRES_PASSWORD"},
		"temporal":    {"POSTGRES_PWD"},
		"temporal-ui": nil,
		"migrate":     {"SCHETASK_DATABASE_URL"},
		"sync":        {"SCHETASK_DATABASE_URL", "SCHETASK_METRICS_TOKEN"},
		"worker":      append([]string{"SCHETASK_DATABASE_URL", "SCHETASK_METRICS_TOKEN"}, channels...),
		"console":     {"SCHETASK_ADMIN_PASSWORD", "SCHETASK_DATABASE_URL", "SCHETASK_METRICS_TOKEN", "SCHETASK_OIDC_CLIENT_SECRET"},
		"prometheus":  {"SCHETASK_METRICS_TOKEN"},
		"grafana":     nil,
	}
	for name, s := range services {
		w, ok := want[name]
		if !ok {
			t.Errorf("service %s: not in this test's table; say which secrets it uses", name)
			continue
		}
		w = slices.Sorted(slices.Values(w))
		if got := secretsIn(t, s.Environment); !slices.Equal(got, w) {
			t.Errorf("service %s gets secrets %v, want %v", name, got, w)
		}
	}
}

// No secret falls back to a default: the required ones stop compose until
// .env sets them, the optional ones (alert channels, single sign-on) stay
// empty, and so off, when unset. .env.example names every required one
// with a placeholder, for `docker-compose --env-file deploy/.env.example
// config`.
func TestComposeSecretsHaveNoDefaults(t *testing.T) {
	t.Parallel()
	services, raw := readCompose(t)
	secrets := map[string]bool{}
	for _, s := range services {
		for _, key := range secretsIn(t, s.Environment) {
			secrets[key] = true
		}
	}
	ref := regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}`)
	required := map[string]bool{}
	for _, m := range ref.FindAllStringSubmatch(raw, -1) {
		name, op, arg := m[1], m[2], m[3]
		switch {
		case op == ":?" || op == "?":
			required[name] = true
		case (op == ":-" || op == "-") && arg != "" && (secrets[name] || strings.Contains(name, "PASSWORD")):
			t.Errorf("${%s%s%s}: a secret with a default", name, op, arg)
		}
	}
	for _, name := range []string{"POSTGRES_PASSWORD", "SCHETASK_ADMIN_PASSWORD", "SCHETASK_METRICS_TOKEN"} {
		if !required[name] {
			t.Errorf("%s: want ${%s:?…}, required", name, name)
		}
		if strings.Contains(raw, "${"+name+":-") || strings.Contains(raw, "${"+name+"}") {
			t.Errorf("%s: referenced somewhere without :?", name)
		}
	}
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(required)) {
		m := regexp.MustCompile(`(?m)^` + name + `=(.*)$`).FindStringSubmatch(string(example))
		if m == nil || !strings.Contains(m[1], "CHANGE-ME") {
			t.Errorf(".env.example: want %s=CHANGE-ME…, a placeholder nobody would keep", name)
		}
	}
}

// Prometheus sends the metrics token, from the file compose writes it to.
func TestPrometheusSendsTheMetricsToken(t *testing.T) {
	t.Parallel()
	services, _ := readCompose(t)
	raw, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			Authorization struct {
				Type            string `yaml:"type"`
				CredentialsFile string `yaml:"credentials_file"`
			} `yaml:"authorization"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &conf); err != nil {
		t.Fatalf("parse prometheus.yml: %v", err)
	}
	if len(conf.ScrapeConfigs) == 0 {
		t.Fatal("prometheus.yml: no scrape config")
	}
	entrypoint := strings.Join(services["prometheus"].Entrypoint, " ")
	for _, sc := range conf.ScrapeConfigs {
		a := sc.Authorization
		if a.Type != "Bearer" || a.CredentialsFile == "" {
			t.Errorf("job %s: authorization = %+v, want Bearer from a credentials file", sc.JobName, a)
			continue
		}
		if !strings.Contains(entrypoint, `"$$SCHETASK_METRICS_TOKEN" > `+a.CredentialsFile) {
			t.Errorf("job %s reads %s, which the prometheus service does not write the token to: %s", sc.JobName, a.CredentialsFile, entrypoint)
		}
	}
}

// The build context leaves out secrets, local data and build output.
func TestDockerignoreKeepsSecretsAndDataOut(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".env", ".data", "bin", "bench-results", "task/*/logs", "task/*/history"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// docker-compose accepts the file, with and without the monitoring
// profile, given .env.example's placeholders (the check `make test` runs).
func TestComposeConfigIsValid(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (make test-deps installs it)")
	}
	for _, profile := range [][]string{nil, {"--profile", "monitoring"}} {
		args := append([]string{"-f", "../docker-compose.yml", "--env-file", ".env.example"}, profile...)
		cmd := exec.Command(bin, append(args, "config", "-q")...)
		// Only the placeholders: nothing from the environment running the test.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker-compose %v config: %v\n%s", profile, err, out)
		}
	}
}
