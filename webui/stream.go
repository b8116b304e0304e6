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
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/tasktype"
)

// Live log tails poll the log file and the run's row; they end when the
// run ends, the client goes, the session ends, or after maxTail (sooner
// when the session reaches its maximum age). Every poll of the database
// is one short query, so a tail never keeps one of the pool's few
// connections between polls.
const (
	tailPoll    = 300 * time.Millisecond
	tailStatus  = time.Second
	tailSession = 2 * time.Second
	// tailKeepalive is how often an idle tail writes a comment; a write
	// is how a tail learns that its client has gone, freeing its place.
	tailKeepalive = 2 * time.Second
	maxTail       = time.Hour
)

// How many live tails may be open at once, for one user and for the
// whole console: each polls the disk and the database.
const (
	maxTailsPerUser = 4
	maxTails        = 64
)

// tailCounts counts a console's open live tails, in all and per user; a
// user's entry goes when their count falls to zero.
type tailCounts struct {
	sync.Mutex
	all    int
	byUser map[string]int
}

// The answers to a tail over a limit. EventSource gives up on a status
// other than 200, so the browser does not retry them in a loop.
var (
	errTooManyUserTails = fiber.NewError(fiber.StatusTooManyRequests,
		fmt.Sprintf("too many live logs open: at most %d per user; close another tab showing a running run", maxTailsPerUser))
	errTooManyTails = fiber.NewError(fiber.StatusTooManyRequests,
		"too many live logs open on this console; try again later or reload the page for the log so far")
)

// acquireTail takes a place for one more live tail of user, or says why
// there is none; release gives it back.
func (s *Server) acquireTail(user string) (release func(), err error) {
	t := &s.tails
	t.Lock()
	defer t.Unlock()
	switch {
	case t.byUser[user] >= maxTailsPerUser:
		return nil, errTooManyUserTails
	case t.all >= maxTails:
		return nil, errTooManyTails
	}
	if t.byUser == nil {
		t.byUser = map[string]int{}
	}
	t.byUser[user]++
	t.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Lock()
			defer t.Unlock()
			if t.byUser[user]--; t.byUser[user] <= 0 {
				delete(t.byUser, user)
			}
			t.all--
		})
	}, nil
}

// streamLog serves GET /runs/:id/stream?from=<offset> as server-sent
// events: "log" events carry the log's new text (a JSON string of whole
// lines; a line longer than a chunk comes in pieces of whole characters), and one "end" event carries the run's final status. Each event's
// id is the log's byte offset after it; a browser reconnecting sends the
// last one as Last-Event-ID and the tail resumes there, so no text comes
// twice.
func (s *Server) streamLog(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	offset, _ := strconv.ParseInt(c.Query("from"), 10, 64)
	if last, err := strconv.ParseInt(c.Get("Last-Event-ID"), 10, 64); err == nil {
		offset = last
	}
	offset = max(0, offset)
	sess, err := s.sessions.Get(c)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	sessionID := sess.ID()
	// The tail ends with the session's maximum age too.
	life := maxTail
	if loginAt, _ := sess.Get(sessLoginAt).(int64); loginAt > 0 {
		life = min(life, time.Until(time.UnixMilli(loginAt).Add(s.opts.SessionMaxAge)))
	}
	u, _ := c.Locals("user").(currentUser)
	return s.streamTail(c, run, offset, u.Name, life, func(context.Context) bool { return s.sessionAlive(sessionID) },
		func(r tasktype.Run) any { return string(r.Status) })
}

// streamTail answers c with the run's log from offset as server-sent
// events (tail) for user, one of the user's maxTailsPerUser, for at most
// life, and until alive says no or the console stops. A log that is
// there but cannot be read (not a regular file, or outside the task's
// folder) is refused now, as an EventSource does not retry on a status; a
// log not written yet is waited for, and a run that ended without one (it
// could not start) streams just its end.
func (s *Server) streamTail(c *fiber.Ctx, run tasktype.Run, offset int64, user string, life time.Duration,
	alive func(context.Context) bool, end func(tasktype.Run) any) error {
	if f, err := s.openInTask(run.TaskName, run.LogPath); err == nil {
		f.Close()
	} else if !errors.Is(err, errFileGone) {
		return err
	}
	release, err := s.acquireTail(user)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	// A stream is the connection's last response, so a shutdown need not
	// wait for it to go idle.
	c.Context().SetConnectionClose()
	stop := s.stop
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), life)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		s.tail(ctx, w, run, offset, alive, end)
	})
	return nil
}

// sessionAlive reports whether the session a tail was opened in still
// exists: logging out, its expiry, and any change to its user that ends
// the user's sessions (disabled, role, password) remove it. An error
// reading it counts as alive: a database hiccup should not cut every tail.
func (s *Server) sessionAlive(id string) bool {
	data, err := s.store.Sessions().Get(id)
	return err != nil || data != nil
}

// tail writes the run's log from offset to w as events until the run
// ends, then an end event with end's value of the ended run. It also ends
// when alive, asked every tailSession, says the reader may no longer read
// (its session or token is gone), or when ctx ends.
func (s *Server) tail(ctx context.Context, w *bufio.Writer, run tasktype.Run, offset int64,
	alive func(context.Context) bool, end func(tasktype.Run) any) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	lastWrite := time.Now()
	send := func(event string, v any) bool {
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", offset, event, data)
		lastWrite = time.Now()
		return w.Flush() == nil
	}
	buf := make([]byte, logChunk)
	// flush sends what the log has past offset; at the end of the run it
	// also sends a last line without its newline. It reports false when
	// the tail must end: the client went, or the log cannot be read.
	flush := func(final bool) bool {
		if f == nil {
			var err error
			if f, err = s.openInTask(run.TaskName, run.LogPath); err != nil {
				return errors.Is(err, errFileGone) // not written yet
			}
		}
		for {
			n, err := f.ReadAt(buf, offset)
			chunk := buf[:n]
			switch lastLF := bytes.LastIndexByte(chunk, '\n'); {
			case final && n < len(buf):
				// the rest of the log: send as is
			case lastLF >= 0:
				chunk = chunk[:lastLF+1]
			case n == len(buf):
				// A line longer than a chunk goes in pieces of whole characters.
				chunk = wholeRunes(chunk)
			default:
				chunk = nil // wait for the line's end
			}
			if len(chunk) > 0 {
				offset += int64(len(chunk))
				if !send("log", strings.ToValidUTF8(string(chunk), "\uFFFD")) {
					return false
				}
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
	// The first status check comes at once: a run that has ended sends
	// its log and its end without waiting.
	var lastCheck time.Time
	lastAlive := time.Now()
	for {
		if !flush(false) {
			return
		}
		if time.Since(lastAlive) >= tailSession {
			lastAlive = time.Now()
			if !alive(ctx) {
				return
			}
		}
		if time.Since(lastCheck) >= tailStatus {
			lastCheck = time.Now()
			cur, err := s.store.GetRun(ctx, run.ID)
			if err == nil && cur.EndTime != nil {
				if flush(true) {
					send("end", end(cur))
				}
				return
			}
		}
		if time.Since(lastWrite) >= tailKeepalive {
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

// wholeRunes is b without an incomplete character at its end, so that a
// chunk cut from a log never splits one; b as is when its end is not an
// incomplete UTF-8 sequence.
func wholeRunes(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) && i > 0 {
				return b[:i]
			}
			return b
		}
	}
	return b
}
