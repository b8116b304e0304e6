package tasktype

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
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
	StatusNote      string
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
