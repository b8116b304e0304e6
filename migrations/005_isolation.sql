-- Run isolation: which user a task's process runs as, the limits of its
-- cgroup, and what each run used.
--
-- run_as picks one of the users the worker allows (SCHETASK_TASK_USERS);
-- '' means the worker's SCHETASK_TASK_USER. A NULL limit means the
-- worker's default (SCHETASK_TASK_*_LIMIT); 0 means no limit.
ALTER TABLE t_task_list
    ADD COLUMN run_as          text NOT NULL DEFAULT '',
    ADD COLUMN memory_limit_mb integer,
    ADD COLUMN cpu_limit       double precision,
    ADD COLUMN pids_limit      integer,
    ADD CONSTRAINT run_as_is_a_user_name CHECK (run_as ~ '^([a-z_][a-z0-9_-]{0,31})?$'),
    ADD CONSTRAINT memory_limit_mb_sane CHECK (
        memory_limit_mb IS NULL OR memory_limit_mb = 0 OR memory_limit_mb BETWEEN 16 AND 1048576),
    ADD CONSTRAINT cpu_limit_sane CHECK (
        cpu_limit IS NULL OR cpu_limit = 0 OR cpu_limit BETWEEN 0.01 AND 1024),
    ADD CONSTRAINT pids_limit_sane CHECK (
        pids_limit IS NULL OR pids_limit = 0 OR pids_limit BETWEEN 8 AND 4194304);

COMMENT ON COLUMN t_task_list.run_as IS 'user the task runs as, one of SCHETASK_TASK_USERS; empty = SCHETASK_TASK_USER';
COMMENT ON COLUMN t_task_list.memory_limit_mb IS 'MiB of memory the run''s cgroup may use; NULL = the worker default, 0 = none';
COMMENT ON COLUMN t_task_list.cpu_limit IS 'cores the run may use (fractional); NULL = the worker default, 0 = none';
COMMENT ON COLUMN t_task_list.pids_limit IS 'processes and threads the run may have; NULL = the worker default, 0 = none';

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

-- isolation says how the run was contained ("cgroup2 user=schetask-task",
-- "pgroup same-user", ...); cgroups are the run's cgroup folders, for the
-- orphan reaper. Usage columns are NULL where the host could not say.
ALTER TABLE t_task_exec_list
    ADD COLUMN isolation          text NOT NULL DEFAULT '',
    ADD COLUMN cgroups            text[] NOT NULL DEFAULT '{}',
    ADD COLUMN cpu_user_seconds   double precision,
    ADD COLUMN cpu_system_seconds double precision,
    ADD COLUMN peak_memory_bytes  bigint,
    ADD COLUMN io_read_bytes      bigint,
    ADD COLUMN io_write_bytes     bigint;

---- create above / drop below ----

ALTER TABLE t_task_exec_list
    DROP COLUMN isolation, DROP COLUMN cgroups, DROP COLUMN cpu_user_seconds,
    DROP COLUMN cpu_system_seconds, DROP COLUMN peak_memory_bytes,
    DROP COLUMN io_read_bytes, DROP COLUMN io_write_bytes;
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_list
    DROP COLUMN run_as, DROP COLUMN memory_limit_mb, DROP COLUMN cpu_limit, DROP COLUMN pids_limit;
