// Package sandbox is a run's boundary: the user a task's process runs as,
// the cgroup that holds its whole process tree (whatever it forks, setsid
// or not), the limits of that cgroup, how the tree is signalled and
// killed, and what it consumed.
//
// New looks at the host once: whether the worker may switch users (root,
// or CAP_SETUID and CAP_SETGID), and which cgroup layout it can write:
//
//   - cgroup2: a pure v2 hierarchy with the memory, cpu and pids
//     controllers: limits, accounting and cgroup.kill from one tree;
//   - hybrid: v1 controllers (memory, cpu, cpuacct, pids, blkio) for the
//     limits and accounting, and the v2 "unified" tree for membership and
//     cgroup.kill (systemd's hybrid layout);
//   - pgroup: no writable cgroup (an unprivileged container): the process
//     group, as before, and wait4's rusage for accounting.
//
// Prepare makes one run's cgroups and settings, Start spawns the process
// straight into them (clone3 CLONE_INTO_CGROUP for v2; for v1, from an OS
// thread moved into the run's v1 cgroups and then discarded), and Close
// kills what is left and removes them. Every run says how it was contained
// in its Isolation string, which the worker records on the run's row.
package sandbox
