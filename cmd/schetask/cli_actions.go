package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/schetask/schetask/apiclient"
)

func newKillCommand(c *cli) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:               "kill <task>",
		ValidArgsFunction: c.completeTasks,
		Short:             "kill the task's running runs",
		Args:              args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			n, err := api.Kill(cmd.Context(), a[0], reason)
			if err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]int{"killed": n})
			}
			fmt.Fprintf(c.out, "%s: %d running run(s) killed\n", a[0], n)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit and the run's error")
	return cmd
}

func newPauseCommand(c *cli) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:               "pause <task>",
		ValidArgsFunction: c.completeTasks,
		Short:             "stop the task's schedule from firing (runs going on go on)",
		Args:              args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			if err := api.Pause(cmd.Context(), a[0], note); err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]any{"task": a[0], "enabled": false, "status_note": note})
			}
			fmt.Fprintf(c.out, "%s paused\n", a[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why it is paused, shown on the task")
	return cmd
}

func newResumeCommand(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "resume <task>",
		ValidArgsFunction: c.completeTasks,
		Short:             "let the task's schedule fire again",
		Args:              args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			if err := api.Resume(cmd.Context(), a[0]); err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]any{"task": a[0], "enabled": true})
			}
			fmt.Fprintf(c.out, "%s resumed\n", a[0])
			return nil
		},
	}
}

func newBackfillCommand(c *cli) *cobra.Command {
	var from, to string
	var dryRun, taskOverlap bool
	cmd := &cobra.Command{
		Use:               "backfill <task> --from <time> --to <time>",
		ValidArgsFunction: c.completeTasks,
		Short:             "run every fire of the task's rule in a past range",
		Long: `Run every fire of the task's rule between --from and --to (RFC 3339 times, or
dates as 2026-11-01), each seeing its own nominal time as
SCHETASK_SCHEDULED_TIME: one at a time, in order, unless --task-overlap runs
them with the task's overlap policy. --dry-run says how many fires it would
start. The server refuses a range of more fires than SCHETASK_BACKFILL_MAX.`,
		Example: `  schetask backfill gold --from 2026-11-01T00:00:00Z --to 2026-11-01T06:00:00Z --dry-run`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			f, err := parseTimeFlag("--from", from, false)
			if err != nil {
				return err
			}
			t, err := parseTimeFlag("--to", to, true)
			if err != nil {
				return err
			}
			if t.Before(f) {
				return usageError("--to %s is before --from %s", to, from)
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			req := apiclient.BackfillRequest{From: f, To: t, DryRun: dryRun}
			if taskOverlap {
				req.Overlap = "task"
			}
			res, err := api.Backfill(cmd.Context(), a[0], req)
			if err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(res)
			}
			verb := "started"
			if dryRun {
				verb = "would start"
			}
			fmt.Fprintf(c.out, "%s: backfill %s %d fire(s)", a[0], verb, res.Fires)
			if res.Fires > 0 {
				fmt.Fprintf(c.out, ", %s to %s", timeText(res.First), timeText(res.Last))
			}
			if res.BackfillID != 0 {
				fmt.Fprintf(c.out, " (backfill %d)", res.BackfillID)
			}
			fmt.Fprintln(c.out)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the range's start (RFC 3339, or a UTC date: its midnight)")
	cmd.Flags().StringVar(&to, "to", "", "the range's end, included (RFC 3339, or a UTC date: the whole day)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say how many fires it would start, start none")
	cmd.Flags().BoolVar(&taskOverlap, "task-overlap", false, "run the fires with the task's overlap policy, not one at a time")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// parseTimeFlag reads an RFC 3339 time or a date in UTC: its midnight,
// or with endOfDay its last second (--to 2026-11-01 takes in the whole
// day, as a person naming a day means).
func parseTimeFlag(flag, s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, nil
	}
	return time.Time{}, usageError("%s %q: want an RFC 3339 time (2026-11-01T06:00:00Z) or a date (2026-11-01)", flag, s)
}
