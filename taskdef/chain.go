package taskdef

import (
	"fmt"
	"slices"
	"strings"

	"github.com/schetask/schetask/tasktype"
)

// AfterConditions are the conditions a task that runs after others may
// take, in the order the console lists them; the first is the default.
var AfterConditions = []tasktype.AfterCondition{
	tasktype.AfterAllSucceeded, tasktype.AfterAnySucceeded, tasktype.AfterAllDone,
}

// MaxChainNames bounds after and on_failure, as the database does.
const MaxChainNames = 32

// DeadlineSyntax says, in the console's words, what a deadline may be.
const DeadlineSyntax = `a time of day HH:MM in the task's time zone (07:00: by 7 o'clock on the logical date, ` +
	`or the next day when that is not after it), or a delay after the nominal fire time: +<n>s, +<n>m or +<n>h ` +
	`(+2h, +90m); blank for none`

// ValidateDeadline checks a deadline as DeadlineSyntax says it is written,
// with the parser the monitor uses (tasktype.ParseDeadline).
func ValidateDeadline(deadline string) error {
	if _, err := tasktype.ParseDeadline(deadline); err != nil {
		return fmt.Errorf("%q is not a deadline: want %s", deadline, DeadlineSyntax)
	}
	return nil
}

// chain reads the chain settings into t: the tasks it runs after (and on
// which condition), those run when it fails, and its deadline.
func (f *Form) chain(t *tasktype.Task, errs map[string]string, after, onFailure []string) {
	t.After = chainNames(errs, "after", f.Name, after, "run after itself")
	t.OnFailure = chainNames(errs, "on_failure", f.Name, onFailure, "run on its own failure")
	t.AfterCondition = tasktype.AfterCondition(strings.TrimSpace(f.AfterCondition))
	if t.AfterCondition == "" {
		t.AfterCondition = tasktype.AfterAllSucceeded
	}
	if !slices.Contains(AfterConditions, t.AfterCondition) {
		errs["after_condition"] = fmt.Sprintf("%q: want one of %s", t.AfterCondition, afterConditionNames())
	}
	t.Deadline = strings.TrimSpace(f.Deadline)
	if err := ValidateDeadline(t.Deadline); err != nil {
		errs["deadline"] = err.Error()
	}
}

// chainNames checks one list of task names (after or on_failure) of the
// task self: valid names, not self, at most MaxChainNames; a name given
// twice counts once. It returns nil for an empty list.
func chainNames(errs map[string]string, field, self string, names []string, selfWords string) []string {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if err := tasktype.ValidateName(n); err != nil {
			errs[field] = err.Error()
			return nil
		}
		if n == self {
			errs[field] = fmt.Sprintf("%q is this task: a task cannot %s", n, selfWords)
			return nil
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxChainNames {
		errs[field] = fmt.Sprintf("%d tasks: at most %d", len(out), MaxChainNames)
		return nil
	}
	return out
}

// afterConditionNames lists the conditions, for an error message.
func afterConditionNames() string {
	names := make([]string, len(AfterConditions))
	for i, c := range AfterConditions {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// ChainCycle looks for a loop in the chain graph of tasks (an edge from
// each name in a task's after to it, and from it to each name in its
// on_failure), through one of the tasks named in from, tried in order.
// It returns the loop from that task back to it ([a b a]) and the
// setting of that task in it ("after" or "on_failure"), as the database
// would refuse it (store.ChainCycleError); nil when there is none.
// Tasks named only in after or on_failure count, with no links of their
// own.
func ChainCycle(tasks []tasktype.Task, from []string) (cycle []string, field string) {
	next := map[string][]string{}
	byName := map[string]tasktype.Task{}
	for _, t := range tasks {
		byName[t.Name] = t
		for _, u := range t.After {
			next[u] = append(next[u], t.Name)
		}
		next[t.Name] = append(next[t.Name], t.OnFailure...)
	}
	for k := range next {
		slices.Sort(next[k])
		next[k] = slices.Compact(next[k])
	}
	for _, start := range from {
		path := []string{start}
		seen := map[string]bool{}
		var walk func(node string) bool
		walk = func(node string) bool {
			for _, n := range next[node] {
				if n == start {
					path = append(path, n)
					return true
				}
				if seen[n] {
					continue
				}
				seen[n] = true
				path = append(path, n)
				if walk(n) {
					return true
				}
				path = path[:len(path)-1]
			}
			return false
		}
		if !walk(start) {
			continue
		}
		t := byName[start]
		field = "after"
		if last := path[len(path)-2]; !slices.Contains(t.After, last) && slices.Contains(t.OnFailure, path[1]) {
			field = "on_failure"
		}
		return path, field
	}
	return nil, ""
}

// FormatChainCycle says a loop as the database does: "chain cycle: a → b → a".
func FormatChainCycle(cycle []string) string {
	return "chain cycle: " + strings.Join(cycle, " → ")
}
