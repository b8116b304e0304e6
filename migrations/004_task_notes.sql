-- Why a task is off: the note an operator gives when pausing it from the
-- console, shown on the task page and as the Temporal schedule's note.
ALTER TABLE t_task_list ADD COLUMN status_note text NOT NULL DEFAULT '';

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

---- create above / drop below ----

DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_list DROP COLUMN status_note;
