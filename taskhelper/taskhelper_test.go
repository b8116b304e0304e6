package taskhelper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a Handler that remembers what it was asked.
type recorder struct{ notes, targets []string }

func (r *recorder) Notify(_ context.Context, title, message string) (Response, error) {
	r.notes = append(r.notes, title+"|"+message)
	return Response{AlertID: 7, Sent: true}, nil
}

func (r *recorder) Publish(_ context.Context, targets []string) (Response, error) {
	if targets[0] == "nowhere" {
		return Response{}, errors.New(`unknown publish target "nowhere"`)
	}
	r.targets = append(r.targets, targets...)
	return Response{Published: []Published{{Target: targets[0], Path: "/srv/" + targets[0], Files: []string{"a.json"}}}}, nil
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	srv, err := Listen(filepath.Join(t.TempDir(), "run.sock"), h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	resp, err := Call(ctx, srv.Path(), Request{Op: OpNotify, Message: "stock low\nonly 3 left"})
	if err != nil || resp.AlertID != 7 || !resp.Sent {
		t.Fatalf("notify: %+v, %v", resp, err)
	}
	resp, err = Call(ctx, srv.Path(), Request{Op: OpPublish, Targets: []string{"prod"}})
	if err != nil || len(resp.Published) != 1 || resp.Published[0].Path != "/srv/prod" {
		t.Fatalf("publish: %+v, %v", resp, err)
	}

	// Several requests on one connection, and every kind of bad one.
	conn, err := net.Dial("unix", srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lines := []struct{ send, wantErr string }{
		{`{"op":"notify","message":"again","title":"t"}`, ""},
		{`not json`, "request is not a JSON object"},
		{`{"op":"delete-everything"}`, `unknown op "delete-everything"`},
		{`{"op":"notify"}`, "message is empty"},
		{`{"op":"publish"}`, "no targets"},
		{`{"op":"publish","targets":["nowhere"]}`, `unknown publish target "nowhere"`},
		{strings.Repeat("x", MaxLine+10), "request longer than"},
	}
	r := bufio.NewReader(conn)
	for _, l := range lines {
		if _, err := conn.Write([]byte(l.send + "\n")); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("after %.40q: %v", l.send, err)
		}
		var resp Response
		if err := json.Unmarshal(line, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.OK != (l.wantErr == "") || !strings.Contains(resp.Error, l.wantErr) {
			t.Errorf("%.40q: got %+v, want error %q", l.send, resp, l.wantErr)
		}
	}
	if strings.Join(h.notes, ",") != "|stock low\nonly 3 left,t|again" || strings.Join(h.targets, ",") != "prod" {
		t.Errorf("handler saw notes %q, targets %q", h.notes, h.targets)
	}
	if _, err := Call(ctx, "", Request{Op: OpNotify, Message: "x"}); err == nil || !strings.Contains(err.Error(), "not running under schetask") {
		t.Errorf("Call without a socket: %v", err)
	}
}

// BenchmarkCall is one request and its answer over a run's socket, the
// overhead a task pays per notify or publish beyond the work itself.
func BenchmarkCall(b *testing.B) {
	srv, err := Listen(filepath.Join(b.TempDir(), "run.sock"), &recorder{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := Call(ctx, srv.Path(), Request{Op: OpPublish, Targets: []string{"prod"}}); err != nil {
			b.Fatal(err)
		}
	}
}
