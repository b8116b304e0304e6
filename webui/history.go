package webui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
	"github.com/gofiber/fiber/v2"

	"github.com/schetask/schetask/store"
	"github.com/schetask/schetask/tasktype"
)

// maxViewBytes is the largest archived file shown or diffed in a page;
// bigger ones are offered for download only.
const maxViewBytes = 1 << 20

// historyRuns is how many archived versions a history page lists.
const historyRuns = 50

type historyData struct {
	page
	Task     string
	Versions []historyRow
	Files    []string
	// Older and Newer are the cursors of the pages of older and newer
	// versions ("" when there are none).
	Older, Newer string
	// At is this page's own cursor ("older" or "newer", and its value),
	// so that picking a version to compare with keeps the page.
	AtKey, At string
	// With is the version picked to compare with, nil when none.
	With *tasktype.Run
}

// historyRow is one version on the history page.
type historyRow struct {
	tasktype.Run
	// Compare lists the files to diff against the picked version: those
	// of either (none when no version is picked, or on its own row).
	Compare []string
}

// historyPage serves GET /tasks/:name/history: the task's archived
// versions, newest first, a page at a time (?older=… and ?newer=… are
// page cursors), each with its files, and forms to diff two. ?with=<run>
// picks a version to compare with: every row then links its diff with
// it, whatever the page, so any two versions can be compared.
func (s *Server) historyPage(c *fiber.Ctx) error {
	name := c.Params("name")
	if tasktype.ValidateName(name) != nil {
		return fiber.NewError(fiber.StatusNotFound, "no such task")
	}
	d := historyData{page: s.page(c, name+" history"), Task: name}
	q := store.HistoryPage{Limit: historyRuns}
	for _, k := range []struct {
		key string
		to  **store.RunCursor
	}{{"older", &q.Older}, {"newer", &q.Newer}} {
		v := c.Query(k.key)
		if v == "" {
			continue
		}
		cur, err := parseHistoryCursor(v)
		if err != nil {
			return fiber.NewError(fiber.StatusBadRequest, err.Error())
		}
		*k.to, d.AtKey, d.At = cur, k.key, v
		break
	}
	if v := c.Query("with"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		var with tasktype.Run
		if err == nil {
			with, err = s.store.GetRun(c.UserContext(), id)
		}
		if err != nil || with.TaskName != name || with.HistoryPath == "" {
			return fiber.NewError(fiber.StatusNotFound, "no such version of this task to compare with")
		}
		d.With = &with
	}
	runs, older, newer, err := s.store.ArchivedRuns(c.UserContext(), name, q)
	if err != nil {
		return err
	}
	d.Older, d.Newer = formatHistoryCursor(older), formatHistoryCursor(newer)
	for _, r := range runs {
		row := historyRow{Run: r}
		if d.With != nil && r.ID != d.With.ID {
			row.Compare = unionSorted(d.With.PublishedFiles, r.PublishedFiles)
		}
		d.Versions = append(d.Versions, row)
		d.Files = unionSorted(d.Files, r.PublishedFiles)
	}
	return s.render(c, "history.html", d)
}

// unionSorted is the sorted names in a or b, each once.
func unionSorted(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// parseHistoryCursor reads a page cursor written by formatHistoryCursor.
func parseHistoryCursor(v string) (*store.RunCursor, error) {
	us, id, ok := strings.Cut(v, "_")
	u, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad page cursor %q", v)
	}
	return &store.RunCursor{StartTime: time.UnixMicro(u), ID: n}, nil
}

// formatHistoryCursor writes a page cursor as "<start, µs since 1970>_<id>"
// ("" for none), as the run list does.
func formatHistoryCursor(c *store.RunCursor) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%d_%d", c.StartTime.UnixMicro(), c.ID)
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
	// AsIs says why a JSON file is shown as it is rather than
	// pretty-printed ("" when it is pretty-printed or not JSON).
	AsIs string
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
		var why string
		d.Text, why = prettyJSON(name, b, maxPrettyBytes)
		d.Pretty = d.Text != string(b)
		if why != "" {
			d.AsIs = "shown as is: " + why + " to pretty-print"
		}
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
		// A run number as the pages show it ("#123") or bare.
		id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(c.Query(key)), "#"), 10, 64)
		if err != nil {
			return tasktype.Run{}, fiber.NewError(fiber.StatusBadRequest, "pick two versions to compare")
		}
		r, err := s.store.GetRun(c.UserContext(), id)
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
	if !slices.Contains(a.PublishedFiles, file) && !slices.Contains(b.PublishedFiles, file) {
		return fiber.NewError(fiber.StatusNotFound, "neither version has this file")
	}
	d := diffData{page: s.page(c, name+" diff"), Task: name, A: a, B: b, File: file}
	lines, asIs, err := s.fileDiff(a, b, file)
	if errors.Is(err, errNotDiffable) {
		d.Note = "not compared: " + err.Error() + "; download both versions instead"
		return s.render(c, "diff.html", d)
	}
	if err != nil {
		return err
	}
	d.Lines = lines
	d.Identical = len(d.Lines) == 0
	if asIs != "" && !d.Identical {
		d.Lines = append([]diffLine{{Kind: "note", Text: asIs}}, d.Lines...)
	}
	return s.render(c, "diff.html", d)
}

// fileDiff diffs one published file between versions a and b, both
// pretty-printed when they are JSON (or, when either cannot be, both as
// they are: asIs says why); a file one version lacks is diffed against
// nothing. A binary or too big file is errNotDiffable.
func (s *Server) fileDiff(a, b tasktype.Run, file string) (lines []diffLine, asIs string, err error) {
	read := func(r tasktype.Run) ([]byte, error) {
		if !slices.Contains(r.PublishedFiles, file) {
			return nil, nil // absent in this version: diff against nothing
		}
		body, size, err := s.archivedFile(r, file)
		if err != nil {
			return nil, err
		}
		if body == nil || !isText(body) {
			return nil, fmt.Errorf("%w: %d bytes", errNotDiffable, size)
		}
		return body, nil
	}
	oldBody, err := read(a)
	if err != nil {
		return nil, "", err
	}
	newBody, err := read(b)
	if err != nil {
		return nil, "", err
	}
	oldText, whyOld := prettyJSON(file, oldBody, maxDiffBytes)
	newText, whyNew := prettyJSON(file, newBody, maxDiffBytes)
	if why := cmp.Or(whyOld, whyNew); why != "" {
		oldText, newText = string(oldBody), string(newBody)
		asIs = "compared as is: " + why + " to pretty-print"
	}
	return unifiedLines(a.Version+"/"+file, b.Version+"/"+file, oldText, newText), asIs, nil
}

var errNotDiffable = errors.New("binary or bigger than 1 MiB")

// Bounds on what a page shows, whatever the files hold: a small file can
// pretty-print or diff into a huge page.
const (
	// maxPrettyDepth is the deepest nesting pretty-printed; a 20 KB file
	// of nested arrays would indent into hundreds of megabytes.
	maxPrettyDepth = 100
	// maxPrettyBytes bounds a pretty-printed file on its page.
	maxPrettyBytes = 4 << 20
	// maxDiffBytes bounds each side of a diff once pretty-printed, which
	// keeps the diff's cost to a fraction of a second.
	maxDiffBytes = 2 << 20
	// maxDiffLines and maxDiffOut bound the diff shown.
	maxDiffLines = 5000
	maxDiffOut   = 1 << 20
)

// prettyJSON indents a .json file's content, so it reads and diffs line
// by line; anything else, or invalid JSON, comes back as it is. JSON
// nested deeper than maxPrettyDepth, or whose indented form would pass
// maxOut bytes, also comes back as it is, with why ("too deeply nested",
// "too large"): both are measured before anything is indented.
func prettyJSON(name string, b []byte, maxOut int) (text, why string) {
	if !strings.HasSuffix(strings.ToLower(name), ".json") {
		return string(b), ""
	}
	if why := indentBounds(b, maxPrettyDepth, maxOut); why != "" {
		return string(b), why
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b), ""
	}
	out.WriteByte('\n')
	return out.String(), ""
}

// indentBounds reads b once, counting brackets outside strings, and says
// whether json.Indent with a two-space indent would nest deeper than
// maxDepth ("too deeply nested") or write more than maxOut bytes ("too
// large"); "" when neither. The size it adds up is what Indent writes:
// each line break with its indentation, whitespace between tokens
// dropped (counted outside any array or object, where Indent may keep it).
func indentBounds(b []byte, maxDepth, maxOut int) string {
	depth, size := 0, 1 // the final newline
	inString, escaped, opened := false, false, false
	for _, ch := range b {
		if inString {
			size++
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' {
			if depth == 0 {
				size++
			}
			continue
		}
		if opened {
			// "[]" and "{}" stay on their line; anything else in them
			// starts on a new one.
			opened = false
			if ch == ']' || ch == '}' {
				depth--
				size++
				continue
			}
			size += 1 + 2*depth
		}
		switch ch {
		case '"':
			inString = true
			size++
		case '{', '[':
			depth++
			if depth > maxDepth {
				return "too deeply nested"
			}
			opened = true
			size++
		case '}', ']':
			depth = max(depth-1, 0)
			size += 2 + 2*depth
		case ',':
			size += 2 + 2*depth
		case ':':
			size += 2
		default:
			size++
		}
		if size > maxOut {
			return "too large"
		}
	}
	if size > maxOut {
		return "too large"
	}
	return ""
}

// unifiedLines is the unified diff of old and new as page lines, cut
// after maxDiffLines lines or maxDiffOut bytes with a last line that says
// so; none when the two are equal.
func unifiedLines(oldLabel, newLabel, old, new string) []diffLine {
	if old == new {
		return nil
	}
	u, err := udiff.ToUnifiedDiff(oldLabel, newLabel, old, udiff.Lines(old, new), udiff.DefaultContextLines)
	if err != nil || len(u.Hunks) == 0 {
		return nil // udiff's edits are consistent by construction
	}
	var lines []diffLine
	size := 0
	add := func(kind, text string) bool {
		if len(lines) >= maxDiffLines || size+len(text) > maxDiffOut {
			lines = append(lines, diffLine{Kind: "cut", Text: fmt.Sprintf(
				"… diff cut at %d lines; download both versions to compare them whole", len(lines))})
			return false
		}
		lines = append(lines, diffLine{Kind: kind, Text: text})
		size += len(text) + 1
		return true
	}
	if !add("head", "--- "+u.From) || !add("head", "+++ "+u.To) {
		return lines
	}
	for _, h := range u.Hunks {
		if !add("hunk", hunkHeader(h)) {
			return lines
		}
		for _, l := range h.Lines {
			kind, sign := "", " "
			switch l.Kind {
			case udiff.Delete:
				kind, sign = "del", "-"
			case udiff.Insert:
				kind, sign = "add", "+"
			}
			text, ok := strings.CutSuffix(l.Content, "\n")
			if !add(kind, sign+text) || (!ok && !add("", `\ No newline at end of file`)) {
				return lines
			}
		}
	}
	return lines
}

// hunkHeader is a hunk's "@@ -from,n +to,m @@" line, written as
// udiff.Unified writes it.
func hunkHeader(h *udiff.Hunk) string {
	fromCount, toCount := 0, 0
	for _, l := range h.Lines {
		if l.Kind != udiff.Insert {
			fromCount++
		}
		if l.Kind != udiff.Delete {
			toCount++
		}
	}
	side := func(sign string, line, count int) string {
		switch {
		case count > 1:
			return fmt.Sprintf(" %s%d,%d", sign, line, count)
		case line == 1 && count == 0:
			return " " + sign + "0,0"
		default:
			return fmt.Sprintf(" %s%d", sign, line)
		}
	}
	return "@@" + side("-", h.FromLine, fromCount) + side("+", h.ToLine, toCount) + " @@"
}

// isText reports whether b looks like text: valid UTF-8 without NUL bytes.
func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// attachment is the Content-Disposition that downloads a file as name:
// filename gives an ASCII stand-in, each other character an underscore,
// and, when that is not name itself, filename* gives name in UTF-8,
// percent-encoded (RFC 6266, RFC 8187), which browsers prefer.
func attachment(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r >= 0x7f {
			return '_'
		}
		return r
	}, name)
	v := `attachment; filename="` + ascii + `"`
	if ascii == name {
		return v
	}
	var enc strings.Builder
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	return v + "; filename*=UTF-8''" + enc.String()
}

// isAttrChar reports whether b may stand for itself in an RFC 8187
// extended value.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
