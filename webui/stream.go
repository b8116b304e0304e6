package webui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/tasktype"
)

// Live log tails poll the log file and the run's row; they end when the
// run ends, the client goes, or after maxTail.
const (
	tailPoll   = 300 * time.Millisecond
	tailStatus = time.Second
	maxTail    = time.Hour
)

// streamLog serves GET /runs/:id/stream?from=<offset> as server-sent
// events: "log" events carry the log's new text (a JSON string, whole
// lines), and one "end" event carries the run's final status.
func (s *Server) streamLog(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	offset, _ := strconv.ParseInt(c.Query("from"), 10, 64)
	offset = max(0, offset)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	// A stream is the connection's last response, so a shutdown need not
	// wait for it to go idle.
	c.Context().SetConnectionClose()
	stop := s.stop
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), maxTail)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		s.tail(ctx, w, run, offset)
	})
	return nil
}

// tail writes the run's log from offset to w as events until the run ends.
func (s *Server) tail(ctx context.Context, w *bufio.Writer, run tasktype.Run, offset int64) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	lastWrite := time.Now()
	send := func(event string, v any) bool {
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		lastWrite = time.Now()
		return w.Flush() == nil
	}
	// flush sends what the log has past offset; at the end of the run it
	// also sends a last line without its newline.
	flush := func(final bool) bool {
		if f == nil {
			var err error
			if f, err = s.openInTask(run.TaskName, run.LogPath); err != nil {
				return true // not written yet
			}
		}
		buf := make([]byte, logChunk)
		for {
			n, err := f.ReadAt(buf, offset)
			chunk := buf[:n]
			if n == len(buf) || final {
				// send as is
			} else if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
				chunk = chunk[:i+1]
			} else {
				chunk = nil
			}
			if len(chunk) > 0 {
				if !send("log", strings.ToValidUTF8(string(chunk), "\uFFFD")) {
					return false
				}
				offset += int64(len(chunk))
			}
			if n < len(buf) || (err != nil && !errors.Is(err, io.EOF)) {
				return true
			}
		}
	}
	// Answer at once, so the client knows the stream is open.
	if _, err := w.WriteString("retry: 3000\n\n"); err != nil || w.Flush() != nil {
		return
	}
	poll := time.NewTicker(tailPoll)
	defer poll.Stop()
	lastCheck := time.Now()
	for {
		if !flush(false) {
			return
		}
		if time.Since(lastCheck) >= tailStatus {
			lastCheck = time.Now()
			cur, err := s.store.GetRun(ctx, run.ID)
			if err == nil && cur.EndTime != nil {
				if flush(true) {
					send("end", string(cur.Status))
				}
				return
			}
		}
		if time.Since(lastWrite) >= 15*time.Second { // find out whether the client is still there
			lastWrite = time.Now()
			if _, err := w.WriteString(": keepalive\n\n"); err != nil || w.Flush() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
}
