package main

import (
	"context"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	schedrule "github.com/schetask/schetask/rule"
)

// rawQueue is a task queue no worker polls: a raw schedule's workflow
// starts and waits there, so what is timed is Temporal alone, the
// anchor schetask's own figures are compared with.
const rawQueue = "bench-raw-nobody-polls"

// rawSchedules fire a workflow of type workflowType on rule, one schedule
// per id, on the server schetask uses.
type rawSchedules struct {
	c            client.Client
	workflowType string
	ids          []string
}

// startRaw creates n schedules on rule, each starting workflowType.
func startRaw(ctx context.Context, c client.Client, workflowType, rule string, n int) (*rawSchedules, error) {
	parsed, err := schedrule.Parse(rule)
	if err != nil {
		return nil, err
	}
	spec, err := parsed.Spec("UTC", time.Now())
	if err != nil {
		return nil, err
	}
	r := &rawSchedules{c: c, workflowType: workflowType}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%03d", workflowType, i)
		if _, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: id, Spec: spec, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
			Action: &client.ScheduleWorkflowAction{ID: id, Workflow: workflowType, TaskQueue: rawQueue,
				// Nobody runs them: they time out on their own.
				WorkflowRunTimeout: time.Minute},
		}); err != nil {
			r.stop(ctx)
			return nil, fmt.Errorf("create raw schedule %s: %w", id, err)
		}
		r.ids = append(r.ids, id)
	}
	return r, nil
}

// stop deletes the schedules; their workflows time out by themselves.
func (r *rawSchedules) stop(ctx context.Context) {
	for _, id := range r.ids {
		_ = r.c.ScheduleClient().GetHandle(ctx, id).Delete(context.WithoutCancel(ctx))
	}
}

// lateness waits until the schedules' workflows scheduled in [from, to]
// are visible (at least want of them, or a minute), and returns how late
// each started: nominal fire → workflow started, in ms.
func (r *rawSchedules) lateness(ctx context.Context, from, to time.Time, want int) ([]float64, error) {
	var late []float64
	deadline := time.Now().Add(time.Minute)
	for {
		late = late[:0]
		var token []byte
		for {
			resp, err := r.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("WorkflowType = %q", r.workflowType), NextPageToken: token, PageSize: 1000})
			if err != nil {
				return nil, fmt.Errorf("list raw workflows: %w", err)
			}
			for _, e := range resp.Executions {
				p := e.GetSearchAttributes().GetIndexedFields()["TemporalScheduledStartTime"]
				var nominal time.Time
				if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &nominal) != nil {
					continue
				}
				if nominal.Before(from) || nominal.After(to) {
					continue
				}
				late = append(late, ms(e.GetStartTime().AsTime().Sub(nominal)))
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
		if len(late) >= want || time.Now().After(deadline) {
			if len(late) < want {
				fmt.Fprintf(os.Stderr, "raw Temporal: %d of %d fires visible after a minute\n", len(late), want)
			}
			return late, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// rawBurst fires n raw schedules due at the same second and returns
// each workflow's lateness.
func rawBurst(ctx context.Context, c client.Client, workflowType string, n int) (Dist, error) {
	at := time.Now().UTC().Add(20 * time.Second).Truncate(time.Second)
	rule := fmt.Sprintf("%d %d %d %d %d *", at.Second(), at.Minute(), at.Hour(), at.Day(), int(at.Month()))
	fmt.Fprintf(os.Stderr, "raw Temporal: %d schedules due at %s, starting a workflow no worker polls…\n", n, at.Format(time.TimeOnly))
	r, err := startRaw(ctx, c, workflowType, rule, n)
	if err != nil {
		return Dist{}, err
	}
	defer r.stop(ctx)
	if time.Now().After(at) {
		return Dist{}, fmt.Errorf("creating %d raw schedules took past their fire time", n)
	}
	time.Sleep(time.Until(at.Add(2 * time.Second)))
	late, err := r.lateness(ctx, at, at, n)
	if err != nil {
		return Dist{}, err
	}
	return summarize(late), nil
}
