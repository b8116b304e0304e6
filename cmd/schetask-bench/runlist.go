package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/webui"
)

// RunListResult is the console's run list answering at a fixed offered
// rate, open loop, over the seeded runs.
type RunListResult struct {
	Page string `json:"page"`
	// Runs is how many runs the table held.
	Runs int `json:"runs_in_table"`
	// Clients is how many logged-in sessions the requests were spread over.
	Clients int `json:"clients"`
	// OfferedPerSecond is the fixed rate requests were sent at, whether or
	// not earlier ones had answered.
	OfferedPerSecond int `json:"offered_per_second"`
	Errors           int `json:"errors"`
	// Latency runs from each request's scheduled send time to its last
	// byte, so queueing behind a slow answer is counted, not hidden. The
	// warm-up is not in it.
	Latency Dist `json:"latency"`
	// AchievedPerSecond is the answers per second over the measurement.
	AchievedPerSecond float64 `json:"achieved_per_second"`
}

// runListPages are the pages measured: the list as first opened, a page
// deep in it (page 1,000 of 50 runs; filled in by deepCursor), and the
// filter of a person looking for one task's failures.
var runListPages = []string{"/runs", "/runs?after=%s", "/runs?task=bench&status=failed"}

// runListBench serves the console over st, seeds runs, and offers rate
// requests a second, spread over clients sessions, to each page of
// runListPages for duration.
func runListBench(ctx context.Context, st *store.Store, runs, rate, clients int, duration time.Duration) ([]RunListResult, error) {
	fmt.Fprintf(os.Stderr, "run list: seeding %d runs…\n", runs)
	if err := seedRunList(ctx, st, runs); err != nil {
		return nil, fmt.Errorf("seed runs: %w", err)
	}
	srv, err := webui.New(st, slog.New(slog.DiscardHandler), webui.Options{Namespace: "default"})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.App().Listener(ln) }()
	defer func() { _ = srv.App().Shutdown() }()
	base := "http://" + ln.Addr().String()
	sessions := make([]*http.Client, max(1, clients))
	for i := range sessions {
		if sessions[i], err = loggedInClient(ctx, st, base, i); err != nil {
			return nil, fmt.Errorf("log in: %w", err)
		}
	}
	deep, err := deepCursor(ctx, st, min(runs/2, 50*1000))
	if err != nil {
		return nil, err
	}
	var out []RunListResult
	for _, page := range runListPages {
		if strings.Contains(page, "%s") {
			page = fmt.Sprintf(page, deep)
		}
		fmt.Fprintf(os.Stderr, "run list: %s at %d requests/s from %d clients for %s…\n", page, rate, len(sessions), duration)
		// A short warm-up fills the connection pools and caches first.
		if _, err := openLoop(ctx, sessions, base+page, rate, 2*time.Second); err != nil {
			return nil, err
		}
		r, err := openLoop(ctx, sessions, base+page, rate, duration)
		if err != nil {
			return nil, err
		}
		r.Page, r.Runs, r.Clients = page, runs, len(sessions)
		out = append(out, r)
	}
	return out, nil
}

// deepCursor is the run list's page cursor after the first depth runs,
// newest first, as the console's "older" link would carry it.
func deepCursor(ctx context.Context, st *store.Store, depth int) (string, error) {
	var start time.Time
	var id int64
	err := st.Pool().QueryRow(ctx, `SELECT start_time, id FROM t_task_exec_list
		ORDER BY start_time DESC, id DESC OFFSET $1 LIMIT 1`, max(0, depth-1)).Scan(&start, &id)
	if err != nil {
		return "", fmt.Errorf("deep page cursor: %w", err)
	}
	return strconv.FormatInt(start.UnixMicro(), 10) + "_" + strconv.FormatInt(id, 10), nil
}

// seedRunList inserts n ended runs, one a second back from now: 70% of
// a busy task "bench" that fails once in 5,000 runs, the rest spread over 20 others.
func seedRunList(ctx context.Context, st *store.Store, n int) error {
	_, err := st.Pool().Exec(ctx, `
		INSERT INTO t_task_exec_list (task_name, task_version, workflow_id, run_id, scheduled_time, start_time,
			end_time, status, exit_code)
		SELECT CASE WHEN i % 10 < 7 THEN 'bench' ELSE 'list-' || (i % 20) END, 'list-v' || i, 'list-wf' || i, 'r' || i,
			now() - i * interval '1 second', now() - i * interval '1 second', now() - i * interval '1 second' + interval '50 ms',
			CASE WHEN i % 10 < 7 AND i % 5000 = 0 THEN 'failed' WHEN i % 10 >= 7 AND i % 3 = 0 THEN 'failed' ELSE 'succeeded' END,
			CASE WHEN i % 10 < 7 AND i % 5000 = 0 THEN 1 WHEN i % 10 >= 7 AND i % 3 = 0 THEN 2 ELSE 0 END
		FROM generate_series(1, $1) AS i`, n)
	if err != nil {
		return err
	}
	_, err = st.Pool().Exec(ctx, `ANALYZE t_task_exec_list`)
	return err
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// loggedInClient is an HTTP client with a viewer's session on the console.
func loggedInClient(ctx context.Context, st *store.Store, base string, i int) (*http.Client, error) {
	user, password := fmt.Sprintf("bench-viewer-%d", i), "bench viewer password"
	hash, err := webui.HashPassword(password)
	if err != nil {
		return nil, err
	}
	if err := st.UpsertUser(ctx, store.User{Username: user, PasswordHash: hash, Role: string(webui.RoleViewer)}); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: time.Minute}}
	resp, err := c.Get(base + "/login")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no CSRF token on the login page")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "username": {user}, "password": {password}, "next": {"/"}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login answered %d", resp.StatusCode)
	}
	return c, nil
}

// openLoop sends GET target at rate a second for duration on a fixed
// schedule, each request on its own goroutine whether or not earlier ones
// have answered, from the clients in turn, and times each from its
// scheduled send.
func openLoop(ctx context.Context, clients []*http.Client, target string, rate int, duration time.Duration) (RunListResult, error) {
	res := RunListResult{OfferedPerSecond: rate}
	n := int(duration.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]float64, n)
	failed := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(d):
			}
		}
		wg.Add(1)
		go func(i int, at time.Time, c *http.Client) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			lat[i], failed[i] = ms(time.Since(at)), err != nil
		}(i, at, clients[i%len(clients)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, f := range failed {
		if f {
			res.Errors++
		}
	}
	res.Latency = summarize(lat)
	res.AchievedPerSecond = float64(n) / elapsed.Seconds()
	return res, nil
}

// printRunList prints the run list figures for people.
func printRunList(rs []RunListResult) {
	for _, r := range rs {
		fmt.Printf("run list %s over %d runs, %d requests/s offered open loop from %d clients: %d errors, %s (%.0f answers/s)\n",
			r.Page, r.Runs, r.OfferedPerSecond, r.Clients, r.Errors, r.Latency, r.AchievedPerSecond)
	}
}
