// Package taskdir owns what lives in a task's folder under the tasks root:
// which entrypoint a run starts from, emptying publish/ before a run and
// archiving it to history/<version>/ after. The worker's activities and the
// console both go through it, so the two cannot disagree about a folder.
//
// The paths themselves come from tasktype.Layout; this package adds the
// file-system side effects, which tasktype (types only, no I/O) keeps out.
// It imports tasktype and the standard library, nothing else of schetask.
package taskdir
