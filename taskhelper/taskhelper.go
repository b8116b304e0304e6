// Package taskhelper is how a running task talks to schetask without
// network credentials: a Unix socket per run, named in the task's
// environment as SCHETASK_HELPER_SOCKET, speaking one JSON object per line.
//
// A request is {"op": "notify", "message": "...", "title": "..."} to raise
// the task's own alert, or {"op": "publish", "targets": ["pre", "prod"]} to
// copy the run's publish/ folder to those targets. Every request gets one
// response line: {"ok": true, ...} or {"ok": false, "error": "..."}. A
// connection may carry several requests, one after the other. Lines are at
// most MaxLine bytes.
//
// The Node helper (require('schetask')) and `schetask notify|publish` are
// clients; any language that can open a Unix socket is one too.
package taskhelper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// EnvSocket names the socket in a task's environment.
const EnvSocket = "SCHETASK_HELPER_SOCKET"

// MaxLine bounds a request line.
const MaxLine = 64 << 10

// The operations.
const (
	OpNotify  = "notify"
	OpPublish = "publish"
)

// Request is one line from the task.
type Request struct {
	Op      string   `json:"op"`
	Message string   `json:"message,omitempty"`
	Title   string   `json:"title,omitempty"`
	Targets []string `json:"targets,omitempty"`
}

// Published is one target a publish reached.
type Published struct {
	Target string   `json:"target"`
	Path   string   `json:"path"`
	Files  []string `json:"files"`
	// Skipped are the entries of publish/ left out, and why (links that
	// lead outside the folder, FIFOs, sockets).
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Skipped is an entry of publish/ that a publish left out.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Response is one line back to the task.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// AlertID and Sent answer a notify (Sent is false when the repeat
	// limit held it back).
	AlertID int64 `json:"alert_id,omitempty"`
	Sent    bool  `json:"sent,omitempty"`
	// Published answers a publish.
	Published []Published `json:"published,omitempty"`
}

// Handler carries out requests for one run.
type Handler interface {
	Notify(ctx context.Context, title, message string) (Response, error)
	Publish(ctx context.Context, targets []string) (Response, error)
}

// PeerCheck decides whether the process at the other end of a connection
// (its pid and uid, from SO_PEERCRED) may speak for the run; an error
// refuses it and says why.
type PeerCheck func(pid, uid int) error

// Option configures a Server.
type Option func(*Server)

// WithPeerCheck refuses every connection that check refuses: a run's
// socket answers only the run's own processes.
func WithPeerCheck(check PeerCheck) Option { return func(s *Server) { s.check = check } }

// Server serves one run's socket.
type Server struct {
	path    string
	ln      net.Listener
	handler Handler
	check   PeerCheck
	logger  *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Listen opens a socket at path (which must not exist) and serves h on it
// until Close.
func Listen(path string, h Handler, logger *slog.Logger, opts ...Option) (*Server, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("task helper socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("task helper socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{path: path, ln: ln, handler: h, logger: logger, ctx: ctx, cancel: cancel}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving, waits for requests in progress and removes the socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.cancel()
	s.wg.Wait()
	_ = os.Remove(s.path)
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(conn)
		}()
	}
}

func (s *Server) serve(conn net.Conn) {
	defer conn.Close()
	go func() { <-s.ctx.Done(); conn.Close() }()
	enc := json.NewEncoder(conn)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), MaxLine)
	if s.check != nil {
		if err := s.checkPeer(conn); err != nil {
			s.logger.Warn("task helper refused a connection", slog.Any("error", err))
			// Answer the first request with the refusal, so the caller
			// reads why rather than a broken pipe; nothing is carried out.
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			sc.Scan()
			_ = enc.Encode(Response{Error: "refused: " + err.Error()})
			return
		}
	}
	for sc.Scan() {
		resp := s.handle(sc.Bytes())
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		_ = enc.Encode(Response{Error: fmt.Sprintf("request longer than %d bytes", MaxLine)})
	}
}

// checkPeer asks the PeerCheck about the connecting process.
func (s *Server) checkPeer(conn net.Conn) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return errors.New("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return fmt.Errorf("peer credentials: %w", credErr)
	}
	return s.check(int(cred.Pid), int(cred.Uid))
}

func (s *Server) handle(line []byte) Response {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Response{Error: fmt.Sprintf("request is not a JSON object: %v", err)}
	}
	var (
		resp Response
		err  error
	)
	switch req.Op {
	case OpNotify:
		if req.Message == "" {
			return Response{Error: "notify: message is empty"}
		}
		resp, err = s.handler.Notify(s.ctx, req.Title, req.Message)
	case OpPublish:
		if len(req.Targets) == 0 {
			return Response{Error: "publish: no targets"}
		}
		resp, err = s.handler.Publish(s.ctx, req.Targets)
	default:
		return Response{Error: fmt.Sprintf("unknown op %q: want notify or publish", req.Op)}
	}
	if err != nil {
		s.logger.Warn("task helper request failed", slog.String("op", req.Op), slog.Any("error", err))
		return Response{Error: err.Error()}
	}
	resp.OK = true
	return resp
}

// Call sends one request to the socket at path and returns the response;
// a response that is not ok is returned with an error saying why.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	if path == "" {
		return Response{}, fmt.Errorf("task helper: %s is not set: not running under schetask", EnvSocket)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, fmt.Errorf("task helper: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Response{}, fmt.Errorf("task helper: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("task helper: read response: %w", err)
	}
	if !resp.OK {
		return resp, fmt.Errorf("task helper: %s", resp.Error)
	}
	return resp, nil
}
