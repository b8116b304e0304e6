package activities

import (
	"bufio"
	"errors"
	"io"
	"sync"
)

// lineBufferBytes bounds the memory of one stream's unfinished line.
const lineBufferBytes = 64 << 10

// logCapture writes a task's stdout and stderr into one log file, whole
// lines at a time, so a line of one stream never lands in the middle of a
// line of the other. A line longer than the buffer is written in pieces.
type logCapture struct {
	mu  sync.Mutex
	out io.Writer
}

// copyLines copies r into the log line by line, and each line also to tee
// (when not nil), until r ends.
func (c *logCapture) copyLines(r io.Reader, tee io.Writer) error {
	br := bufio.NewReaderSize(r, lineBufferBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			c.mu.Lock()
			_, werr := c.out.Write(line)
			c.mu.Unlock()
			if tee != nil {
				_, _ = tee.Write(line)
			}
			if werr != nil {
				// Keep draining so the task is not blocked on a full pipe.
				_, _ = io.Copy(io.Discard, br)
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
