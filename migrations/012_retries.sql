-- Retries: a failed run of one fire is tried again, each attempt a new
-- process with its own row and log, after a wait that grows by
-- retry_backoff from retry_delay_seconds up to retry_delay_max_seconds.
-- retry_on lists the exit codes retried ('' = any failure); runs that
-- timed out or were lost with their worker are retried only when said.
-- A run killed on request never is.
ALTER TABLE t_task_list
    ADD COLUMN retry_max               integer NOT NULL DEFAULT 0,
    ADD COLUMN retry_delay_seconds     integer NOT NULL DEFAULT 60,
    ADD COLUMN retry_backoff           double precision NOT NULL DEFAULT 2,
    ADD COLUMN retry_delay_max_seconds integer NOT NULL DEFAULT 3600,
    ADD COLUMN retry_on                text NOT NULL DEFAULT '',
    ADD COLUMN retry_timed_out         boolean NOT NULL DEFAULT false,
    ADD COLUMN retry_lost              boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT retry_max_range CHECK (retry_max BETWEEN 0 AND 100),
    ADD CONSTRAINT retry_delay_range CHECK (retry_delay_seconds BETWEEN 1 AND 86400),
    ADD CONSTRAINT retry_delay_max_range CHECK (retry_delay_max_seconds BETWEEN retry_delay_seconds AND 86400),
    ADD CONSTRAINT retry_backoff_range CHECK (retry_backoff BETWEEN 1 AND 10),
    ADD CONSTRAINT retry_on_codes CHECK (retry_on ~ '^([0-9]{1,3}(-[0-9]{1,3})?(,[0-9]{1,3}(-[0-9]{1,3})?)*)?$');

COMMENT ON COLUMN t_task_list.retry_max IS 'attempts after the first for a failed fire (0 = none)';
COMMENT ON COLUMN t_task_list.retry_on IS 'exit codes retried, e.g. 1-99,137; empty = any failure';

-- Attempts of one fire share its workflow run; attempt numbers them.
-- retry_at, on an ended attempt, is when the next is due while the fire
-- waits for it (NULL once it started, or when none will).
ALTER TABLE t_task_exec_list
    ADD COLUMN attempt integer NOT NULL DEFAULT 1,
    ADD COLUMN retry_at timestamptz,
    ADD CONSTRAINT attempt_positive CHECK (attempt >= 1),
    DROP CONSTRAINT one_row_per_workflow_run,
    ADD CONSTRAINT one_row_per_attempt UNIQUE (workflow_id, run_id, attempt);

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds,
        retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
        retry_timed_out, retry_lost
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

---- create above / drop below ----

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
-- Later attempts go: the old key allows one row per workflow run.
DELETE FROM t_task_exec_list WHERE attempt > 1;
ALTER TABLE t_task_exec_list
    DROP CONSTRAINT one_row_per_attempt,
    ADD CONSTRAINT one_row_per_workflow_run UNIQUE (workflow_id, run_id),
    DROP COLUMN attempt, DROP COLUMN retry_at;
ALTER TABLE t_task_list
    DROP COLUMN retry_max, DROP COLUMN retry_delay_seconds, DROP COLUMN retry_backoff,
    DROP COLUMN retry_delay_max_seconds, DROP COLUMN retry_on, DROP COLUMN retry_timed_out,
    DROP COLUMN retry_lost;
