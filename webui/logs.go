package webui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

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

// logView is one chunk of a run's log, cut at line boundaries.
type logView struct {
	Text             string
	Size             int64
	Start, End       int64
	Prev, Next       int64
	HasPrev, HasNext bool
	Missing          string
}

// readLog reads the chunk of the log at offset (-1: the end).
func (s *Server) readLog(run tasktype.Run, offset int64) (logView, error) {
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
	v.Size = fi.Size()
	if offset < 0 || offset > v.Size {
		offset = max(0, v.Size-logChunk)
	}
	buf := make([]byte, min(logChunk, v.Size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return v, fmt.Errorf("read log: %w", err)
	}
	buf = buf[:n]
	// Start on a whole line, unless at the start of the file.
	if offset > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf, offset = buf[i+1:], offset+int64(i)+1
		}
	}
	end := offset + int64(len(buf))
	// End on a whole line, unless at the end of the file.
	if end < v.Size {
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf, end = buf[:i+1], offset+int64(i)+1
		}
	}
	v.Text = strings.ToValidUTF8(string(buf), "\uFFFD")
	v.Start, v.End = offset, end
	v.HasPrev, v.Prev = offset > 0, max(0, offset-logChunk)
	v.HasNext, v.Next = end < v.Size, end
	return v, nil
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
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+downloadName(filename)+`"`)
	c.Set(fiber.HeaderContentType, contentType)
	return c.SendStream(f, int(fi.Size()))
}

func logOffset(c *fiber.Ctx) int64 {
	n, err := strconv.ParseInt(c.Query("log"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}
