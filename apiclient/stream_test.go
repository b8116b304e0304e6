package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logServer serves one run's log stream in the API's event format,
// closing each connection after one event until the log is all sent:
// a stream that breaks as often as it can. It records the offset each
// connection asked for.
type logServer struct {
	mu      sync.Mutex
	chunks  []string
	asked   []int64
	headers []string
}

func (s *logServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer stk_test" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"no token"}}`)
		return
	}
	offset, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		offset, _ = strconv.ParseInt(last, 10, 64)
	}
	s.mu.Lock()
	s.asked = append(s.asked, offset)
	s.headers = append(s.headers, r.Header.Get("Last-Event-ID"))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, ": keepalive\n\n")
	var pos int64
	for _, c := range s.chunks {
		end := pos + int64(len(c))
		if end > offset {
			data, _ := json.Marshal(c[offset-pos:])
			fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", end, data)
			return // the connection breaks after each event
		}
		pos = end
	}
	fmt.Fprint(w, "id: 0\nevent: end\ndata: \"succeeded\"\n\n")
}

func TestStreamLogResumesFromTheLastOffset(t *testing.T) {
	t.Parallel()
	srv := &logServer{chunks: []string{"one\n", "two\nthree\n", "four ünïcode\n"}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &Client{BaseURL: ts.URL, Token: "stk_test"}
	var out strings.Builder
	status, err := c.StreamLog(context.Background(), 7, &out, StreamOptions{GiveUpAfter: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if status != "succeeded" {
		t.Errorf("status %q, want succeeded", status)
	}
	if want := "one\ntwo\nthree\nfour ünïcode\n"; out.String() != want {
		t.Errorf("log %q, want %q (no text twice, none lost)", out.String(), want)
	}
	wantAsked := []int64{0, 4, 14, int64(len("one\ntwo\nthree\nfour ünïcode\n"))}
	if fmt.Sprint(srv.asked) != fmt.Sprint(wantAsked) {
		t.Errorf("connections asked for offsets %v, want %v", srv.asked, wantAsked)
	}
	if srv.headers[0] != "" || srv.headers[1] != "4" {
		t.Errorf("Last-Event-ID sent %q, want none then the last event's id", srv.headers)
	}
}

func TestErrorsDecodeTheAPIShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		status     int
		body       string
		wantCode   string
		wantDetail string
	}{
		{"the API's shape", http.StatusUnprocessableEntity,
			`{"error":{"code":"invalid","message":"1 problem","fields":{"rule":"bad"},"details":[{"index":2,"task":"gold","field":"rule","message":"hour 25"}]}}`,
			"invalid", "2 gold rule hour 25"},
		{"a proxy's page", http.StatusBadGateway, "<html>bad gateway</html>\nmore", "unavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer ts.Close()
			_, err := (&Client{BaseURL: ts.URL, Token: "stk_x"}).GetRun(context.Background(), 1)
			if !IsCode(err, tt.wantCode) {
				t.Fatalf("error %v, want code %s", err, tt.wantCode)
			}
			e := err.(*Error)
			if e.Status != tt.status {
				t.Errorf("status %d, want %d", e.Status, tt.status)
			}
			var got string
			for _, d := range e.Details {
				got = fmt.Sprintf("%d %s %s %s", d.Index, d.Task, d.Field, d.Message)
			}
			if got != tt.wantDetail {
				t.Errorf("details %q, want %q", got, tt.wantDetail)
			}
		})
	}
}
