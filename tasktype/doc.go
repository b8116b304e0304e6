// Package tasktype holds schetask's shared domain types: a Task (a row of
// t_task_list), a Run (a row of t_task_exec_list), their states, the exit
// codes schetask reserves, and the folder layout under task/. Every other
// package may import it; it imports none of them.
package tasktype
