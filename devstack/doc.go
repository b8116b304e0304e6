// Package devstack starts the private services `make run` and the tests
// need on one machine: a Postgres cluster in a folder of ours (never the
// system's) and a Temporal dev server with Temporal Web. Production points
// schetask at real ones instead; nothing else in schetask imports this.
package devstack
