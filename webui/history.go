package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/tasktype"
)

// maxViewBytes is the largest archived file shown or diffed in a page;
// bigger ones are offered for download only.
const maxViewBytes = 1 << 20

// historyRuns is how many archived versions the history page lists.
const historyRuns = 200

type historyData struct {
	page
	Task     string
	Versions []tasktype.Run
	Files    []string
}

// historyPage serves GET /tasks/:name/history: the task's archived
// versions, newest first, each with its files, and a form to diff two.
func (s *Server) historyPage(c *fiber.Ctx) error {
	name := c.Params("name")
	if tasktype.ValidateName(name) != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	runs, err := s.store.ArchivedRuns(c.Context(), name, historyRuns)
	if err != nil {
		return err
	}
	var files []string
	for _, r := range runs {
		for _, f := range r.PublishedFiles {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	return s.render(c, "history.html", historyData{page: s.page(c, name+" history"), Task: name, Versions: runs, Files: files})
}

// archivedFile reads a file a run archived. The file must be one the run's
// row lists; it is opened through os.Root on the task folder.
func (s *Server) archivedFile(run tasktype.Run, file string) ([]byte, int64, error) {
	if run.HistoryPath == "" || !slices.Contains(run.PublishedFiles, file) {
		return nil, 0, fiber.NewError(fiber.StatusNotFound, "no such file in this version")
	}
	f, err := s.openInTask(run.TaskName, path.Join(run.HistoryPath, file))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("stat archived file: %w", err)
	}
	if fi.Size() > maxViewBytes {
		return nil, fi.Size(), nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxViewBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read archived file: %w", err)
	}
	return b, fi.Size(), nil
}

type fileData struct {
	page
	Run    tasktype.Run
	File   string
	Size   int64
	Text   string
	Note   string
	Pretty bool
}

// filePage serves GET /runs/:id/file?name=…: one archived file, shown as
// text (JSON pretty-printed), or downloaded with ?download=1.
func (s *Server) filePage(c *fiber.Ctx) error {
	run, err := s.runParam(c)
	if err != nil {
		return err
	}
	name := c.Query("name")
	if c.QueryBool("download") {
		if run.HistoryPath == "" || !slices.Contains(run.PublishedFiles, name) {
			return fiber.NewError(fiber.StatusNotFound, "no such file in this version")
		}
		return s.sendFile(c, run.TaskName, path.Join(run.HistoryPath, name), path.Base(name), "application/octet-stream")
	}
	b, size, err := s.archivedFile(run, name)
	if err != nil {
		return err
	}
	d := fileData{page: s.page(c, name), Run: run, File: name, Size: size}
	switch {
	case b == nil:
		d.Note = fmt.Sprintf("%d bytes: too big to show here; download it", size)
	case !isText(b):
		d.Note = fmt.Sprintf("binary file, %d bytes; download it", size)
	default:
		d.Text = prettyJSON(name, b)
		d.Pretty = d.Text != string(b)
	}
	return s.render(c, "file.html", d)
}

type diffData struct {
	page
	Task      string
	A, B      tasktype.Run
	File      string
	Lines     []diffLine
	Note      string
	Identical bool
}

type diffLine struct {
	Kind string // "add", "del", "hunk" or ""
	Text string
}

// diffPage serves GET /tasks/:name/diff?a=<run>&b=<run>&file=…: a
// unified diff of one file between two archived versions.
func (s *Server) diffPage(c *fiber.Ctx) error {
	name := c.Params("name")
	if tasktype.ValidateName(name) != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	load := func(key string) (tasktype.Run, error) {
		id, err := strconv.ParseInt(c.Query(key), 10, 64)
		if err != nil {
			return tasktype.Run{}, fiber.NewError(fiber.StatusBadRequest, "pick two versions to compare")
		}
		r, err := s.store.GetRun(c.Context(), id)
		if err != nil || r.TaskName != name {
			return r, fiber.NewError(fiber.StatusNotFound, "no such version of this task")
		}
		return r, nil
	}
	a, err := load("a")
	if err != nil {
		return err
	}
	b, err := load("b")
	if err != nil {
		return err
	}
	if a.ID > b.ID {
		a, b = b, a
	}
	file := c.Query("file")
	d := diffData{page: s.page(c, name+" diff"), Task: name, A: a, B: b, File: file}
	read := func(r tasktype.Run) (string, error) {
		if !slices.Contains(r.PublishedFiles, file) {
			return "", nil // absent in this version: diff against nothing
		}
		body, size, err := s.archivedFile(r, file)
		if err != nil {
			return "", err
		}
		if body == nil || !isText(body) {
			return "", fmt.Errorf("%w: %d bytes", errNotDiffable, size)
		}
		return prettyJSON(file, body), nil
	}
	oldText, err := read(a)
	if err == nil {
		var newText string
		if newText, err = read(b); err == nil {
			if !slices.Contains(a.PublishedFiles, file) && !slices.Contains(b.PublishedFiles, file) {
				return fiber.NewError(fiber.StatusNotFound, "neither version has this file")
			}
			unified := udiff.Unified(a.Version+"/"+file, b.Version+"/"+file, oldText, newText)
			d.Identical = unified == ""
			for _, l := range strings.SplitAfter(unified, "\n") {
				if l == "" {
					continue
				}
				kind := ""
				switch {
				case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
					kind = "head"
				case strings.HasPrefix(l, "@@"):
					kind = "hunk"
				case strings.HasPrefix(l, "+"):
					kind = "add"
				case strings.HasPrefix(l, "-"):
					kind = "del"
				}
				d.Lines = append(d.Lines, diffLine{Kind: kind, Text: strings.TrimSuffix(l, "\n")})
			}
		}
	}
	if errors.Is(err, errNotDiffable) {
		d.Note = "not compared: " + err.Error() + "; download both versions instead"
	} else if err != nil {
		return err
	}
	return s.render(c, "diff.html", d)
}

var errNotDiffable = errors.New("binary or bigger than 1 MiB")

// prettyJSON indents a .json file's content, so it reads and diffs line
// by line; anything else, or invalid JSON, comes back as it is.
func prettyJSON(name string, b []byte) string {
	if strings.HasSuffix(strings.ToLower(name), ".json") {
		var out bytes.Buffer
		if json.Indent(&out, b, "", "  ") == nil {
			out.WriteByte('\n')
			return out.String()
		}
	}
	return string(b)
}

// isText reports whether b looks like text: valid UTF-8 without NUL bytes.
func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// downloadName keeps a file name safe inside a Content-Disposition header.
func downloadName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r >= 0x7f {
			return '_'
		}
		return r
	}, name)
}
