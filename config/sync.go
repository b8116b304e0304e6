package config

import "time"

// loadSync reads how tasks become schedules: the task queue runs go to,
// the schedule id prefix, how late a fire may still start, and how often
// and how widely sync reconciles.
func loadSync(r *reader, c *Config) {
	c.TaskQueue = r.str("SCHETASK_TASK_QUEUE", "schetask")
	c.ScheduleIDPrefix = r.str("SCHETASK_SCHEDULE_ID_PREFIX", "task-")
	c.CatchupWindow = r.duration("SCHETASK_CATCHUP_WINDOW", time.Minute)
	c.ResyncInterval = r.duration("SCHETASK_RESYNC_INTERVAL", 30*time.Second)
	c.SyncConcurrency = r.count("SCHETASK_SYNC_CONCURRENCY", 8)
	r.positive("SCHETASK_CATCHUP_WINDOW", c.CatchupWindow)
	r.positive("SCHETASK_RESYNC_INTERVAL", c.ResyncInterval)
}
