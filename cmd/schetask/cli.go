package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/schetask/schetask/apiclient"
)

// The CLI's exit codes besides a run's own (see `schetask run --wait`).
const (
	exitAPIError = 1
	exitUsage    = 2
)

// helperCommands are the commands main runs itself besides those of
// its commands map: the container health check and the helpers tasks
// call. They, the services, and no arguments at all keep main's own
// handling; everything else goes to the CLI.
var helperCommands = map[string]bool{"healthcheck": true, "notify": true, "publish": true}

// isCLICommand reports whether main should hand args to the CLI.
func isCLICommand(args []string) bool {
	if len(args) == 0 || helperCommands[args[0]] {
		return false
	}
	_, service := commands[args[0]]
	return !service
}

// exitError ends the CLI with code after printing its message, if any.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in the command line: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// cli is one invocation's settings and output.
type cli struct {
	url, token string
	json       bool
	out, errw  io.Writer
	// getenv reads SCHETASK_URL and SCHETASK_TOKEN.
	getenv func(string) string
}

// client is the API client the flags and environment describe.
func (c *cli) client() (*apiclient.Client, error) {
	url, token := c.url, c.token
	if url == "" {
		url = c.getenv("SCHETASK_URL")
	}
	if token == "" {
		token = c.getenv("SCHETASK_TOKEN")
	}
	if url == "" {
		return nil, usageError("no console address: set SCHETASK_URL or --url (e.g. http://localhost:8080)")
	}
	if token == "" {
		return nil, usageError("no API token: set SCHETASK_TOKEN or --token (create one on the console's tokens page)")
	}
	return &apiclient.Client{BaseURL: url, Token: token}, nil
}

// printJSON writes v as indented JSON.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func (c *cli) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// runCLI runs the API commands (task, run, kill, pause, resume, backfill,
// runs, logs, completion) and returns the process's exit code.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{out: stdout, errw: stderr, getenv: getenv}
	root := newRootCommand(c)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "schetask: %v\n", ee.err)
		}
		if ee.code == exitUsage {
			fmt.Fprintln(stderr, "(see schetask --help)")
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "schetask: %v\n", err)
	if isCobraUsage(err) {
		fmt.Fprintln(stderr, "(see schetask --help)")
		return exitUsage
	}
	return exitAPIError
}

// isCobraUsage reports whether err is cobra's own complaint about the
// command line (an unknown command or flag) rather than a command's.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "required flag", "accepts ", "requires at least", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// newRootCommand is `schetask` as the CLI sees it.
func newRootCommand(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "schetask",
		Short: "schetask: batch tasks on Temporal; this is its command-line client of the console's API",
		Long: `schetask runs batch tasks on Temporal. These commands use the console's REST API
(SCHETASK_URL, SCHETASK_TOKEN or --url, --token); --json prints what the API
answered, for scripts.

The services and the helpers inside tasks are commands of the same binary:
  dev, all, worker, sync, web, migrate, healthcheck <url>, notify, publish
(run "schetask" alone for their usage).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No command: the services' usage is in Long; show the help.
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.PersistentFlags().StringVar(&c.url, "url", "", "the console's address (default $SCHETASK_URL)")
	root.PersistentFlags().StringVar(&c.token, "token", "", "an API token (default $SCHETASK_TOKEN)")
	root.PersistentFlags().BoolVar(&c.json, "json", false, "print JSON, for scripts")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: exitUsage, err: err} })
	root.AddCommand(newTaskCommand(c), newRunCommand(c), newKillCommand(c), newPauseCommand(c),
		newResumeCommand(c), newBackfillCommand(c), newRunsCommand(c), newLogsCommand(c))
	return root
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), err)}
		}
		return nil
	}
}

// apiFailure is an API error as the CLI reports it: exit 1, with a hint
// for the errors a person can fix at once.
func apiFailure(err error) error {
	return &exitError{code: exitAPIError, err: withHint(err)}
}

// withHint adds to err what a person can do about it, when that is
// clear: the console not reached, the token refused or too weak.
func withHint(err error) error {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			return fmt.Errorf("%w (is the token, SCHETASK_TOKEN or --token, valid and unrevoked?)", err)
		case http.StatusForbidden:
			return fmt.Errorf("%w (the token's role does not allow this)", err)
		}
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && !ue.Timeout() && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w (is the console running there? SCHETASK_URL or --url says where)", err)
	}
	return err
}

// timeText prints a time for people, in UTC.
func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// exitText prints an exit code, or "-".
func exitText(code *int) string {
	if code == nil {
		return "-"
	}
	return fmt.Sprint(*code)
}

// durationText is how long a run took (or has been going).
func durationText(r apiclient.Run) string {
	if r.StartTime.IsZero() {
		return "-"
	}
	end := time.Now()
	if r.EndTime != nil {
		end = *r.EndTime
	}
	d := end.Sub(r.StartTime)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// completeTasks completes a task name from the API, when SCHETASK_URL and
// SCHETASK_TOKEN (or the flags) reach one; else it offers nothing.
func (c *cli) completeTasks(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	api, err := c.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	tasks, err := api.ListTasks(ctx, apiclient.TaskQuery{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, len(tasks))
	for i, t := range tasks {
		names[i] = t.Name
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
