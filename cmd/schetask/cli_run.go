package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/schetask/schetask/apiclient"
	"github.com/schetask/schetask/tasktype"
)

// How long `run --wait` keeps asking an API that does not answer before
// it gives up on the run's result (the run goes on without it).
const waitGiveUp = 2 * time.Minute

func newRunCommand(c *cli) *cobra.Command {
	var params []string
	var wait, follow bool
	cmd := &cobra.Command{
		Use:               "run <task>",
		ValidArgsFunction: c.completeTasks,
		Short:             "start a run of a task now, and with --wait its result",
		Long: `Start a run of a task now, as the console's "Run now" does.

--param name=value sets a parameter the task declares (repeat it for more);
the value is everything after the first '=', passed as is, never through a
shell. --wait waits for the run's end and exits with its exit code: the
task's own, or schetask's reserved one as recorded on the run (92 killed,
93 timed out, 94 lost…). With retries, the last attempt's. --follow also
writes the run's log to stdout as it grows (it implies --wait).

Exit 97 means the run could not start (refused, no such task or schedule,
the API did not answer); 2 a mistake in the command line.`,
		Example: `  schetask run gold
  schetask run gold --wait --follow
  schetask run report --param day=2026-11-01 --param 'title=a; b' --wait`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			given, err := parseParams(params)
			if err != nil {
				return err
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			return c.run(cmd.Context(), api, a[0], given, wait || follow, follow)
		},
	}
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "a parameter as name=value (repeatable)")
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "wait for the run's end and exit with its exit code")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "write the run's log to stdout as it grows (implies --wait)")
	return cmd
}

// parseParams reads --param name=value flags: the name is what comes
// before the first '=', the value all after it, verbatim.
func parseParams(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, usageError("--param %q: want name=value", f)
		}
		if _, dup := out[name]; dup {
			return nil, usageError("--param %s given twice", name)
		}
		out[name] = value
	}
	return out, nil
}

// run starts a run of task and, with wait, returns its exit code as an
// *exitError (nil for 0).
func (c *cli) run(ctx context.Context, api *apiclient.Client, task string, params map[string]string, wait, follow bool) error {
	wf, err := api.RunTask(ctx, task, params)
	if err != nil {
		return &exitError{code: tasktype.ExitNotStarted, err: fmt.Errorf("run %s could not start: %w", task, withHint(err))}
	}
	if !wait {
		if c.json {
			return c.printJSON(map[string]string{"workflow_id": wf})
		}
		fmt.Fprintf(c.out, "started %s: %s\n", task, wf)
		return nil
	}
	fmt.Fprintf(c.errw, "started %s: %s\n", task, wf)
	logOut := c.out
	if c.json {
		logOut = c.errw // stdout is the fire's JSON
	}
	fire, err := c.waitFire(ctx, api, wf, follow, logOut)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: fmt.Errorf("stopped waiting; the run goes on (%s)", wf)}
		}
		return apiFailure(fmt.Errorf("wait for %s: %w", wf, err))
	}
	code := fireExitCode(fire)
	if c.json {
		if err := c.printJSON(fire); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.errw, fireSummary(fire, code))
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// waitFire waits until the fire is done; with follow it writes each
// attempt's log to w as it grows, oldest attempt first.
func (c *cli) waitFire(ctx context.Context, api *apiclient.Client, wf string, follow bool, w io.Writer) (apiclient.Fire, error) {
	streamed := map[int64]bool{}
	// Following, the long poll is short: a retry's next attempt should be
	// streamed as it starts.
	poll := 30 * time.Second
	if follow {
		poll = 2 * time.Second
	}
	var failingSince time.Time
	for {
		asked := time.Now()
		fire, err := api.GetFire(ctx, wf, poll)
		if err != nil {
			if ctx.Err() != nil || !transient(err) {
				return fire, err
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
				fmt.Fprintf(c.errw, "schetask: %v; trying again\n", err)
			}
			if time.Since(failingSince) > waitGiveUp {
				return fire, fmt.Errorf("no answer for %s: %w", waitGiveUp, err)
			}
			if err := sleepCtx(ctx, time.Second); err != nil {
				return fire, err
			}
			continue
		}
		failingSince = time.Time{}
		if follow {
			streamedOne := false
			for _, r := range attemptsInOrder(fire.Runs) {
				if streamed[r.ID] {
					continue
				}
				streamed[r.ID] = true
				streamedOne = true
				if len(streamed) > 1 {
					fmt.Fprintf(c.errw, "--- attempt %d (run %d) ---\n", r.Attempt, r.ID)
				}
				if _, err := api.StreamLog(ctx, r.ID, w, apiclient.StreamOptions{}); err != nil {
					if ctx.Err() != nil {
						return fire, ctx.Err()
					}
					fmt.Fprintf(c.errw, "schetask: run %d's log: %v\n", r.ID, err)
				}
			}
			if streamedOne {
				continue // ask again: the fire has moved on meanwhile
			}
		}
		if fire.Done {
			return fire, nil
		}
		// A server that answers at once (no long poll) is not asked in a loop.
		if time.Since(asked) < 250*time.Millisecond {
			if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
				return fire, err
			}
		}
	}
}

// attemptsInOrder are runs by attempt, then ID.
func attemptsInOrder(runs []apiclient.Run) []apiclient.Run {
	out := slices.Clone(runs)
	slices.SortFunc(out, func(a, b apiclient.Run) int {
		return cmp.Or(cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// transient reports whether an error asking the API may pass by itself:
// no connection, or the server (or a proxy) busy or restarting.
func transient(err error) bool {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return true // the request did not get an answer
}

// fireExitCode is the exit code `run --wait` ends with: the last
// attempt's recorded one; 0 for a success without one; ExitNotStarted
// when the fire ended without ever starting a run.
func fireExitCode(f apiclient.Fire) int {
	if f.ExitCode != nil {
		return *f.ExitCode
	}
	if r, ok := f.Newest(); ok && r.ExitCode != nil {
		return *r.ExitCode
	}
	switch {
	case f.Status == tasktype.RunSucceeded:
		return 0
	case len(f.Runs) == 0:
		return tasktype.ExitNotStarted
	}
	return exitAPIError
}

// fireSummary is the line `run --wait` ends with, on stderr.
func fireSummary(f apiclient.Fire, code int) string {
	status := string(f.Status)
	if status == "" {
		status = "ended"
	}
	if r, ok := f.Newest(); ok {
		s := fmt.Sprintf("%s: %s, exit %d (run %d, attempt %d, %s)", f.Task, status, code, r.ID, r.Attempt, durationText(r))
		if r.Error != "" {
			s += ": " + r.Error
		}
		return s
	}
	return fmt.Sprintf("%s: %s without a run, exit %d", f.Task, status, code)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
