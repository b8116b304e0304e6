package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/publish"
	"github.com/schetask/schetask/taskhelper"
	"github.com/schetask/schetask/tasktype"
)

// runHelper answers one run's task helper requests (taskhelper.Handler).
type runHelper struct {
	a       *Activities
	in      ExecTaskInput
	notices atomic.Int64
}

// maxNotice bounds the text of a task's own alert.
const maxNotice = 4000

// Notify raises the task's own alert.
func (h *runHelper) Notify(ctx context.Context, title, message string) (taskhelper.Response, error) {
	if h.a.Alerts == nil {
		return taskhelper.Response{}, errors.New("notify: alerts are not configured on this worker")
	}
	message = truncate(strings.ToValidUTF8(message, "\uFFFD"), maxNotice)
	if title == "" {
		title, _, _ = strings.Cut(message, "\n")
	}
	title = truncate(strings.ToValidUTF8(title, "\uFFFD"), 150)
	n := h.notices.Add(1)
	res, err := h.a.Alerts.Raise(ctx, alert.Event{Kind: alert.KindCustom, TaskName: h.in.TaskName, RunID: h.in.RunID,
		Key: fmt.Sprintf("custom:%d:%d", h.in.RunID, n), Title: title, Text: message})
	if err != nil {
		return taskhelper.Response{}, fmt.Errorf("notify: %w", err)
	}
	return taskhelper.Response{AlertID: res.AlertID, Sent: res.Sent}, nil
}

// Publish copies the run's publish folder to each target and records it.
func (h *runHelper) Publish(ctx context.Context, targets []string) (taskhelper.Response, error) {
	src, err := h.a.Layout.PublishDir(h.in.TaskName)
	if err != nil {
		return taskhelper.Response{}, err
	}
	for _, t := range targets {
		if _, ok := h.a.PublishTargets[t]; !ok {
			configured := strings.Join(h.a.PublishTargets.Names(), ", ")
			if configured == "" {
				configured = "none"
			}
			return taskhelper.Response{}, fmt.Errorf("%w %q (configured: %s; see SCHETASK_PUBLISH_TARGETS)",
				publish.ErrUnknownTarget, t, configured)
		}
	}
	var resp taskhelper.Response
	for _, t := range targets {
		res, err := publish.Folder(src, h.a.PublishTargets[t], h.in.TaskName)
		if err != nil {
			return resp, fmt.Errorf("publish to %s: %w", t, err)
		}
		dst, files := res.Path, res.Files
		if files == nil {
			files = []string{}
		}
		var skipped []taskhelper.Skipped
		for _, s := range res.Skipped {
			skipped = append(skipped, taskhelper.Skipped{Path: s.Path, Reason: s.Reason})
		}
		if err := h.a.Store.AddPublish(context.WithoutCancel(ctx), h.in.RunID,
			tasktype.Publish{Target: t, Path: dst, Files: files, At: time.Now().UTC()}); err != nil {
			return resp, err
		}
		resp.Published = append(resp.Published, taskhelper.Published{Target: t, Path: dst, Files: files, Skipped: skipped})
		h.a.logger().Info("published", "task", h.in.TaskName, "run", h.in.RunID, "target", t, "files", len(files), "skipped", len(skipped))
	}
	return resp, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
