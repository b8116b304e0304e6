package webui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/tasktype"
)

// logChunk is how much of a log a page shows at once.
const logChunk = 64 << 10

// errOutside is returned for a stored path that does not lead to a file
// inside its task's folder.
var errOutside = fiber.NewError(fiber.StatusNotFound, "no such file in the task's folder")

// errNotRegular is returned for a path that leads to a folder, a named
// pipe, a device or a socket rather than a file.
var errNotRegular = fiber.NewError(fiber.StatusNotFound, "not a regular file")

// errFileGone is returned for a file that is not there: a log the task
// has not written yet, or a file deleted since its row was written.
var errFileGone = fiber.NewError(fiber.StatusNotFound, "the file is gone (deleted or on another host's disk)")

// openInTask opens a file of a task by a path relative to the tasks root,
// as the run rows store them ("<task>/logs/…"). It goes through os.Root on
// the task's folder, so "..", absolute paths and symbolic links leading
// out of the folder are refused whatever the database says. The open does
// not block (a named pipe in place of a log would otherwise hold the
// request until something writes to it), and anything but a regular file
// is refused before a byte is read.
func (s *Server) openInTask(taskName, rel string) (*os.File, error) {
	layout := tasktype.Layout{Root: s.opts.TasksDir}
	dir, err := layout.TaskDir(taskName)
	if err != nil || s.opts.TasksDir == "" {
		return nil, errOutside
	}
	inner, ok := strings.CutPrefix(rel, taskName+"/")
	if !ok || inner == "" {
		return nil, errOutside
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errOutside
	}
	defer root.Close()
	f, err := root.OpenFile(inner, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errFileGone
		}
		return nil, errOutside
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errNotRegular
	}
	return f, nil
}

// logView is one page of a run's log, cut at line boundaries.
type logView struct {
	Text string
	Size int64
	// Start and End are the page's byte offsets: "← earlier" shows the
	// page that ends at Start (?before=Start), "later →" the one that
	// starts at End (?log=End), so pages join exactly both ways.
	Start, End       int64
	HasPrev, HasNext bool
	Missing          string
}

// logAt is the page of a log a request asks for: the one starting at
// offset (?log=N), or the one ending there (?before=N, and the end of
// the log when neither is given).
type logAt struct {
	offset   int64
	backward bool
}

// logEnd asks for the last page of a log.
var logEnd = logAt{offset: math.MaxInt64, backward: true}

// logOffset reads which page of the log the run page shows.
func logOffset(c *fiber.Ctx) logAt {
	if n, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && n >= 0 {
		return logAt{offset: n, backward: true}
	}
	if n, err := strconv.ParseInt(c.Query("log"), 10, 64); err == nil && n >= 0 {
		return logAt{offset: n}
	}
	return logEnd
}

// readLog reads the page of the run's log that at asks for.
func (s *Server) readLog(run tasktype.Run, at logAt) (logView, error) {
	var v logView
	f, err := s.openInTask(run.TaskName, run.LogPath)
	if err != nil {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			v.Missing = fe.Message
			return v, nil
		}
		return v, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return v, err
	}
	size := fi.Size()
	if !at.backward && at.offset > size {
		at = logEnd
	}
	at.offset = min(at.offset, size)
	// One read covers what finding the page's two ends needs: half a
	// page before the asked offset, to tell a line's start from its
	// middle, and up to two pages on.
	lo, hi := max(0, at.offset-logChunk-halfChunk-2), min(size, at.offset+2*logChunk)
	buf := make([]byte, hi-lo)
	n, err := f.ReadAt(buf, lo)
	if err != nil && !errors.Is(err, io.EOF) {
		return v, fmt.Errorf("read log: %w", err)
	}
	w := logWindow{off: lo, b: buf[:n], size: size}
	if int64(n) < hi-lo { // cut short since the stat
		w.size = lo + int64(n)
		at.offset = min(at.offset, w.size)
	}
	if at.backward {
		v.End = w.boundaryFrom(at.offset)
		v.Start = w.boundaryFrom(max(0, v.End-logChunk))
	} else {
		v.Start = w.boundaryFrom(at.offset)
		v.End = w.pageEnd(v.Start)
	}
	v.Size = w.size
	v.Text = strings.ToValidUTF8(string(w.slice(v.Start, v.End)), "\uFFFD")
	v.HasPrev, v.HasNext = v.Start > 0, v.End < w.size
	return v, nil
}

// halfChunk is how far into a line a page may start: a line longer than
// a page is shown in pieces, and a piece starts at least this far from
// its line's start.
const halfChunk = logChunk / 2

// logWindow is the bytes of a log from offset off, in a log of size
// bytes. Its methods find page boundaries: a line's start, or, in a line
// longer than halfChunk, a character at least halfChunk into it. Every
// page starts and ends on one, so a page that ends at an offset and the
// page that starts there join without a gap or an overlap.
type logWindow struct {
	off, size int64
	b         []byte
}

// slice is the log's bytes [from, to).
func (w logWindow) slice(from, to int64) []byte { return w.b[from-w.off : to-w.off] }

// end is the offset just past the window.
func (w logWindow) end() int64 { return w.off + int64(len(w.b)) }

// runeStart reports whether a character starts at p (past the window:
// yes, as nothing there can be shown cut).
func (w logWindow) runeStart(p int64) bool {
	return p < w.off || p >= w.end() || utf8.RuneStart(w.b[p-w.off])
}

// runeFrom is the first character start at or after p.
func (w logWindow) runeFrom(p int64) int64 {
	for i := 0; i < utf8.UTFMax-1 && p < w.size && !w.runeStart(p); i++ {
		p++
	}
	return min(p, w.size)
}

// boundaryFrom is the first page boundary at or after p: p itself when
// it starts a line; else the next line's start, or, in a line longer than
// halfChunk, the first character at least halfChunk into the line.
func (w logWindow) boundaryFrom(p int64) int64 {
	if p <= 0 || p >= w.size {
		return max(0, min(p, w.size))
	}
	back := max(0, p-halfChunk)
	i := bytes.LastIndexByte(w.slice(back, p), '\n')
	lineStart := back + int64(i) + 1
	switch {
	case i < 0 && back > 0:
		// The line began more than halfChunk before p: a piece may start here.
		return w.runeFrom(p)
	case lineStart == p:
		return p
	}
	piece := w.runeFrom(lineStart + halfChunk)
	if j := bytes.IndexByte(w.slice(p, min(piece, w.end())), '\n'); j >= 0 {
		return p + int64(j) + 1
	}
	return piece
}

// pageEnd is where a page starting at boundary start ends: after its
// last whole line within logChunk bytes, or, when a line runs past them,
// at the last character start within them.
func (w logWindow) pageEnd(start int64) int64 {
	limit := start + logChunk
	if limit >= w.size {
		return w.size
	}
	if i := bytes.LastIndexByte(w.slice(start, limit), '\n'); i >= 0 {
		return start + int64(i) + 1
	}
	for i := 0; i < utf8.UTFMax-1 && !w.runeStart(limit); i++ {
		limit--
	}
	return limit
}

// downloadLog sends a run's whole log as a file.
func (s *Server) downloadLog(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.log", run.TaskName, strings.ReplaceAll(run.Version, "/", "-"))
	return s.sendFile(c, run.TaskName, run.LogPath, name, "text/plain; charset=utf-8")
}

// sendFile sends a file of a task (a path relative to the tasks root, as
// rows store them) as a download named filename.
func (s *Server) sendFile(c *fiber.Ctx, taskName, rel, filename, contentType string) error {
	f, err := s.openInTask(taskName, rel)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	c.Set(fiber.HeaderContentDisposition, attachment(filename))
	c.Set(fiber.HeaderContentType, contentType)
	return c.SendStream(f, int(fi.Size()))
}
