package monitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// maxOpenRunsPerCheck bounds the running runs one slow check looks at.
const maxOpenRunsPerCheck = 1000

// CheckSlow raises the slow alert, once per run, of every running run
// that has gone for longer than its task's learned threshold
// (alert.SlowAfter). It returns how many runs it found slow.
func (m *Monitor) CheckSlow(ctx context.Context) (int, error) {
	now := m.now()
	runs, err := m.Store.OpenRunsStartedBefore(ctx, now, maxOpenRunsPerCheck)
	if err != nil {
		return 0, fmt.Errorf("check slow runs: %w", err)
	}
	if len(runs) == 0 {
		m.slowSeen = nil
		return 0, nil
	}
	tasks, err := m.Store.ListTasks(ctx)
	if err != nil {
		return 0, fmt.Errorf("check slow runs: %w", err)
	}
	byName := make(map[string]tasktype.Task, len(tasks))
	for _, t := range tasks {
		byName[t.Name] = t
	}
	normals := map[string]store.RunNormal{}
	seen := map[int64]bool{}
	slow := 0
	var errs []error
	for _, run := range runs {
		t, ok := byName[run.TaskName]
		if !ok || !t.LearnNormal || run.ProcessStartTime == nil {
			continue
		}
		if m.slowSeen[run.ID] {
			seen[run.ID] = true // raised already: no need to ask again
			slow++
			continue
		}
		n, ok := normals[t.Name]
		if !ok {
			if n, err = m.Store.RunNormal(ctx, t.Name, 0); err != nil {
				errs = append(errs, err)
				continue
			}
			normals[t.Name] = n
		}
		after, learned := alert.SlowAfter(t, n)
		elapsed := now.Sub(*run.ProcessStartTime)
		if !learned || elapsed <= after {
			continue
		}
		if _, err := m.Alerts.Raise(ctx, alert.SlowEvent(run, n, after, elapsed)); err != nil {
			errs = append(errs, fmt.Errorf("run %d: %w", run.ID, err))
			continue
		}
		seen[run.ID] = true
		slow++
	}
	m.slowSeen = seen
	return slow, errors.Join(errs...)
}
