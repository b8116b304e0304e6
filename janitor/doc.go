// Package janitor keeps what runs leave behind to each task's retention.
//
// A task keeps its keep_runs newest runs and its keep_days days of runs
// (the global SCHETASK_KEEP_RUNS and SCHETASK_KEEP_DAYS where its row says
// nothing); a run past either limit goes, and with it its log file, its
// history folder and its alert rows, so the console never links to a file
// that is gone. The row goes first and the files after it: a crash in
// between leaves files nobody links to, never a link to nothing. A run
// that has not ended, a lost run the orphan reaper may still need, and a
// task's newest successful run with a history folder are never removed.
//
// The janitor also deletes expired console sessions and audit rows older
// than SCHETASK_KEEP_AUDIT_DAYS.
//
// It runs beside the workers, which own the task folder's logs and
// history (sync has no task folder), one at a time across them like the
// monitor in sync (a leader lock named "janitor"), and deletes
// in small batches whose rows are locked with SKIP LOCKED, so run inserts
// and updates never wait on it. Each pass is logged on one line and
// counted in the schetask_janitor_* metrics.
//
// It removes files through its worker's SCHETASK_TASKS_DIR: workers on
// several hosts must share the tasks folder (as docker-compose.yml's
// replicas do), or the rows go and other hosts' files stay behind.
package janitor
