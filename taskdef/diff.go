package taskdef

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// The actions of a Change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Change is what applying definitions does to one task.
type Change struct {
	Task string `json:"task"`
	// Action is ActionCreate, ActionUpdate or ActionDelete.
	Action string `json:"action"`
	// Fields are the settings an update changes, in Definition's order
	// (nil for a create or a delete).
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one setting an update changes. Before and After are
// short JSON values: "\"0 * * * *\"", "3600", "true", "null" for a
// setting left to its default (the worker's or the global one).
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Diff says what making the tasks current is into desired would change:
// a create for each desired task not in current, an update listing the
// changed fields of each in both (none when nothing changed), and, with
// prune, a delete for each current task not in desired. Both sides are
// normalised first (Normalize), so writing a default out is no change.
// Changes are sorted by task name. Invalid definitions are compared as
// they are: validate them first.
func Diff(current, desired []Definition, prune bool) []Change {
	cur := make(map[string]Definition, len(current))
	for _, d := range current {
		cur[d.Name] = d.Normalize()
	}
	want := make(map[string]bool, len(desired))
	var changes []Change
	for _, d := range desired {
		want[d.Name] = true
		c, ok := cur[d.Name]
		if !ok {
			changes = append(changes, Change{Task: d.Name, Action: ActionCreate})
			continue
		}
		if fields := fieldChanges(c, d.Normalize()); len(fields) > 0 {
			changes = append(changes, Change{Task: d.Name, Action: ActionUpdate, Fields: fields})
		}
	}
	if prune {
		for _, d := range current {
			if !want[d.Name] {
				changes = append(changes, Change{Task: d.Name, Action: ActionDelete})
			}
		}
	}
	slices.SortStableFunc(changes, func(a, b Change) int { return cmp.Compare(a.Task, b.Task) })
	return changes
}

// fieldChanges lists the fields of two definitions of one task that differ.
func fieldChanges(before, after Definition) []FieldChange {
	var out []FieldChange
	walkFields(reflect.ValueOf(before), reflect.ValueOf(after), "", &out)
	return out
}

func walkFields(a, b reflect.Value, prefix string, out *[]FieldChange) {
	t := a.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		if fa.Type() == reflect.TypeFor[*Retry]() && !fa.IsNil() && !fb.IsNil() {
			walkFields(fa.Elem(), fb.Elem(), prefix+name+".", out)
			continue
		}
		va, vb := scalar(fa), scalar(fb)
		if va != vb {
			*out = append(*out, FieldChange{Field: prefix + name, Before: va, After: vb})
		}
	}
}

// scalar writes a value as short JSON: a nil pointer or an empty list is null.
func scalar(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Pointer && v.IsNil(), v.Kind() == reflect.Slice && v.Len() == 0:
		return "null"
	case v.Kind() == reflect.Pointer:
		v = v.Elem()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.Interface()); err != nil {
		return fmt.Sprint(v.Interface())
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// FormatChanges writes changes for people, a line each: "+ gold" for a
// create, "- gold" for a delete, `~ gold: rule "0 * * * *" → "30 * * * *"`
// for each changed field of an update; "no changes" when there are none.
func FormatChanges(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		switch c.Action {
		case ActionCreate:
			fmt.Fprintf(&b, "+ %s\n", c.Task)
		case ActionDelete:
			fmt.Fprintf(&b, "- %s\n", c.Task)
		default:
			for _, f := range c.Fields {
				fmt.Fprintf(&b, "~ %s: %s %s → %s\n", c.Task, f.Field, f.Before, f.After)
			}
		}
	}
	if b.Len() == 0 {
		return "no changes\n"
	}
	return b.String()
}
