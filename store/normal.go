package store

import (
	"context"
	"fmt"
	"time"
)

// NormalWindow is how many of a task's newest succeeded runs say what is
// normal for it.
const NormalWindow = 30

// RunNormal is what a task's newest succeeded runs (at most NormalWindow)
// say about a run: how long it takes, from its process start to its end,
// whether it publishes and how much it logs.
type RunNormal struct {
	// Runs is how many succeeded runs the figures come from.
	Runs int
	// P5, Median and P95 are percentiles of their durations
	// (interpolated, as percentile_cont).
	P5, Median, P95 time.Duration
	// Published is how many of them left files in publish/.
	Published int
	// MedianLogBytes is the median size of their logs.
	MedianLogBytes int64
}

// RunNormal returns what the task's newest succeeded runs before the run
// before (every run when 0) say is normal; Runs is 0 when it has none.
func (s *Store) RunNormal(ctx context.Context, taskName string, before int64) (RunNormal, error) {
	var n RunNormal
	var p5, med, p95, logBytes *float64
	err := s.pool.QueryRow(ctx, `WITH last AS (
			SELECT extract(epoch FROM end_time - process_start_time)::float8 AS secs,
				cardinality(published_files) > 0 AS published, log_bytes
			FROM t_task_exec_list
			WHERE task_name = $1 AND status = 'succeeded' AND ($3 = 0 OR id < $3)
			  AND process_start_time IS NOT NULL AND end_time IS NOT NULL
			ORDER BY id DESC LIMIT $2)
		SELECT count(*),
			percentile_cont(0.05) WITHIN GROUP (ORDER BY secs),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY secs),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY secs),
			count(*) FILTER (WHERE published),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY log_bytes)
		FROM last`, taskName, NormalWindow, before).Scan(&n.Runs, &p5, &med, &p95, &n.Published, &logBytes)
	if err != nil {
		return RunNormal{}, fmt.Errorf("normal runs of %q: %w", taskName, err)
	}
	n.P5, n.Median, n.P95 = seconds(p5), seconds(med), seconds(p95)
	if logBytes != nil {
		n.MedianLogBytes = int64(*logBytes)
	}
	return n, nil
}

func seconds(s *float64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s * float64(time.Second)).Round(time.Millisecond)
}
