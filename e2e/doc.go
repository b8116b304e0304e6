// Package e2e holds the acceptance tests of the whole engine: a task row
// becomes a schedule, runs on a worker against a real Temporal server and a
// real Postgres, and leaves its rows, logs and history behind.
package e2e
