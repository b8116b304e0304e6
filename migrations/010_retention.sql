-- Retention: how many runs, and how many days of runs, a task keeps. A run
-- past either limit goes with its log file, its history folder and its
-- alerts. NULL means the global default (SCHETASK_KEEP_RUNS,
-- SCHETASK_KEEP_DAYS); 0 means no limit of that kind.
ALTER TABLE t_task_list
    ADD COLUMN keep_runs integer,
    ADD COLUMN keep_days integer,
    ADD CONSTRAINT keep_runs_not_negative CHECK (keep_runs IS NULL OR keep_runs >= 0),
    ADD CONSTRAINT keep_days_not_negative CHECK (keep_days IS NULL OR keep_days >= 0);

COMMENT ON COLUMN t_task_list.keep_runs IS 'newest runs kept; NULL = SCHETASK_KEEP_RUNS, 0 = no count limit';
COMMENT ON COLUMN t_task_list.keep_days IS 'days of runs kept; NULL = SCHETASK_KEEP_DAYS, 0 = no age limit';

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

-- The janitor deletes a run's alerts with the run.
CREATE INDEX t_task_alert_exec ON t_task_alert (exec_id) WHERE exec_id IS NOT NULL;

---- create above / drop below ----

DROP INDEX t_task_alert_exec;
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_list DROP COLUMN keep_runs, DROP COLUMN keep_days;
