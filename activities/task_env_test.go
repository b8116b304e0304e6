package activities

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schetask/schetask/sandbox"
	"github.com/schetask/schetask/tasktype"
)

func TestTaskEnvKeepsTheWorkersSecrets(t *testing.T) {
	t.Parallel()
	worker := map[string]string{"PATH": "/usr/bin", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
		"SCHETASK_DATABASE_URL": "postgres://x", "SHARED_API_URL": "http://api", "NODE_PATH": "/opt/node"}
	a := &Activities{Layout: tasktype.Layout{Root: "/srv/task"}, TaskEnv: []string{"SHARED_API_URL"},
		Getenv: func(k string) string { return worker[k] }, NodePath: "/tmp/schetask-1/node_modules", Executable: "/usr/bin/schetask"}
	env := a.taskEnv(ExecTaskInput{TaskName: "gold", RunID: 42, Version: "202611/24/101010", WorkflowID: "task-gold-x",
		ScheduledTime: time.Date(2026, 11, 24, 10, 10, 10, 0, time.UTC), TimeZone: "Asia/Shanghai", Attempt: 2}, "/srv/task/gold", "/srv/task/gold/logs/x.log", "/tmp/schetask-1/run-42.sock",
		"/tmp/schetask-1/run-42-x/tmp", &sandbox.Account{Name: "schetask-task", UID: 990, GID: 990})
	joined := strings.Join(env, "\n")
	for _, want := range []string{"PATH=/usr/bin", "SHARED_API_URL=http://api", "TZ=Asia/Shanghai", "SCHETASK_TASK_NAME=gold",
		"SCHETASK_RUN_ID=42", "SCHETASK_PUBLISH_DIR=/srv/task/gold/publish", "SCHETASK_SCHEDULED_TIME=2026-11-24T10:10:10Z",
		"SCHETASK_TASK_VERSION=202611/24/101010", "SCHETASK_WORKFLOW_ID=task-gold-x", "SCHETASK_ATTEMPT=2",
		"SCHETASK_HELPER_SOCKET=/tmp/schetask-1/run-42.sock", "SCHETASK_BIN=/usr/bin/schetask",
		"NODE_PATH=/tmp/schetask-1/node_modules:/opt/node", "TMPDIR=/tmp/schetask-1/run-42-x/tmp",
		"HOME=/tmp/schetask-1/run-42-x/tmp", "USER=schetask-task"} {
		if !slices.Contains(env, want) {
			t.Errorf("task env lacks %s:\n%s", want, joined)
		}
	}
	for _, secret := range []string{"s3cr3t", "postgres://x"} {
		if strings.Contains(joined, secret) {
			t.Errorf("task env leaks %q:\n%s", secret, joined)
		}
	}
}
