// Package tasksync reconciles t_task_list into Temporal Schedules, one per
// task, with the id <prefix><task_name> ("task-gold").
//
// Postgres tells it about each change within milliseconds (LISTEN/NOTIFY
// on t_task_list_changed); a full reconcile every ResyncInterval catches
// whatever a notification missed. Each schedule carries the hash of the
// spec it was made from, so an unchanged task costs one Describe and no
// write. A task whose rule cannot be translated keeps its last good
// schedule and gets the error in t_task_sync; the others are not held up.
//
// The folder is sync/, where the project's layout puts the reconciler,
// but the package is tasksync: a package named sync would shadow the
// standard library's in every file that imports both. Import it under
// its own name, as goimports does when a path ends in another word:
//
//	tasksync "github.com/schetask/schetask/sync"
package tasksync
