package tasktype

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is a task's task_status: whether its schedule runs.
type Status int16

const (
	// StatusOff pauses the task's schedule.
	StatusOff Status = 0
	// StatusOn lets the schedule fire.
	StatusOn Status = 1
	// StatusKill kills the running process, if any, and keeps the schedule paused.
	StatusKill Status = 2
)

// TimeoutAction says what happens when a run passes its task's timeout.
type TimeoutAction string

const (
	// TimeoutKill ends the run as timed_out and kills its process group.
	TimeoutKill TimeoutAction = "kill"
	// TimeoutWarn only records the warning and lets the run go on.
	TimeoutWarn TimeoutAction = "warn"
)

// OverlapPolicy says what happens when a fire comes while a run is going.
type OverlapPolicy string

// The overlap policies, named after Temporal's.
const (
	OverlapSkip           OverlapPolicy = "skip"
	OverlapBufferOne      OverlapPolicy = "buffer_one"
	OverlapBufferAll      OverlapPolicy = "buffer_all"
	OverlapCancelOther    OverlapPolicy = "cancel_other"
	OverlapTerminateOther OverlapPolicy = "terminate_other"
	OverlapAllowAll       OverlapPolicy = "allow_all"
)

// AfterCondition says which ends of its upstream runs start a task that
// runs after others.
type AfterCondition string

// The conditions.
const (
	// AfterAllSucceeded: every upstream's run for the logical date succeeded.
	AfterAllSucceeded AfterCondition = "all_succeeded"
	// AfterAnySucceeded: one upstream's run succeeded.
	AfterAnySucceeded AfterCondition = "any_succeeded"
	// AfterAllDone: every upstream's run ended, however.
	AfterAllDone AfterCondition = "all_done"
)

// Task is one row of t_task_list.
type Task struct {
	Name          string
	Rule          string
	TimeZone      string
	Timeout       time.Duration
	TimeoutAction TimeoutAction
	Status        Status
	Overlap       OverlapPolicy
	// Owners are e-mail addresses and Slack member ids told about alerts.
	Owners      []string
	Description string
	// AlertChannels limits the task's alerts to these channels ("slack",
	// "email", "webhook"); empty means every configured one.
	AlertChannels []string
	// SlackChannel and WebhookURL replace the configured ones for this task.
	SlackChannel string
	WebhookURL   string
	// StatusNote says why the task is off, when someone said.
	StatusNote string
	// RunAs is the user the task runs as, one the worker allows; ""
	// means the worker's task user.
	RunAs string
	// MemoryLimitMB, CPULimit and PidsLimit bound a run's cgroup: nil
	// means the worker's default, 0 no limit.
	MemoryLimitMB *int
	CPULimit      *float64
	PidsLimit     *int
	// KeepRuns and KeepDays are the task's retention: how many newest runs
	// and how many days of runs it keeps (a run past either goes). nil
	// means the global default, 0 no limit of that kind.
	KeepRuns *int
	KeepDays *int
	// LearnNormal says whether a run far slower than the task's newest
	// succeeded runs is announced while it goes (alert kind slow).
	LearnNormal bool
	// SlowMargin replaces the 60 s floor of the slow threshold
	// max(3 × p95, p95 + margin); nil means 60 s.
	SlowMargin *time.Duration
	// Retry says whether and when a failed run of one fire is tried again.
	Retry Retry
	// Params are the parameters runs started by people may set.
	Params []Param
	// After are the tasks this one runs after, per logical date, when
	// AfterCondition holds of their runs; its Rule may then be empty (it
	// runs only after them).
	After          []string
	AfterCondition AfterCondition
	// OnFailure are the tasks run when a run of this one fails (after its
	// last attempt).
	OnFailure []string
	// Deadline says by when a logical date's run must have succeeded:
	// "HH:MM" in the task's zone, or "+2h" after the nominal time; "" none.
	Deadline string

	LastStartTime   *time.Time
	LastEndTime     *time.Time
	LastWarningTime *time.Time
	Version         string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ErrInvalidName is wrapped by every task-name validation error.
var ErrInvalidName = errors.New("invalid task name")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// ValidateName checks that name can be used as a folder name under task/:
// letters, digits, '_', '.', '-', starting with a letter or digit, at most
// 63 bytes, and no "..". The database enforces the same rule.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("%w %q: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit, without '..'", ErrInvalidName, name)
	}
	return nil
}

// AlertChannelNames are the channels a task may limit its alerts to.
var AlertChannelNames = []string{"slack", "email", "webhook"}

// Limits bound one run's cgroup; 0 means no limit.
type Limits struct {
	// MemoryMB is the memory the run may use, in MiB.
	MemoryMB int64
	// CPU is how many cores' worth of CPU time the run may use.
	CPU float64
	// Pids is how many processes and threads the run may have.
	Pids int64
}

// The bounds of a task's limits, also checked by the database.
const (
	MinMemoryLimitMB = 16
	MaxMemoryLimitMB = 1 << 20
	MinCPULimit      = 0.01
	MaxCPULimit      = 1024
	MinPidsLimit     = 8
	MaxPidsLimit     = 4194304
)

// LimitsFor resolves a task's limits over the worker's defaults.
func (t Task) LimitsFor(defaults Limits) Limits {
	l := defaults
	if t.MemoryLimitMB != nil {
		l.MemoryMB = int64(*t.MemoryLimitMB)
	}
	if t.CPULimit != nil {
		l.CPU = *t.CPULimit
	}
	if t.PidsLimit != nil {
		l.Pids = int64(*t.PidsLimit)
	}
	return l
}

// Validate reports the first limit that is negative or out of bounds.
func (l Limits) Validate() error {
	switch {
	case l.MemoryMB != 0 && (l.MemoryMB < MinMemoryLimitMB || l.MemoryMB > MaxMemoryLimitMB):
		return fmt.Errorf("memory limit %d MiB: use 0 (none) or %d to %d", l.MemoryMB, MinMemoryLimitMB, MaxMemoryLimitMB)
	case l.CPU != 0 && (l.CPU < MinCPULimit || l.CPU > MaxCPULimit):
		return fmt.Errorf("CPU limit %g cores: use 0 (none) or %g to %d", l.CPU, MinCPULimit, MaxCPULimit)
	case l.Pids != 0 && (l.Pids < MinPidsLimit || l.Pids > MaxPidsLimit):
		return fmt.Errorf("pids limit %d: use 0 (none) or %d to %d", l.Pids, MinPidsLimit, MaxPidsLimit)
	}
	return nil
}

var userRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// Retention is how long a task's runs are kept: a run goes when it is not
// among the KeepRuns newest or is older than KeepDays, whichever is
// stricter; 0 means no limit of that kind.
type Retention struct {
	KeepRuns int
	KeepDays int
}

// RetentionFor resolves a task's retention over the global defaults.
func (t Task) RetentionFor(defaults Retention) Retention {
	r := defaults
	if t.KeepRuns != nil {
		r.KeepRuns = *t.KeepRuns
	}
	if t.KeepDays != nil {
		r.KeepDays = *t.KeepDays
	}
	return r
}

// ValidateUserName checks a run_as value: a plain Unix user name, or "".
func ValidateUserName(name string) error {
	if name != "" && !userRE.MatchString(name) {
		return fmt.Errorf("invalid user name %q: use 1-32 lower-case letters, digits, '_' or '-', starting with a letter or '_'", name)
	}
	return nil
}

// ValidateTimeZone checks a task's time_zone and loads it: an IANA zone
// name such as Asia/Shanghai, or UTC. "Local" and "" are refused although
// time.LoadLocation takes them: the schedule would follow whatever zone
// the host running Temporal has, while the task's TZ=Local reads as UTC
// in node, so the two would disagree. The database refuses them too.
func ValidateTimeZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q: use an IANA name such as UTC or Asia/Shanghai, not the host's zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as UTC or Asia/Shanghai", name)
	}
	return loc, nil
}

// The longest description and status note a task may have, in characters
// (runes, not bytes: a Chinese note of 500 characters is fine).
const (
	MaxDescriptionChars = 4000
	MaxStatusNoteChars  = 500
)

// ValidateLength reports text longer than max characters (runes), saying
// how long it is; what names the field.
func ValidateLength(what, text string, max int) error {
	if n := utf8.RuneCountInString(text); n > max {
		return fmt.Errorf("%s is %d characters long: at most %d", what, n, max)
	}
	return nil
}
