package webui_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

func ptr[T any](v T) *T { return &v }

// formField matches a form's input named name holding value.
func formField(name, value string) *regexp.Regexp {
	return regexp.MustCompile(`<input name="` + regexp.QuoteMeta(name) + `"[^>]* value="` + regexp.QuoteMeta(htmlEscape(value)) + `"`)
}

// show prints an optional setting for a test message.
func show[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestTaskFormIsolationFields: run-as and the limits are checked by the
// server (a bad value comes back with its field's error and nothing is
// saved), good values reach the database as typed, blank is NULL (the
// worker's default) and 0 is no limit; an edit's before and after are
// audited, and the task page lists the settings.
func TestTaskFormIsolationFields(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)

	for _, tt := range []struct{ field, value, want string }{
		{"run_as", "Root", `invalid user name "Root"`},
		{"run_as", "ops team", `invalid user name "ops team"`},
		{"run_as", "-x", `invalid user name "-x"`},
		{"memory_limit_mb", "-5", "memory limit -5 MiB: use 0 (none) or 16 to 1048576"},
		{"memory_limit_mb", "8", "memory limit 8 MiB: use 0 (none) or 16 to 1048576"},
		{"memory_limit_mb", "99999999999", "memory limit 99999999999 MiB"},
		{"memory_limit_mb", "1.5", `"1.5" is not a whole number of MiB`},
		{"memory_limit_mb", "lots", `"lots" is not a whole number of MiB`},
		{"cpu_limit", "-1", "CPU limit -1 cores: use 0 (none) or 0.01 to 1024"},
		{"cpu_limit", "0.001", "CPU limit 0.001 cores"},
		{"cpu_limit", "5000", "CPU limit 5000 cores"},
		{"cpu_limit", "Inf", "Inf cores: use 0 (none) or 0.01 to 1024"},
		{"cpu_limit", "NaN", `"NaN" is not a number of cores`},
		{"cpu_limit", "two", `"two" is not a number of cores`},
		{"pids_limit", "-1", "pids limit -1: use 0 (none) or 8 to 4194304"},
		{"pids_limit", "4", "pids limit 4: use 0 (none) or 8 to 4194304"},
		{"pids_limit", "99999999", "pids limit 99999999"},
		{"pids_limit", "many", `"many" is not a whole number of processes`},
	} {
		form := taskFormValues(admin, "/create", "name", "lead", "rule", "*/5 * * * * *")
		form.Set(tt.field, tt.value)
		code, body, _ := admin.do("POST", "/create", form)
		if code != 422 || !strings.Contains(body, htmlEscape(tt.want)) {
			t.Errorf("%s=%q: %d, want 422 saying %q", tt.field, tt.value, code, tt.want)
		}
		// The form comes back with what was typed, to correct it.
		if !formField(tt.field, tt.value).MatchString(body) {
			t.Errorf("%s=%q: the form does not keep the value typed", tt.field, tt.value)
		}
	}
	if _, err := env.Store.GetTask(ctx, "lead"); err == nil {
		t.Fatal("an invalid isolation setting created the task")
	}

	for _, tt := range []struct {
		desc, task           string
		runAs, mem, cpu, pid string // as typed
		wantRunAs            string
		wantMem, wantPids    *int
		wantCPU              *float64
		wantPage             []string // the task page's settings
	}{
		{desc: "blank is the worker's default", task: "blank",
			wantPage: []string{"<dt>run as</dt><dd>default</dd>", "<dt>memory limit</dt><dd>default</dd>",
				"<dt>CPU limit</dt><dd>default</dd>", "<dt>process limit</dt><dd>default</dd>"}},
		{desc: "set", task: "set", runAs: "batch_2", mem: "512", cpu: "0.5", pid: "64",
			wantRunAs: "batch_2", wantMem: ptr(512), wantCPU: ptr(0.5), wantPids: ptr(64),
			wantPage: []string{"<dt>run as</dt><dd>batch_2</dd>", "<dt>memory limit</dt><dd>512 MiB</dd>",
				"<dt>CPU limit</dt><dd>0.5 cores</dd>", "<dt>process limit</dt><dd>64 processes</dd>"}},
		{desc: "0 is no limit", task: "zero", mem: "0", cpu: "0", pid: "0",
			wantMem: ptr(0), wantCPU: ptr(0.0), wantPids: ptr(0),
			wantPage: []string{"<dt>memory limit</dt><dd>no limit</dd>", "<dt>CPU limit</dt><dd>no limit</dd>",
				"<dt>process limit</dt><dd>no limit</dd>"}},
		{desc: "the bounds themselves", task: "edges", mem: "16", cpu: "1024", pid: "4194304",
			wantMem: ptr(16), wantCPU: ptr(1024.0), wantPids: ptr(4194304)},
		{desc: "spaces around", task: "spaced", runAs: " batch ", mem: " 1048576 ", cpu: " 0.01 ", pid: " 8 ",
			wantRunAs: "batch", wantMem: ptr(1048576), wantCPU: ptr(0.01), wantPids: ptr(8)},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			code, body, _ := admin.do("POST", "/create", taskFormValues(admin, "/create", "name", tt.task, "rule", "*/5 * * * * *",
				"run_as", tt.runAs, "memory_limit_mb", tt.mem, "cpu_limit", tt.cpu, "pids_limit", tt.pid))
			if code != 303 {
				t.Fatalf("create: %d\n%s", code, body)
			}
			got, err := env.Store.GetTask(ctx, tt.task)
			if err != nil {
				t.Fatal(err)
			}
			if got.RunAs != tt.wantRunAs || show(got.MemoryLimitMB) != show(tt.wantMem) ||
				show(got.CPULimit) != show(tt.wantCPU) || show(got.PidsLimit) != show(tt.wantPids) {
				t.Errorf("saved run_as %q, memory %s, cpu %s, pids %s; want %q, %s, %s, %s",
					got.RunAs, show(got.MemoryLimitMB), show(got.CPULimit), show(got.PidsLimit),
					tt.wantRunAs, show(tt.wantMem), show(tt.wantCPU), show(tt.wantPids))
			}
			_, page, _ := admin.do("GET", "/tasks/"+tt.task, nil)
			for _, want := range tt.wantPage {
				if !strings.Contains(page, want) {
					t.Errorf("task page lacks %q", want)
				}
			}
			// The edit form shows what is saved: saving it unchanged keeps it.
			_, edit, _ := admin.do("GET", "/tasks/"+tt.task+"/edit", nil)
			for field, value := range map[string]string{"run_as": tt.runAs, "memory_limit_mb": tt.mem, "cpu_limit": tt.cpu, "pids_limit": tt.pid} {
				if !formField(field, strings.TrimSpace(value)).MatchString(edit) {
					t.Errorf("edit form lacks %s=%q", field, strings.TrimSpace(value))
				}
			}
		})
	}

	// An edit audits each isolation setting's before and after.
	_, edit, _ := admin.do("GET", "/tasks/set/edit", nil)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(edit)
	if version == nil {
		t.Fatal("the edit form has no version")
	}
	form := taskFormValues(admin, "/tasks/set/edit", "rule", "*/5 * * * * *", "version", version[1],
		"run_as", "", "memory_limit_mb", "", "cpu_limit", "2", "pids_limit", "0")
	if code, body, _ := admin.do("POST", "/tasks/set/edit", form); code != 303 {
		t.Fatalf("edit: %d\n%s", code, body)
	}
	task, err := env.Store.GetTask(ctx, "set")
	if err != nil || task.RunAs != "" || task.MemoryLimitMB != nil || show(task.CPULimit) != "2" || show(task.PidsLimit) != "0" {
		t.Errorf("edited task: run_as %q, memory %s, cpu %s, pids %s, %v; want \"\", nil, 2, 0",
			task.RunAs, show(task.MemoryLimitMB), show(task.CPULimit), show(task.PidsLimit), err)
	}
	_, page, _ := admin.do("GET", "/tasks/set", nil)
	for _, want := range []string{
		"<td>cpu_limit</td><td><code>0.5</code></td><td><code>2</code></td>",
		"<td>memory_limit_mb</td><td><code>512</code></td><td><code>—</code></td>",
		"<td>pids_limit</td><td><code>64</code></td><td><code>0</code></td>",
		"<td>run_as</td><td><code>&#34;batch_2&#34;</code></td><td><code>&#34;&#34;</code></td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("task page lacks the audit row %q", want)
		}
	}
	audit, err := env.Store.TaskAudit(ctx, "set", 1)
	if err != nil || len(audit) != 1 || audit[0].Before["memory_limit_mb"] != float64(512) || audit[0].After["cpu_limit"] != float64(2) {
		t.Errorf("edit audit: %+v, %v", audit, err)
	}
}

// TestRunPageShowsIsolationAndUsage: the run page says how the run was
// contained and what it used, in people's units, with "—" for what the
// host could not tell; an out-of-memory kill says why.
func TestRunPageShowsIsolationAndUsage(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	for _, tt := range []struct {
		desc      string
		isolation string
		usage     tasktype.Usage
		exitCode  int
		errorText string
		want      []string
	}{
		{desc: "everything known", isolation: "cgroup2 user=schetask-task",
			usage: tasktype.Usage{CPUUserSeconds: ptr(1.25), CPUSystemSeconds: ptr(0.5), PeakMemoryBytes: ptr[int64](64172851),
				IOReadBytes: ptr[int64](3 << 20), IOWriteBytes: ptr[int64](512)},
			want: []string{`<dd id="isolation">cgroup2 user=schetask-task</dd>`, `<dd id="cpu">1.75s (1.25s user, 0.50s system)</dd>`,
				`<dd id="memory">61.2 MiB</dd>`, `<dd id="io">3.0 MiB read, 512 B written</dd>`}},
		{desc: "out of memory, no I/O figures", isolation: "hybrid user=schetask-task", exitCode: tasktype.ExitOutOfMemory,
			errorText: "out of memory: limit 64 MiB, peak 64 MiB",
			usage:     tasktype.Usage{CPUUserSeconds: ptr(90.0), PeakMemoryBytes: ptr[int64](5 << 30)},
			want: []string{`<dd id="isolation">hybrid user=schetask-task</dd>`, `<dd id="cpu">1m30s (1m30s user, — system)</dd>`,
				`<dd id="memory">5.0 GiB</dd>`, `<dd id="io">— read, — written</dd>`,
				"exit code 96", "out of memory: limit 64 MiB, peak 64 MiB"}},
		{desc: "a run from before isolation", usage: tasktype.Usage{},
			want: []string{`<dd id="isolation">—</dd>`, `<dd id="cpu">—</dd>`, `<dd id="memory">—</dd>`, `<dd id="io">— read, — written</dd>`}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var id int64
			if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
				scheduled_time, end_time, status, exit_code, error) VALUES ('gold', $1, 'wf', $1, now(), now(), 'failed', $2, $3) RETURNING id`,
				tt.desc, tt.exitCode, tt.errorText).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if err := env.Store.SetRunIsolation(ctx, id, tt.isolation); err != nil {
				t.Fatal(err)
			}
			if err := env.Store.SetRunUsage(ctx, id, tt.usage); err != nil {
				t.Fatal(err)
			}
			code, page, _ := b.do("GET", "/runs/"+itoa(id), nil)
			if code != 200 {
				t.Fatalf("run page: %d", code)
			}
			for _, want := range tt.want {
				if !strings.Contains(page, want) {
					t.Errorf("run page lacks %q", want)
				}
			}
		})
	}
}

var (
	chartSVG = regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`)
	chartBar = regexp.MustCompile(`<a href="/runs/(\d+)"><rect [^>]*fill="(#[0-9a-f]{6})"><title>([^<]*)</title></rect></a>`)
)

// TestTaskPageChartsDurationCPUAndMemory: the task page charts its runs'
// duration, CPU time and peak memory side by side; each bar has its
// run's outcome colour and links to it, a run without the figure has no
// bar, and the charts need neither script nor inline style.
func TestTaskPageChartsDurationCPUAndMemory(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "*/10 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip}); err != nil {
		t.Fatal(err)
	}
	// Oldest first: a success that used 2 s of CPU and 61.2 MiB, a failure
	// with no figures, one still running.
	runs := []struct {
		status string
		usage  tasktype.Usage
	}{
		{"succeeded", tasktype.Usage{CPUUserSeconds: ptr(1.5), CPUSystemSeconds: ptr(0.5), PeakMemoryBytes: ptr[int64](64172851)}},
		{"failed", tasktype.Usage{}},
		{"running", tasktype.Usage{}},
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		var id int64
		if err := env.Store.Pool().QueryRow(ctx, `INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id,
			scheduled_time, start_time, end_time, status)
			VALUES ('gold', $1, 'wf', $1, now(), now() - interval '1 minute' + $2 * interval '10 second',
				CASE WHEN $3 = 'running' THEN NULL ELSE now() - interval '1 minute' + $2 * interval '10 second' + interval '2.5 second' END,
				$3) RETURNING id`, fmt.Sprint("v", i), i, r.status).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if err := env.Store.SetRunUsage(ctx, id, r.usage); err != nil {
			t.Fatal(err)
		}
		ids[i] = itoa(id)
	}
	green, red, blue := "#2a8a3e", "#c0392b", "#2980b9"

	b := newBrowser(t, console(t, env))
	if b.login("vera", "viewer password") != 303 {
		t.Fatal("login failed")
	}
	_, page, _ := b.do("GET", "/tasks/gold", nil)
	charts := chartSVG.FindAllString(page, -1)
	if len(charts) != 3 || !strings.Contains(page, `<div class="charts"><svg class="chart"`) {
		t.Fatalf("task page has %d charts, want 3 in a row:\n%s", len(charts), page)
	}
	for i, tt := range []struct {
		head string
		bars []string // run id and colour, oldest first
		tip  string   // in the first bar's tooltip
	}{
		{"duration, highest", []string{ids[0] + green, ids[1] + red, ids[2] + blue}, "duration 2.5s"},
		{"CPU time, highest 2.00s", []string{ids[0] + green}, "CPU time 2.00s"},
		{"peak memory, highest 61.2 MiB", []string{ids[0] + green}, "peak memory 61.2 MiB"},
	} {
		chart := charts[i]
		if !strings.Contains(chart, tt.head) {
			t.Errorf("chart %d lacks its head %q:\n%s", i, tt.head, chart)
		}
		var bars []string
		for _, m := range chartBar.FindAllStringSubmatch(chart, -1) {
			bars = append(bars, m[1]+m[2])
		}
		if strings.Join(bars, " ") != strings.Join(tt.bars, " ") {
			t.Errorf("chart %q bars (run, colour) %v, want %v", tt.head, bars, tt.bars)
		}
		if m := chartBar.FindStringSubmatch(chart); m == nil || !strings.Contains(m[3], tt.tip) {
			t.Errorf("chart %q: first bar's tooltip %v lacks %q", tt.head, m, tt.tip)
		}
		if strings.Contains(chart, "style") || strings.Contains(chart, "<script") {
			t.Errorf("chart %q needs inline style or script, which the CSP forbids", tt.head)
		}
	}
	if !strings.Contains(page, `<svg class="legend"`) || !strings.Contains(page, "succeeded 1") || !strings.Contains(page, "running 1") {
		t.Error("the charts lack their legend of outcomes")
	}
	if _, css, _ := b.do("GET", "/static/app.css", nil); !strings.Contains(css, ".charts{display:flex") {
		t.Error("app.css does not lay the charts out side by side")
	}
}

// loggedIn is a browser on a fresh console, logged in as a new user of role.
func loggedIn(t *testing.T, env *testenv.Env, name string, role webui.Role) *browser {
	t.Helper()
	addUser(t, env, name, name+" password", role)
	b := newBrowser(t, console(t, env))
	if b.login(name, name+" password") != 303 {
		t.Fatalf("%s could not log in", name)
	}
	return b
}
