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
	// ExitOutOfMemory: the run passed its memory limit and the kernel
	// killed it.
	ExitOutOfMemory = 96
	// ExitNotStarted: `schetask run --wait` could not start the run (it
	// was refused, the task has no schedule, or the API did not answer).
	// No run row records it.
	ExitNotStarted = 97
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
	// Isolation says how the run was contained: "cgroup2", "hybrid"
	// (cgroup v1 limits, v2 kill) or "pgroup", then "user=<name>" or
	// "same-user" ("" for runs from before isolation, or never started).
	Isolation string
	// Usage is what the run consumed, once it ended.
	Usage Usage
	// Attempt numbers the run among its fire's attempts: 1 for the first,
	// then one more for each retry (Task.Retry).
	Attempt int
	// RetryAt, on an ended run, is when its fire's next attempt is due,
	// while the fire waits for it.
	RetryAt *time.Time
	// Params are the parameter values the run got (defaults filled in);
	// nil for a task that declares none.
	Params map[string]string
	// BackfillID is the backfill that started the run, if one did.
	BackfillID *int64
	// LogicalDate is the date the run is for: its nominal time truncated
	// to its task's period, or its upstream runs' (nil on runs from before
	// chains).
	LogicalDate *time.Time
	// UpstreamRuns are the runs whose ends started this one (a chain).
	UpstreamRuns []int64
}

// Usage is what a run consumed: from its cgroup, or from wait4's rusage
// when it had none. A nil field is one the host could not tell.
type Usage struct {
	CPUUserSeconds   *float64 `json:"cpu_user_seconds,omitempty"`
	CPUSystemSeconds *float64 `json:"cpu_system_seconds,omitempty"`
	PeakMemoryBytes  *int64   `json:"peak_memory_bytes,omitempty"`
	IOReadBytes      *int64   `json:"io_read_bytes,omitempty"`
	IOWriteBytes     *int64   `json:"io_write_bytes,omitempty"`
}

// CPUSeconds is user plus system CPU time, when known.
func (u Usage) CPUSeconds() *float64 {
	if u.CPUUserSeconds == nil && u.CPUSystemSeconds == nil {
		return nil
	}
	var s float64
	if u.CPUUserSeconds != nil {
		s += *u.CPUUserSeconds
	}
	if u.CPUSystemSeconds != nil {
		s += *u.CPUSystemSeconds
	}
	return &s
}

// Publish is one publish a run made: its publish/ folder copied to a target.
type Publish struct {
	Target string    `json:"target"`
	Path   string    `json:"path"`
	Files  []string  `json:"files"`
	At     time.Time `json:"at"`
}
