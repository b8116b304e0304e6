package taskdef

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Marshal writes definitions as a task file: a `tasks:` list sorted by
// name, fields in Definition's order, each valid definition normalised
// and with the settings at their default left out (Compact), so that
// Load of the result gives the same tasks back: export then apply
// changes nothing.
func Marshal(defs []Definition) ([]byte, error) {
	out := struct {
		Tasks []Definition `yaml:"tasks"`
	}{Tasks: make([]Definition, len(defs))}
	for i, d := range defs {
		out.Tasks[i] = d.Normalize().Compact()
	}
	slices.SortStableFunc(out.Tasks, func(a, b Definition) int { return cmp.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("marshal task definitions: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal task definitions: %w", err)
	}
	return buf.Bytes(), nil
}
