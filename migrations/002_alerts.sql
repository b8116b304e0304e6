-- Who hears about a task: its owners (e-mail addresses and Slack member
-- ids, in t_task_list.owners) and these per-task overrides of the
-- configured channels.
ALTER TABLE t_task_list
    ADD COLUMN alert_channels text[] NOT NULL DEFAULT '{}',
    ADD COLUMN slack_channel  text NOT NULL DEFAULT '',
    ADD COLUMN webhook_url    text NOT NULL DEFAULT '',
    ADD CONSTRAINT alert_channels_known CHECK (alert_channels <@ ARRAY['slack', 'email', 'webhook']),
    ADD CONSTRAINT webhook_url_is_http CHECK (webhook_url = '' OR webhook_url ~ '^https?://');

COMMENT ON COLUMN t_task_list.owners IS 'e-mail addresses (alert e-mails) and Slack member ids (mentions)';
COMMENT ON COLUMN t_task_list.alert_channels IS 'channels for this task''s alerts; empty means every configured one';
COMMENT ON COLUMN t_task_list.slack_channel IS 'Slack channel for this task''s alerts instead of SCHETASK_SLACK_CHANNEL';
COMMENT ON COLUMN t_task_list.webhook_url IS 'webhook for this task''s alerts instead of SCHETASK_WEBHOOK_URL';

-- The console shows owners and overrides; editing them must touch updated_at.
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

-- A deleted task row is kept here, so the deletion alert still knows whom
-- to tell, and people can see what was deleted and when.
CREATE TABLE t_task_tombstone (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_name  text NOT NULL,
    row_data   jsonb NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX t_task_tombstone_task ON t_task_tombstone (task_name, id DESC);

CREATE FUNCTION t_task_list_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO t_task_tombstone (task_name, row_data) VALUES (OLD.task_name, to_jsonb(OLD));
    RETURN OLD;
END;
$$;

CREATE TRIGGER t_task_list_tombstone
    AFTER DELETE ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_tombstone();

-- t_task_alert is every alert decided on, sent or held back by the repeat
-- limit. dedupe_key makes raising an alert idempotent: one run's failure,
-- one missed fire, one deletion is one row, however often it is raised.
CREATE TABLE t_task_alert (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key    text NOT NULL UNIQUE,
    task_name     text NOT NULL,
    kind          text NOT NULL,
    exec_id       bigint,
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',
    exit_code     integer,
    excerpt       text[] NOT NULL DEFAULT '{}',
    -- sent is false when the repeat limit held the alert back.
    sent          boolean NOT NULL,
    repeat        boolean NOT NULL DEFAULT false,
    -- suppressed counts the alerts held back since the last one sent,
    -- reported by this one.
    suppressed    integer NOT NULL DEFAULT 0,
    -- dispatched_at is when its delivery workflow was started.
    dispatched_at timestamptz,
    -- deliveries holds each channel's outcome: {"slack": {"at": ..., "error": ...}}.
    deliveries    jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT kind_known CHECK (kind IN (
        'timeout', 'failed', 'lost', 'missed', 'deleted', 'custom', 'recovered'))
);

CREATE INDEX t_task_alert_task ON t_task_alert (task_name, id DESC);
CREATE INDEX t_task_alert_undispatched ON t_task_alert (id) WHERE sent AND dispatched_at IS NULL;

-- t_task_alert_state is the repeat limit's memory, per task and topic
-- (failure, missed, custom): whether the task is failing, whether that was
-- announced, when the last alert went out and how many were held back since.
CREATE TABLE t_task_alert_state (
    task_name    text NOT NULL,
    topic        text NOT NULL,
    failing      boolean NOT NULL DEFAULT false,
    announced    boolean NOT NULL DEFAULT false,
    last_sent_at timestamptz,
    suppressed   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (task_name, topic)
);

-- t_task_monitor is how far the missed-run check has looked, per task.
CREATE TABLE t_task_monitor (
    task_name     text PRIMARY KEY,
    checked_until timestamptz NOT NULL
);

-- Which publishes a run made through the task helper:
-- [{"target": "prod", "path": "/resources/autostatic/gold", "files": [...], "at": ...}].
ALTER TABLE t_task_exec_list ADD COLUMN publishes jsonb NOT NULL DEFAULT '[]';

-- The missed-run check looks runs up by the time they were due.
CREATE INDEX t_task_exec_list_task_scheduled ON t_task_exec_list (task_name, scheduled_time);

---- create above / drop below ----

DROP INDEX t_task_exec_list_task_scheduled;
ALTER TABLE t_task_exec_list DROP COLUMN publishes;
DROP TABLE t_task_monitor;
DROP TABLE t_task_alert_state;
DROP TABLE t_task_alert;
DROP TRIGGER t_task_list_tombstone ON t_task_list;
DROP FUNCTION t_task_list_tombstone();
DROP TABLE t_task_tombstone;
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_list
    DROP COLUMN alert_channels, DROP COLUMN slack_channel, DROP COLUMN webhook_url;
