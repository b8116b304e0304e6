-- Normal, learned: each task's own recent succeeded runs say how long a
-- run usually takes, whether it publishes and how much it logs. A run far
-- slower is announced while it is still going (alert kind "slow"); one far
-- faster ("fast") or that did nothing ("did_nothing") when it ends.
-- learn_normal turns all three off per task;
-- slow_margin_seconds replaces the 60 s floor of the threshold
-- max(3 × p95, p95 + margin). NULL = 60 s.
ALTER TABLE t_task_list
    ADD COLUMN learn_normal        boolean NOT NULL DEFAULT true,
    ADD COLUMN slow_margin_seconds integer,
    ADD CONSTRAINT slow_margin_seconds_positive CHECK (slow_margin_seconds IS NULL OR slow_margin_seconds > 0);

COMMENT ON COLUMN t_task_list.learn_normal IS 'alert when a run is far slower than the task''s last succeeded runs';
COMMENT ON COLUMN t_task_list.slow_margin_seconds IS 'slow once past max(3 × p95, p95 + this); NULL = 60';

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

ALTER TABLE t_task_alert DROP CONSTRAINT kind_known;
ALTER TABLE t_task_alert ADD CONSTRAINT kind_known CHECK (kind IN (
    'timeout', 'failed', 'lost', 'missed', 'deleted', 'custom', 'recovered',
    'slow', 'fast', 'did_nothing'));

---- create above / drop below ----

DELETE FROM t_task_alert WHERE kind IN ('slow', 'fast', 'did_nothing');
ALTER TABLE t_task_alert DROP CONSTRAINT kind_known;
ALTER TABLE t_task_alert ADD CONSTRAINT kind_known CHECK (kind IN (
    'timeout', 'failed', 'lost', 'missed', 'deleted', 'custom', 'recovered'));
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_list DROP COLUMN learn_normal, DROP COLUMN slow_margin_seconds;
