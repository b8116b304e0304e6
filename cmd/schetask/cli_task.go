package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/schetask/schetask/apiclient"
	"github.com/schetask/schetask/taskdef"
)

func newTaskCommand(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "task",
		Short: "list, show, apply, export and delete task definitions",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("task: want a subcommand: list, get, apply, export, delete")
		},
	}
	cmd.AddCommand(newTaskListCommand(c), newTaskGetCommand(c), newTaskApplyCommand(c),
		newTaskExportCommand(c), newTaskDeleteCommand(c))
	return cmd
}

func newTaskListCommand(c *cli) *cobra.Command {
	var q apiclient.TaskQuery
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tasks",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			tasks, err := api.ListTasks(cmd.Context(), q)
			if err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]any{"tasks": tasks})
			}
			rows := make([][]string, 0, len(tasks))
			for _, t := range tasks {
				rows = append(rows, []string{t.Name, t.Rule, orDash(t.TimeZone), enabledText(t.Definition),
					timeText(t.LastStartTime), timeText(t.LastEndTime)})
			}
			return c.table([]string{"NAME", "RULE", "ZONE", "STATUS", "LAST START", "LAST END"}, rows)
		},
	}
	cmd.Flags().StringVarP(&q.Q, "search", "q", "", "only tasks whose name or description has this")
	cmd.Flags().StringVar(&q.Status, "status", "", "only enabled or disabled tasks")
	return cmd
}

func newTaskGetCommand(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "get <name>",
		ValidArgsFunction: c.completeTasks,
		Short:             "show a task's definition (as task files write it)",
		Args:              args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			t, err := api.GetTask(cmd.Context(), a[0])
			if err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]any{"task": t})
			}
			out, err := taskdef.Marshal([]taskdef.Definition{t.Definition})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "# version %s; last start %s, last end %s\n", orDash(t.Version), timeText(t.LastStartTime), timeText(t.LastEndTime))
			_, err = c.out.Write(out)
			return err
		},
	}
}

func newTaskApplyCommand(c *cli) *cobra.Command {
	var files []string
	var dryRun, prune, allowEmpty bool
	cmd := &cobra.Command{
		Use:   "apply -f <file|dir>...",
		Short: "make the tasks match definitions in YAML files",
		Long: `Make the tasks match the definitions in YAML files (a file, or a folder of
*.yaml files; -f may repeat): tasks the files name are created or updated,
in one transaction, with the console's checks. --prune also deletes the
tasks no file names. --dry-run prints the changes it would make, and makes
none. An invalid definition changes nothing; each problem is printed as
file:line: field: message.`,
		Example: `  schetask task export -o tasks.yaml
  schetask task apply -f tasks.yaml --dry-run
  schetask task apply -f tasks/ --prune`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usageError("task apply: want -f <file|dir>")
			}
			srcs, err := taskdef.Load(files...)
			if err != nil {
				return &exitError{code: exitAPIError, err: fmt.Errorf("nothing applied:\n%w", err)}
			}
			if len(srcs) == 0 && prune && !allowEmpty {
				return &exitError{code: exitAPIError, err: fmt.Errorf("nothing applied: no task definitions in %s, and --prune would delete every task (pass --allow-empty to mean it)",
					strings.Join(files, ", "))}
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			defs := make([]taskdef.Definition, len(srcs))
			for i, s := range srcs {
				defs[i] = s.Definition
			}
			res, err := api.Apply(cmd.Context(), apiclient.ApplyRequest{Tasks: defs, Prune: prune, DryRun: dryRun, AllowEmpty: allowEmpty})
			if err != nil {
				return applyFailure(err, srcs)
			}
			if c.json {
				return c.printJSON(res)
			}
			if dryRun && slices.ContainsFunc(res.Changes, changes) {
				fmt.Fprintln(c.out, "dry run: nothing changed; apply would make these changes:")
			}
			fmt.Fprint(c.out, ensureNewline(taskdef.FormatChanges(res.Changes)))
			if n := len(res.Changes); !dryRun && n > 0 {
				fmt.Fprintf(c.out, "applied %d change(s); sync follows within seconds\n", n)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "a YAML file or a folder of them (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the tasks that no file names")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "with --prune and no definitions, delete every task")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml")
	return cmd
}

// applyFailure reports a refused apply, an invalid definition as
// "file:line: task "name": field: message" from its index in the request.
func applyFailure(err error, srcs []taskdef.Source) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || len(ae.Details) == 0 {
		return apiFailure(err)
	}
	lines := make([]string, 0, len(ae.Details))
	for _, d := range ae.Details {
		var b strings.Builder
		if d.Index >= 0 && d.Index < len(srcs) {
			s := srcs[d.Index]
			b.WriteString(s.Where(d.Field))
			if s.Name != "" {
				fmt.Fprintf(&b, ": task %q", s.Name)
			}
		} else if d.Task != "" {
			fmt.Fprintf(&b, "task %q", d.Task)
		}
		if d.Field != "" {
			b.WriteString(": " + d.Field)
		}
		b.WriteString(": " + d.Message)
		lines = append(lines, b.String())
	}
	return &exitError{code: exitAPIError, err: fmt.Errorf("nothing applied: %s:\n%s", ae.Message, strings.Join(lines, "\n"))}
}

func newTaskExportCommand(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [name...]",
		Short: "write tasks' definitions as YAML, for task apply",
		Long: `Write the definitions of the named tasks (all when none is named) as a YAML
task file, to stdout or -o file. Applying the file changes nothing.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			tasks, err := api.ListTasks(cmd.Context(), apiclient.TaskQuery{})
			if err != nil {
				return apiFailure(err)
			}
			var defs []taskdef.Definition
			for _, t := range tasks {
				if len(names) == 0 || slices.Contains(names, t.Name) {
					defs = append(defs, t.Definition)
				}
			}
			for _, n := range names {
				if !slices.ContainsFunc(defs, func(d taskdef.Definition) bool { return d.Name == n }) {
					return &exitError{code: exitAPIError, err: fmt.Errorf("no task %q", n)}
				}
			}
			out, err := taskdef.Marshal(defs)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err = c.out.Write(out)
				return err
			}
			if err := os.WriteFile(output, out, 0o644); err != nil {
				return &exitError{code: exitAPIError, err: err}
			}
			fmt.Fprintf(c.errw, "%d task(s) written to %s\n", len(defs), output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

func newTaskDeleteCommand(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "delete <name>",
		ValidArgsFunction: c.completeTasks,
		Short:             "delete a task (its schedule goes; its runs and logs stay)",
		Args:              args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			if err := api.DeleteTask(cmd.Context(), a[0]); err != nil {
				return apiFailure(err)
			}
			if c.json {
				return c.printJSON(map[string]any{"task": a[0], "deleted": true})
			}
			fmt.Fprintf(c.out, "%s deleted\n", a[0])
			return nil
		},
	}
}

// changes reports whether c changes anything: an update may list no field.
func changes(c taskdef.Change) bool { return c.Action != taskdef.ActionUpdate || len(c.Fields) > 0 }

// enabledText is a definition's status for people.
func enabledText(d taskdef.Definition) string {
	if d.Enabled == nil || *d.Enabled {
		return "on"
	}
	if d.StatusNote != "" {
		return "off (" + d.StatusNote + ")"
	}
	return "off"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ensureNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}
