// Package sync reconciles t_task_list into Temporal Schedules, one per
// task, with the id <prefix><task_name> ("task-gold").
//
// Postgres tells it about each change within milliseconds (LISTEN/NOTIFY
// on t_task_list_changed); a full reconcile every ResyncInterval catches
// whatever a notification missed. Each schedule carries the hash of the
// spec it was made from, so an unchanged task costs one Describe and no
// write. A task whose rule cannot be translated keeps its last good
// schedule and gets the error in t_task_sync; the others are not held up.
//
// The package is named for its folder; import it as tasksync.
package sync
