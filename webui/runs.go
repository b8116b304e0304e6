package webui

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// timeInput is the layout of <input type="datetime-local">, read as UTC.
const timeInput = "2006-01-02T15:04"

type runsData struct {
	page
	Runs     []tasktype.Run
	Tasks    []string
	Statuses []tasktype.RunStatus
	// The filter as given, for the form.
	Task, Status, Exit, From, To string
	Error                        string
	// Next is the query string of the next page, "" on the last.
	Next string
}

var runStatuses = append([]tasktype.RunStatus{tasktype.RunRunning}, tasktype.EndStatuses...)

// runsPage is the run list across tasks: filtered by task, status, exit
// code and start time, newest first, paged by keyset.
func (s *Server) runsPage(c *fiber.Ctx) error {
	d := runsData{page: s.page(c, "Runs"), Statuses: runStatuses, Task: c.Query("task"), Status: c.Query("status"),
		Exit: c.Query("exit"), From: c.Query("from"), To: c.Query("to")}
	f, err := parseRunFilter(d.Task, d.Status, d.Exit, d.From, d.To, c.Query("after"))
	if err != nil {
		d.Error = err.Error()
		c.Status(fiber.StatusBadRequest)
		return s.render(c, "runs.html", d)
	}
	runs, next, err := s.store.SearchRuns(c.Context(), f)
	if err != nil {
		return err
	}
	d.Runs = runs
	tasks, err := s.store.ListTasks(c.Context())
	if err != nil {
		return err
	}
	for _, t := range tasks {
		d.Tasks = append(d.Tasks, t.Name)
	}
	if next != nil {
		q := url.Values{}
		for k, v := range map[string]string{"task": d.Task, "status": d.Status, "exit": d.Exit, "from": d.From, "to": d.To} {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("after", fmt.Sprintf("%d_%d", next.StartTime.UnixMicro(), next.ID))
		d.Next = q.Encode()
	}
	return s.render(c, "runs.html", d)
}

// parseRunFilter reads the run list's query, saying what is wrong.
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
		n, err := strconv.Atoi(exit)
		if err != nil {
			return f, fmt.Errorf("exit code %q is not a number", exit)
		}
		f.ExitCode = &n
	}
	for _, b := range []struct {
		in  string
		out **time.Time
	}{{from, &f.From}, {to, &f.To}} {
		if b.in == "" {
			continue
		}
		t, err := time.Parse(timeInput, b.in)
		if err != nil {
			return f, fmt.Errorf("time %q: want YYYY-MM-DDTHH:MM (UTC)", b.in)
		}
		*b.out = &t
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
