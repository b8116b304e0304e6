package main

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/schetask/schetask/apiclient"
	"github.com/schetask/schetask/tasktype"
)

// Every command main had before the CLI stays main's; every CLI command
// reaches the CLI, and none shadows a service.
func TestCommandsGoWhereTheyDid(t *testing.T) {
	t.Parallel()
	for _, name := range append(slices.Collect(maps.Keys(commands)), "healthcheck", "notify", "publish") {
		if isCLICommand([]string{name}) {
			t.Errorf("%s goes to the CLI; main ran it before", name)
		}
	}
	if isCLICommand(nil) {
		t.Error("no arguments goes to the CLI; main prints its usage")
	}
	root := newRootCommand(&cli{getenv: func(string) string { return "" }})
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if !isCLICommand([]string{sub.Name()}) {
			t.Errorf("CLI command %s is a command of main's", sub.Name())
		}
	}
	for _, name := range []string{"task", "run", "kill", "pause", "resume", "backfill", "runs", "logs", "completion", "__complete", "--help"} {
		if !isCLICommand([]string{name}) {
			t.Errorf("%s does not reach the CLI", name)
		}
	}
}

func TestParamsSplitAtTheFirstEquals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		flags   []string
		want    map[string]string
		wantErr bool
	}{
		{desc: "none", flags: nil, want: nil},
		{desc: "value with '='", flags: []string{"q=a=b"}, want: map[string]string{"q": "a=b"}},
		{desc: "empty value", flags: []string{"q="}, want: map[string]string{"q": ""}},
		{desc: "shell metacharacters verbatim", flags: []string{`t=a; rm -rf / $(id) "x" 'y' *`},
			want: map[string]string{"t": `a; rm -rf / $(id) "x" 'y' *`}},
		{desc: "no '='", flags: []string{"q"}, wantErr: true},
		{desc: "no name", flags: []string{"=v"}, wantErr: true},
		{desc: "twice", flags: []string{"q=1", "q=2"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := parseParams(tt.flags)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFireExitCode(t *testing.T) {
	t.Parallel()
	code := func(n int) *int { return &n }
	tests := []struct {
		desc string
		fire apiclient.Fire
		want int
	}{
		{"the last attempt's code", apiclient.Fire{Done: true, Status: tasktype.RunFailed, ExitCode: code(101),
			Runs: []apiclient.Run{{ID: 1, Attempt: 1, ExitCode: code(3)}, {ID: 2, Attempt: 2, ExitCode: code(101)}}}, 101},
		{"killed", apiclient.Fire{Done: true, Status: tasktype.RunKilled, ExitCode: code(tasktype.ExitKilled),
			Runs: []apiclient.Run{{ID: 1, Attempt: 1}}}, tasktype.ExitKilled},
		{"success without a code", apiclient.Fire{Done: true, Status: tasktype.RunSucceeded, Runs: []apiclient.Run{{ID: 1, Attempt: 1}}}, 0},
		{"no run ever started", apiclient.Fire{Done: true}, tasktype.ExitNotStarted},
		{"the newest run's code when the fire has none", apiclient.Fire{Done: true, Status: tasktype.RunFailed,
			Runs: []apiclient.Run{{ID: 4, Attempt: 2, ExitCode: code(7)}, {ID: 3, Attempt: 1, ExitCode: code(9)}}}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := fireExitCode(tt.fire); got != tt.want {
				t.Errorf("exit %d, want %d", got, tt.want)
			}
		})
	}
}

// TestBackfillDatesNameWholeDays: --from with a date is its midnight,
// --to with a date takes in the whole day; an RFC 3339 time is as given.
func TestBackfillDatesNameWholeDays(t *testing.T) {
	for _, tt := range []struct {
		in       string
		endOfDay bool
		want     string
	}{
		{"2026-11-25", false, "2026-11-25T00:00:00Z"},
		{"2026-11-25", true, "2026-11-25T23:59:59Z"},
		{"2026-11-25T06:00:00Z", true, "2026-11-25T06:00:00Z"},
		{"2026-11-25T06:00:00+08:00", false, "2026-11-24T22:00:00Z"},
	} {
		got, err := parseTimeFlag("--to", tt.in, tt.endOfDay)
		if err != nil || got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("%s (end of day %v): %v, %v; want %s", tt.in, tt.endOfDay, got, err, tt.want)
		}
	}
	if _, err := parseTimeFlag("--to", "yesterday", true); err == nil {
		t.Error("yesterday read as a time")
	}
}
