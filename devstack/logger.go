package devstack

import "go.temporal.io/api/workflowservice/v1"

var describeDefault = &workflowservice.DescribeNamespaceRequest{Namespace: "default"}

// quietLogger silences the SDK's retry chatter while a server starts.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
