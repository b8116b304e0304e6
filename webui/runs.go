package webui

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// The run list's time fields: <input type="datetime-local"> sends minutes,
// or seconds with step="1"; both are read in listZone.
const (
	timeInputMinute = "2006-01-02T15:04"
	timeInputSecond = "2006-01-02T15:04:05"
)

// listZone is the zone the run list shows and reads times in. No user has
// a zone of their own yet; the page names it wherever it shows a time.
var listZone = time.UTC

type runsData struct {
	page
	Runs     []tasktype.Run
	Tasks    []string
	Statuses []tasktype.RunStatus
	// The filter as given, for the form.
	Task, Status, Exit, From, To string
	Error                        string
	// Zone names the zone of every time on the page.
	Zone string
	// Next is the link to the next page, "" on the last.
	Next template.URL
}

// StartTime is a run's start in the page's zone.
func (d runsData) StartTime(r tasktype.Run) string {
	return r.StartTime.In(listZone).Format("2006-01-02 15:04:05")
}

var runStatuses = append([]tasktype.RunStatus{tasktype.RunRunning}, tasktype.EndStatuses...)

// runsPage is the run list across tasks: filtered by task, status, exit
// code and start time, newest first, paged by keyset.
func (s *Server) runsPage(c *fiber.Ctx) error {
	d := runsData{page: s.page(c, "Runs"), Statuses: runStatuses, Task: c.Query("task"), Status: c.Query("status"),
		Exit: c.Query("exit"), From: c.Query("from"), To: c.Query("to"), Zone: listZone.String()}
	tasks, err := s.store.RunTaskNames(c.UserContext())
	if err != nil {
		return err
	}
	d.Tasks = tasks
	f, err := parseRunFilter(d.Task, d.Status, d.Exit, d.From, d.To, c.Query("after"))
	if err != nil {
		d.Error = err.Error()
		c.Status(fiber.StatusBadRequest)
		return s.render(c, "runs.html", d)
	}
	// The filtered task stays a choice, so the next Filter keeps it.
	if d.Task != "" && !slices.Contains(d.Tasks, d.Task) {
		d.Tasks = append(d.Tasks, d.Task)
		slices.Sort(d.Tasks)
	}
	runs, next, err := s.store.SearchRuns(c.UserContext(), f)
	if err != nil {
		return err
	}
	d.Runs = runs
	if next != nil {
		d.Next = nextRunsURL(d, *next)
	}
	return s.render(c, "runs.html", d)
}

// nextRunsURL is the link to the page after cursor, with the filter d
// was given. Every part was validated by parseRunFilter and the whole is
// encoded here, so the template can take it as a URL unchanged.
func nextRunsURL(d runsData, cursor store.RunCursor) template.URL {
	q := url.Values{}
	for k, v := range map[string]string{"task": d.Task, "status": d.Status, "exit": d.Exit, "from": d.From, "to": d.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("after", fmt.Sprintf("%d_%d", cursor.StartTime.UnixMicro(), cursor.ID))
	return template.URL("/runs?" + q.Encode())
}

// parseRunFilter reads the run list's query, saying what is wrong. "to"
// includes the whole minute (or second) it names.
func parseRunFilter(task, status, exit, from, to, after string) (store.RunFilter, error) {
	f := store.RunFilter{TaskName: task, Limit: 50}
	if task != "" {
		if err := tasktype.ValidateName(task); err != nil {
			return f, err
		}
	}
	if status != "" {
		ok := false
		for _, st := range runStatuses {
			ok = ok || string(st) == status
		}
		if !ok {
			return f, fmt.Errorf("unknown status %q", status)
		}
		f.Status = tasktype.RunStatus(status)
	}
	if exit != "" {
		// Exit codes are 32-bit (the column's integer); a wider number
		// can match nothing and would fail in Postgres.
		n, err := strconv.ParseInt(exit, 10, 32)
		if err != nil {
			return f, fmt.Errorf("exit code %q is not a number from %d to %d", exit, int64(minExitCode), int64(maxExitCode))
		}
		code := int(n)
		f.ExitCode = &code
	}
	if from != "" {
		t, _, err := parseTimeInput(from)
		if err != nil {
			return f, err
		}
		f.From = &t
	}
	if to != "" {
		t, step, err := parseTimeInput(to)
		if err != nil {
			return f, err
		}
		end := t.Add(step)
		f.To = &end
	}
	if after != "" {
		us, id, ok := strings.Cut(after, "_")
		u, err1 := strconv.ParseInt(us, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return f, fmt.Errorf("bad page cursor %q", after)
		}
		f.After = &store.RunCursor{StartTime: time.UnixMicro(u), ID: n}
	}
	return f, nil
}

// The range of an exit code filter.
const (
	minExitCode = -1 << 31
	maxExitCode = 1<<31 - 1
)

// parseTimeInput reads a time field in listZone and returns it with its
// precision: a minute or a second.
func parseTimeInput(in string) (time.Time, time.Duration, error) {
	if t, err := time.ParseInLocation(timeInputMinute, in, listZone); err == nil {
		return t, time.Minute, nil
	}
	if t, err := time.ParseInLocation(timeInputSecond, in, listZone); err == nil {
		return t, time.Second, nil
	}
	return time.Time{}, 0, fmt.Errorf("time %q: want YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS (%s)", in, listZone)
}
