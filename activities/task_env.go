package activities

import (
	"strconv"
	"strings"
	"time"

	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/taskhelper"
)

// baseEnv are the worker variables every task gets; nothing else of the
// worker's environment (its secrets, say) reaches a task unless named in
// TaskEnv.
var baseEnv = []string{"PATH", "LANG", "LC_ALL"}

// taskEnv builds a task's environment from scratch; socket is the run's
// task helper socket ("" when off), tmp its private folder (TMPDIR and
// HOME), acct the user it runs as (nil: the worker's).
func (a *Activities) taskEnv(in ExecTaskInput, dir, logPath, socket, tmp string, acct *sandbox.Account) []string {
	env := []string{"TMPDIR=" + tmp, "HOME=" + tmp}
	if acct != nil {
		env = append(env, "USER="+acct.Name, "LOGNAME="+acct.Name)
	}
	nodePath := a.getenv("NODE_PATH")
	if a.NodePath != "" {
		nodePath = strings.Trim(a.NodePath+":"+nodePath, ":")
	}
	if nodePath != "" {
		env = append(env, "NODE_PATH="+nodePath)
	}
	if socket != "" {
		env = append(env, taskhelper.EnvSocket+"="+socket)
	}
	if a.Executable != "" {
		env = append(env, "SCHETASK_BIN="+a.Executable)
	}
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
		"SCHETASK_ATTEMPT="+strconv.Itoa(max(in.Attempt, 1)),
	)
}
