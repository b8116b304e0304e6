package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/schetask/schetask/apiclient"
)

func newRunsCommand(c *cli) *cobra.Command {
	var q apiclient.RunQuery
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "list runs, newest first",
		Example: `  schetask runs --task gold --status failed --limit 20
  schetask runs --json | jq '.runs[].exit_code'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.Limit < 0 {
				return usageError("--limit %d: want a positive number", q.Limit)
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			page, err := api.ListRuns(cmd.Context(), q)
			if err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(page)
			}
			rows := make([][]string, 0, len(page.Runs))
			for _, r := range page.Runs {
				rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.Task, string(r.Status), exitText(r.ExitCode),
					strconv.Itoa(r.Attempt), timeText(&r.ScheduledTime), timeText(&r.StartTime), durationText(r)})
			}
			if err := c.table([]string{"ID", "TASK", "STATUS", "EXIT", "ATTEMPT", "SCHEDULED", "STARTED", "TOOK"}, rows); err != nil {
				return err
			}
			if page.Next != "" {
				fmt.Fprintf(c.errw, "(more: --cursor %s)\n", page.Next)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&q.Task, "task", "", "only this task's runs")
	cmd.Flags().StringVar(&q.Status, "status", "", "only runs in this state: running, succeeded, failed, timed_out, killed, lost")
	cmd.Flags().IntVar(&q.Limit, "limit", 50, "at most this many runs")
	cmd.Flags().StringVar(&q.Cursor, "cursor", "", "the page after the one that printed this cursor")
	cmd.Flags().StringVarP(&q.Q, "search", "q", "", "search as the console's run list does")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(
		[]string{"running", "succeeded", "failed", "timed_out", "killed", "lost"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newLogsCommand(c *cli) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs <run-id>",
		Short: "print a run's log; -f follows it until the run ends",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := strconv.ParseInt(a[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError("run id %q: want a run's number (see schetask runs)", a[0])
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			if follow {
				if _, err := api.StreamLog(cmd.Context(), id, c.out, apiclient.StreamOptions{}); err != nil {
					return apiFailure(err)
				}
				return nil
			}
			b, err := api.Log(cmd.Context(), id, 0, 0)
			if err != nil {
				return apiFailure(err)
			}
			_, err = c.out.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep writing the log as it grows, until the run ends")
	return cmd
}
