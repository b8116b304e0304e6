package webui_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/webui"
)

// sseEvent is one server-sent event as a browser's EventSource sees it.
type sseEvent struct{ ID, Event, Data string }

// openStream opens a live log; on 200 the events come on the channel,
// which closes when the server ends the stream. The body closes with the
// test, or earlier through the returned response.
func openStream(t *testing.T, b *browser, path string, header ...string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		return resp, nil
	}
	events := make(chan sseEvent, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					events <- ev
				}
				ev = sseEvent{ID: ev.ID} // the id lasts until the next one
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp, events
}

// nextEvent waits for the stream's next event.
func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case e, open := <-events:
		if !open {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runningRunWithLog inserts a running run of gold whose log holds content.
func runningRunWithLog(t *testing.T, env *testenv.Env, name, content string) int64 {
	t.Helper()
	rel := "gold/logs/202611/25/" + name + ".log"
	p := filepath.Join(env.Config.TasksDir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return addRun(t, env, "gold", rel)
}

func TestLiveLogsAreCappedPerUserAndHoldNoDatabaseConnection(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	id := runningRunWithLog(t, env, "101010", "first line\n")
	addUser(t, env, "vera", "viewer password", webui.RoleViewer)
	addUser(t, env, "otto", "operator password", webui.RoleOperator)
	base := console(t, env)
	vera, otto := newBrowser(t, base), newBrowser(t, base)
	if vera.login("vera", "viewer password") != 303 || otto.login("otto", "operator password") != 303 {
		t.Fatal("login failed")
	}
	path := fmt.Sprintf("/runs/%d/stream?from=0", id)

	var open []*http.Response
	for i := range 4 {
		resp, events := openStream(t, vera, path)
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d, want 200", i+1, resp.StatusCode)
		}
		if e := nextEvent(t, events); e.Data != `"first line\n"` {
			t.Fatalf("stream %d: first event %+v", i+1, e)
		}
		open = append(open, resp)
	}
	if resp, _ := openStream(t, vera, path); resp.StatusCode != 429 {
		resp.Body.Close()
		t.Errorf("a fifth stream of the same user: %d, want 429", resp.StatusCode)
	} else if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "at most 4 per user") {
		t.Errorf("a fifth stream of the same user: %q, want why", body)
	}
	if resp, _ := openStream(t, otto, path); resp.StatusCode != 200 {
		t.Errorf("another user's stream: %d, want 200 (the cap is per user)", resp.StatusCode)
	}

	// Between its polls a stream holds no connection of the small pool.
	pollUntil(t, 5*time.Second, "no database connection acquired while five streams are open", func() bool {
		return env.Store.Pool().Stat().AcquiredConns() == 0
	})

	// Closing one gives its place back.
	open[0].Body.Close()
	pollUntil(t, 15*time.Second, "a place freed after a stream closed", func() bool {
		resp, _ := openStream(t, vera, path)
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func TestLiveLogEventsCarryOffsetsAndAReconnectResumesWithoutRepeating(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	id := runningRunWithLog(t, env, "101010", "one\ntwo\n")
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	path := fmt.Sprintf("/runs/%d/stream?from=0", id)
	resp, events := openStream(t, b, path)
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	if e := nextEvent(t, events); e.Event != "log" || e.Data != `"one\ntwo\n"` || e.ID != "8" {
		t.Errorf("first event %+v, want the log so far with id 8 (its end)", e)
	}
	resp.Body.Close()

	f, err := os.OpenFile(filepath.Join(env.Config.TasksDir, "gold/logs/202611/25/101010.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprint(f, "three\n")
	// The browser reconnects to the same URL, saying the last id it saw.
	resp, events = openStream(t, b, path, "Last-Event-ID", "8")
	if resp.StatusCode != 200 {
		t.Fatalf("reconnect: %d", resp.StatusCode)
	}
	if e := nextEvent(t, events); e.Data != `"three\n"` || e.ID != "14" {
		t.Errorf("after reconnecting: %+v, want only the new line, id 14", e)
	}
	fmt.Fprint(f, "four")
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE t_task_exec_list SET status = 'succeeded', exit_code = 0,
		end_time = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, events); e.Data != `"four"` || e.ID != "18" {
		t.Errorf("last words: %+v, want id 18", e)
	}
	if e := nextEvent(t, events); e.Event != "end" || e.Data != `"succeeded"` || e.ID != "18" {
		t.Errorf("end: %+v, want id 18", e)
	}
}

func TestLiveLogEndsSoonAfterItsSessionEnds(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	id := runningRunWithLog(t, env, "101010", "first line\n")
	base := console(t, env)
	path := fmt.Sprintf("/runs/%d/stream?from=0", id)
	for _, tt := range []struct {
		desc string
		end  func(t *testing.T, b *browser, user string)
	}{
		{"the user logs out", func(t *testing.T, b *browser, _ string) {
			if code, _, _ := b.do("POST", "/logout", url.Values{"_csrf": {b.token("/")}}); code != 303 {
				t.Fatalf("logout: %d", code)
			}
		}},
		{"an admin disables the user", func(t *testing.T, _ *browser, user string) {
			if _, _, err := env.Store.ChangeUser(t.Context(), user, func(u *store.User) error {
				u.Disabled = true
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			user := strings.ReplaceAll(tt.desc, " ", "-")
			addUser(t, env, user, "viewer password", webui.RoleViewer)
			addUser(t, env, user+"-other", "viewer password", webui.RoleViewer)
			b, other := newBrowser(t, base), newBrowser(t, base)
			if b.login(user, "viewer password") != 303 || other.login(user+"-other", "viewer password") != 303 {
				t.Fatal("login failed")
			}
			_, events := openStream(t, b, path)
			_, stays := openStream(t, other, path)
			if events == nil || stays == nil {
				t.Fatal("a stream did not open")
			}
			nextEvent(t, events)
			nextEvent(t, stays)

			tt.end(t, b, user)
			deadline := time.After(10 * time.Second)
			for ended := false; !ended; {
				select {
				case e, open := <-events:
					if open {
						t.Errorf("an event after the session ended: %+v", e)
					}
					ended = !open
				case <-deadline:
					t.Fatal("the stream still runs 10 s after its session ended")
				}
			}
			// Another session's stream goes on.
			select {
			case e, open := <-stays:
				if !open {
					t.Errorf("another session's stream ended too (last %+v)", e)
				}
			default:
			}
		})
	}
}

// readAllEvents reads a stream's events until the server ends it; unlike
// openStream it takes events of any length.
func readAllEvents(t *testing.T, b *browser, path string) []sseEvent {
	t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	done := time.AfterFunc(30*time.Second, func() { resp.Body.Close() })
	defer done.Stop()
	var events []sseEvent
	var ev sseEvent
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return events
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.Data != "" {
				events = append(events, ev)
			}
			ev = sseEvent{ID: ev.ID}
		case strings.HasPrefix(line, "id: "):
			ev.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestLiveLogSendsWholeCharacters(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	// About 800,000 characters of three and four bytes, in lines of many
	// lengths, one of them longer than a chunk.
	var log strings.Builder
	for i := 0; log.Len() < 2600<<10; i++ {
		log.WriteString(strings.Repeat("价格😀", i%200))
		log.WriteString("\n")
		if i == 500 {
			log.WriteString(strings.Repeat("汇率🚀", 40000) + "\n")
		}
	}
	content := log.String()
	id := runningRunWithLog(t, env, "101010", content)
	if _, err := env.Store.Pool().Exec(t.Context(), `UPDATE t_task_exec_list SET status = 'succeeded', exit_code = 0,
		end_time = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	b := loggedIn(t, env, "vera", webui.RoleViewer)
	events := readAllEvents(t, b, fmt.Sprintf("/runs/%d/stream?from=0", id))
	var got strings.Builder
	cut := 0
	for _, e := range events {
		if e.Event != "log" {
			continue
		}
		var text string
		if err := json.Unmarshal([]byte(e.Data), &text); err != nil {
			t.Fatalf("event %.40q: %v", e.Data, err)
		}
		cut += strings.Count(text, "\uFFFD")
		got.WriteString(text)
	}
	if len(events) == 0 || events[len(events)-1].Event != "end" {
		t.Fatalf("the stream did not end with the run (%d events)", len(events))
	}
	if cut > 0 || got.String() != content {
		t.Errorf("received %d characters with %d U+FFFD, want the log's %d characters as they are",
			utf8.RuneCountInString(got.String()), cut, utf8.RuneCountInString(content))
	}
}
