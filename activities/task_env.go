package activities

import (
	"strconv"
	"time"
)

// baseEnv are the worker variables every task gets; nothing else of the
// worker's environment (its secrets, say) reaches a task unless named in
// TaskEnv.
var baseEnv = []string{"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "NODE_PATH"}

// taskEnv builds a task's environment from scratch.
func (a *Activities) taskEnv(in ExecTaskInput, dir, logPath string) []string {
	var env []string
	for _, key := range append(append([]string(nil), baseEnv...), a.TaskEnv...) {
		if v := a.getenv(key); v != "" {
			env = append(env, key+"="+v)
		}
	}
	publish, _ := a.Layout.PublishDir(in.TaskName)
	tz := in.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return append(env,
		"TZ="+tz,
		"SCHETASK_TASK_NAME="+in.TaskName,
		"SCHETASK_TASK_DIR="+dir,
		"SCHETASK_PUBLISH_DIR="+publish,
		"SCHETASK_LOG_FILE="+logPath,
		"SCHETASK_RUN_ID="+strconv.FormatInt(in.RunID, 10),
		"SCHETASK_WORKFLOW_ID="+in.WorkflowID,
		"SCHETASK_TASK_VERSION="+in.Version,
		"SCHETASK_SCHEDULED_TIME="+in.ScheduledTime.UTC().Format(time.RFC3339),
	)
}
