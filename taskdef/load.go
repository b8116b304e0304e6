package taskdef

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/schetask/schetask/tasktype"
)

// Source is a definition read from a file, with where it was written:
// the task's line and the line of each field it sets.
type Source struct {
	Definition
	// File is the file's path as Load was given it (joined to its
	// folder's when Load read a folder).
	File string
	// Line is the line the task's mapping starts on.
	Line int
	// FieldLines holds the line of each field the file sets, by path:
	// "rule", "retry", "retry.max", "params", "params[0].pattern".
	FieldLines map[string]int
}

// Where says where field (a path as in FieldLines, or an error key of
// Definition.Task) is written: "tasks.yaml:12". A field the file does
// not set is the line of the nearest enclosing one, else of the task.
func (s Source) Where(field string) string {
	return fmt.Sprintf("%s:%d", s.File, s.LineOf(field))
}

// LineOf is the line Where names.
func (s Source) LineOf(field string) int {
	for f := field; f != ""; f = parentField(f) {
		if line, ok := s.FieldLines[f]; ok {
			return line
		}
	}
	return s.Line
}

// parentField strips the last step of a field path: "retry.max" is
// "retry", "params[1]" is "params", "rule" is "".
func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

// FieldError is one thing wrong in a task file: what Load and Tasks
// return, joined with errors.Join.
type FieldError struct {
	// File and Line say where; Line is 0 when the file could not be read.
	File string
	Line int
	// Task is the task's name, when known; Field is the field's path,
	// when the error is about one.
	Task, Field string
	Message     string
}

// Error reads "tasks.yaml:12: task "gold": rule: hour: 25 is out of range 0-23".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Task != "" {
		fmt.Fprintf(&b, ": task %q", e.Task)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	return b.String() + ": " + e.Message
}

// Load reads task definitions from YAML files: each path is a file, or a
// folder whose *.yaml and *.yml files are read in name order (not its
// subfolders). A file holds a single task mapping, a mapping with a
// `tasks:` list, or several YAML documents of either kind. A field Load
// does not know is an error, and so is a task named twice, in one file
// or across files; every error is a *FieldError naming the file and line
// (joined: Load reports all it finds). Load checks the shape only:
// Tasks, or each Definition's Task, validates the settings.
func Load(paths ...string) ([]Source, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("load task definitions: %w", err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("load task definitions: %w", err)
		}
		for _, e := range entries { // ReadDir sorts by name
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var all []Source
	var errs []error
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("load task definitions: %w", err)
		}
		srcs, err := Parse(file, data)
		if err != nil {
			errs = append(errs, err)
		}
		all = append(all, srcs...)
	}
	if err := duplicates(all); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return all, nil
}

// duplicates reports every task defined twice, naming both places.
func duplicates(srcs []Source) error {
	first := map[string]Source{}
	var errs []error
	for _, s := range srcs {
		if s.Name == "" {
			continue // Task says the name is missing
		}
		if f, ok := first[s.Name]; ok {
			errs = append(errs, &FieldError{File: s.File, Line: s.Line, Task: s.Name,
				Message: fmt.Sprintf("defined twice: at %s:%d and at %s:%d", f.File, f.Line, s.File, s.Line)})
			continue
		}
		first[s.Name] = s
	}
	return errors.Join(errs...)
}

// Parse reads the task definitions in one file's data, as Load does; file
// names it in errors and in the Sources. Tasks named twice within data
// are an error.
func Parse(file string, data []byte) ([]Source, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var srcs []Source
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, syntaxError(file, err))
			break
		}
		got, err := parseDocument(file, &doc)
		srcs = append(srcs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := duplicates(srcs); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return srcs, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError turns the YAML parser's error into a FieldError with its line.
func syntaxError(file string, err error) error {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &FieldError{File: file, Message: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	return &FieldError{File: file, Line: line, Message: m[2]}
}

func parseDocument(file string, doc *yaml.Node) ([]Source, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // an empty document
	}
	if root.Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: root.Line, Message: "want a task (a mapping) or a mapping with a tasks: list, got " + kindName(root)}
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "tasks" {
			list = resolve(root.Content[i+1])
		}
	}
	if list == nil {
		src, err := parseTask(file, root)
		return []Source{src}, err
	}
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value != "tasks" {
			errs = append(errs, &FieldError{File: file, Line: k.Line, Field: k.Value,
				Message: "unknown field beside tasks: (put the task's settings under a - item of the list)"})
		}
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, errors.Join(errs...)
	}
	if list.Kind != yaml.SequenceNode {
		return nil, errors.Join(append(errs, &FieldError{File: file, Line: list.Line, Field: "tasks",
			Message: "want a list of tasks, got " + kindName(list)})...)
	}
	var srcs []Source
	for _, item := range list.Content {
		src, err := parseTask(file, resolve(item))
		srcs = append(srcs, src)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return srcs, errors.Join(errs...)
}

// parseTask decodes one task mapping strictly, noting each field's line.
func parseTask(file string, node *yaml.Node) (Source, error) {
	src := Source{File: file, Line: node.Line, FieldLines: map[string]int{}}
	if node.Kind != yaml.MappingNode {
		return src, &FieldError{File: file, Line: node.Line, Message: "want a task (a mapping), got " + kindName(node)}
	}
	for i := 0; i+1 < len(node.Content); i += 2 { // the name first, to name the task in errors
		if node.Content[i].Value == "name" {
			_ = node.Content[i+1].Decode(&src.Name)
		}
	}
	p := &fieldParser{file: file, task: src.Name, lines: src.FieldLines}
	p.mapping(node, reflect.ValueOf(&src.Definition).Elem(), "")
	return src, errors.Join(p.errs...)
}

// fieldParser decodes mappings into structs by their yaml tags, refusing
// unknown fields and noting lines.
type fieldParser struct {
	file, task string
	lines      map[string]int
	errs       []error
}

func (p *fieldParser) fail(line int, field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Line: line, Task: p.task, Field: field, Message: fmt.Sprintf(format, args...)})
}

// mapping decodes node (a mapping) into the struct v; prefix is the
// path of v ("" for the task, "retry." for its policy).
func (p *fieldParser) mapping(node *yaml.Node, v reflect.Value, prefix string) {
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for _, pair := range mergedPairs(node) {
		k, val := pair[0], resolve(pair[1])
		path := prefix + k.Value
		if line, dup := seen[k.Value]; dup {
			p.fail(k.Line, path, "given twice (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			p.fail(k.Line, path, "unknown field (known: %s)", strings.Join(sortedKeys(fields), ", "))
			continue
		}
		p.lines[path] = k.Line
		p.value(val, v.Field(idx), path)
	}
}

// value decodes one field's value node into fv.
func (p *fieldParser) value(val *yaml.Node, fv reflect.Value, path string) {
	if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
		return // as if omitted
	}
	switch {
	case fv.Type() == reflect.TypeFor[*Retry]():
		if val.Kind != yaml.MappingNode {
			p.fail(val.Line, path, "want a mapping of retry settings, got %s", kindName(val))
			return
		}
		r := new(Retry)
		p.mapping(val, reflect.ValueOf(r).Elem(), path+".")
		fv.Set(reflect.ValueOf(r))
	case fv.Type() == reflect.TypeFor[[]tasktype.Param]():
		if val.Kind != yaml.SequenceNode {
			p.fail(val.Line, path, "want a list of parameters, got %s", kindName(val))
			return
		}
		params := make([]tasktype.Param, len(val.Content))
		for i, item := range val.Content {
			item = resolve(item)
			itemPath := fmt.Sprintf("%s[%d]", path, i)
			p.lines[itemPath] = item.Line
			if item.Kind != yaml.MappingNode {
				p.fail(item.Line, itemPath, "want a parameter (a mapping with name, default, required, pattern), got %s", kindName(item))
				continue
			}
			p.mapping(item, reflect.ValueOf(&params[i]).Elem(), itemPath+".")
		}
		fv.Set(reflect.ValueOf(params))
	default:
		target := reflect.New(fv.Type())
		if err := val.Decode(target.Interface()); err != nil {
			p.fail(val.Line, path, "want %s, got %s", typeName(fv.Type()), valueName(val))
			return
		}
		fv.Set(target.Elem())
	}
}

// mergedPairs lists a mapping's key/value pairs, those of YAML merge keys
// (<<: *defaults) first, where the mapping's own keys replace them.
func mergedPairs(node *yaml.Node) [][2]*yaml.Node {
	var merged, own [][2]*yaml.Node
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		v = resolve(v)
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, s := range sources {
			if s = resolve(s); s.Kind == yaml.MappingNode {
				merged = append(merged, mergedPairs(s)...)
			}
		}
	}
	if len(merged) == 0 {
		return own
	}
	out := make([][2]*yaml.Node, 0, len(merged)+len(own))
	for _, m := range merged {
		overridden := slices.ContainsFunc(own, func(o [2]*yaml.Node) bool { return o[0].Value == m[0].Value }) ||
			slices.ContainsFunc(out, func(o [2]*yaml.Node) bool { return o[0].Value == m[0].Value })
		if !overridden {
			out = append(out, m)
		}
	}
	return append(out, own...)
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// yamlFields maps a struct's yaml field names to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return slices.SortedFunc(slices.Values(keys), cmp.Compare)
}

// typeName says in words what a field of type t takes.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(typeName(t.Elem()), "a ")
	}
	return t.String()
}

// kindName and valueName say what a node holds, for errors.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return valueName(n)
}

func valueName(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return strconv.Quote(n.Value)
}

// Tasks validates every source as the console validates its form and
// returns their tasks, in order. Each error is a *FieldError at the
// field's line (joined: Tasks reports all it finds).
func Tasks(srcs []Source) ([]tasktype.Task, error) {
	tasks := make([]tasktype.Task, 0, len(srcs))
	var errs []*FieldError
	for _, s := range srcs {
		t, bad := s.Task()
		for field, msg := range bad {
			errs = append(errs, &FieldError{File: s.File, Line: s.LineOf(field), Task: s.Name, Field: field, Message: msg})
		}
		tasks = append(tasks, t)
	}
	if len(errs) == 0 {
		return tasks, nil
	}
	slices.SortFunc(errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field))
	})
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return nil, errors.Join(joined...)
}
