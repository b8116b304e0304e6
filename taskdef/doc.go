// Package taskdef is task definitions as code: a Definition is a task's
// settings as a YAML or JSON document (the shape the API, `schetask task
// apply|export` and task files share), and Form is the same settings as
// typed into the console's task form. Both are validated by one piece of
// code, Form's, so a file, an API call and the console refuse the same
// input with the same message.
//
// A Definition's omitted fields mean what a blank console field means (or,
// where the console has no blank, what its new-task form preselects); see
// Definition. FromTask gives the definition of a stored task, Load reads
// task files keeping the line of every field, Marshal writes them back
// (omitting defaults), and Diff says what applying desired definitions
// over current ones would change.
//
// taskdef imports tasktype and rule only: no database, no Temporal.
package taskdef
