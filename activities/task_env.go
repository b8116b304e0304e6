package activities

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/taskhelper"
	"github.com/schetask/schetask/tasktype"
)

// baseEnv are the worker variables every task gets; nothing else of the
// worker's environment (its secrets, say) reaches a task unless named in
// TaskEnv.
var baseEnv = []string{"PATH", "LANG", "LC_ALL"}

// taskEnv builds a task's environment from scratch; socket is the run's
// task helper socket ("" when off), tmp its private folder (TMPDIR and
// HOME), acct the user it runs as (nil: the worker's). The run's
// parameter values come last, as SCHETASK_PARAM_<NAME>, verbatim: the
// environment is handed to exec, never to a shell.
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
	env = append(env,
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
	return append(append(env, chainEnv(in)...), paramEnv(in.Params)...)
}

// chainEnv is the environment of a run's logical date and, for a run a
// chain started, its upstream runs and their history folders.
func chainEnv(in ExecTaskInput) []string {
	var env []string
	if !in.LogicalDate.IsZero() {
		env = append(env, "SCHETASK_LOGICAL_DATE="+in.LogicalDate.UTC().Format(time.RFC3339))
	}
	if len(in.UpstreamRuns) > 0 {
		ids := make([]string, len(in.UpstreamRuns))
		for i, id := range in.UpstreamRuns {
			ids[i] = strconv.FormatInt(id, 10)
		}
		env = append(env, "SCHETASK_UPSTREAM_RUNS="+strings.Join(ids, ","))
	}
	for _, task := range slices.Sorted(maps.Keys(in.UpstreamHistory)) {
		env = append(env, upstreamEnvName(task)+"="+in.UpstreamHistory[task])
	}
	return env
}

// paramEnv is the environment of a run's parameter values, by name.
func paramEnv(values map[string]string) []string {
	names := slices.Sorted(maps.Keys(values))
	declared := make([]tasktype.Param, len(names))
	for i, n := range names {
		declared[i] = tasktype.Param{Name: n}
	}
	return tasktype.ParamEnv(declared, values)
}
