package tasktype

import "time"

// RunStatus is the state of one run in t_task_exec_list.
type RunStatus string

// The run states. Every run starts running and ends in exactly one other.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunTimedOut  RunStatus = "timed_out"
	RunKilled    RunStatus = "killed"
	RunLost      RunStatus = "lost"
)

// EndStatuses are the states a run can end in, in the order the console
// lists them.
var EndStatuses = []RunStatus{RunSucceeded, RunFailed, RunTimedOut, RunKilled, RunLost}

// Exit codes below 100 are reserved for the system (the runtime and
// schetask); a task picks its own from 100 up. These are the ones schetask
// itself records when the task's process did not give one.
const (
	// ExitNoEntrypoint: the task folder or its entrypoint is missing, or the
	// task name is invalid, so nothing was started.
	ExitNoEntrypoint = 90
	// ExitSpawnFailed: the entrypoint exists but the process could not start.
	ExitSpawnFailed = 91
	// ExitKilled: the run was killed on request (kill signal or task_status 2).
	ExitKilled = 92
	// ExitTimedOut: the run passed its timeout and was killed.
	ExitTimedOut = 93
	// ExitLost: the worker running it died; its process was killed on restart.
	ExitLost = 94
	// ExitSignaled: the process died of a signal schetask did not send.
	ExitSignaled = 95
)

// StderrHeadLines is how many stderr lines a run keeps in the database.
const StderrHeadLines = 200

// Run is one row of t_task_exec_list.
type Run struct {
	ID               int64
	TaskName         string
	Version          string
	WorkflowID       string
	RunID            string
	ScheduledTime    time.Time
	StartTime        time.Time
	ProcessStartTime *time.Time
	EndTime          *time.Time
	ExitCode         *int
	Status           RunStatus
	Error            string
	StderrHead       []string
	StderrLines      int64
	LogPath          string
	LogBytes         int64
	HistoryPath      string
	PublishedFiles   []string
	// Publishes are what the run published through the task helper.
	Publishes []Publish
	Host      string
	PID       *int
}

// Publish is one publish a run made: its publish/ folder copied to a target.
type Publish struct {
	Target string    `json:"target"`
	Path   string    `json:"path"`
	Files  []string  `json:"files"`
	At     time.Time `json:"at"`
}
