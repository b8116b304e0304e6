-- The automation surface (#16): API tokens, task parameters, backfills,
-- and an audit of t_task_list written by the database itself.

-- Personal API tokens. The token is shown once; only its SHA-256 is kept.
-- A token acts as its user with at most its own role; it stops working
-- when revoked, expired, or when its user is disabled or removed.
CREATE TABLE t_api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    username     text NOT NULL REFERENCES t_web_user (username) ON DELETE CASCADE ON UPDATE CASCADE,
    role         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_token_name_plain CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    CONSTRAINT api_token_role_known CHECK (role IN ('admin', 'operator', 'viewer')),
    CONSTRAINT api_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT api_token_name_per_user UNIQUE (username, name)
);

COMMENT ON COLUMN t_api_token.token_hash IS 'SHA-256 of the token; the token itself is never stored';

-- A task's declared parameters: [{"name", "default", "required", "pattern"}].
-- Runs started by people may set them; each reaches the process as
-- SCHETASK_PARAM_<NAME>. The values a run got are on its row.
ALTER TABLE t_task_list
    ADD COLUMN params jsonb NOT NULL DEFAULT '[]',
    ADD CONSTRAINT params_is_a_list CHECK (jsonb_typeof(params) = 'array');

COMMENT ON COLUMN t_task_list.params IS 'declared parameters: [{"name":"DAY","default":"","required":false,"pattern":"^[0-9-]+$"}]';

-- A backfill asked for: every fire of the task's rule from start_time to
-- end_time, started through the schedule's backfill.
CREATE TABLE t_task_backfill (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_name    text NOT NULL,
    start_time   timestamptz NOT NULL,
    end_time     timestamptz NOT NULL,
    fires        integer NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT backfill_range_ordered CHECK (start_time <= end_time),
    CONSTRAINT backfill_fires_not_negative CHECK (fires >= 0)
);

CREATE INDEX t_task_backfill_task ON t_task_backfill (task_name, id DESC);

ALTER TABLE t_task_exec_list
    ADD COLUMN params jsonb,
    ADD COLUMN backfill_id bigint REFERENCES t_task_backfill (id) ON DELETE SET NULL;

COMMENT ON COLUMN t_task_exec_list.params IS 'the parameter values the run got (defaults filled in); NULL for a task without parameters';
COMMENT ON COLUMN t_task_exec_list.backfill_id IS 'the backfill that started this run, if one did';

-- Parameters are settings: an edit of them touches updated_at.
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds,
        retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
        retry_timed_out, retry_lost, params
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

-- Every change of a task's settings is audited here, whoever makes it:
-- the console, the API, apply, or SQL typed by hand. schetask's own code
-- says who acted and what it did in two transaction-local settings
-- (schetask.actor, schetask.action); a change made without them is
-- recorded with the SQL role as who and the statement as what. The
-- run bookkeeping columns are left out (a change of only those is not
-- audited), and so is the webhook secret.
ALTER TABLE t_audit ADD COLUMN db_role text;

COMMENT ON COLUMN t_audit.db_role IS 'the SQL role (session_user) of the change; set on rows the database wrote';

CREATE FUNCTION t_task_list_settings(r t_task_list) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT to_jsonb(r) - 'last_start_time' - 'last_end_time' - 'last_warning_time'
        - 'task_version' - 'created_at' - 'updated_at' - 'webhook_secret'
$$;

CREATE FUNCTION t_task_list_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_row jsonb;
    after_row  jsonb;
    actor      text := nullif(current_setting('schetask.actor', true), '');
    what       text := nullif(current_setting('schetask.action', true), '');
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before_row := t_task_list_settings(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after_row := t_task_list_settings(NEW);
    END IF;
    IF TG_OP = 'UPDATE' AND before_row = after_row THEN
        RETURN NULL;
    END IF;
    INSERT INTO t_audit (username, action, task_name, before, after, db_role)
    VALUES (coalesce(actor, session_user::text),
            coalesce(what, 'sql.' || lower(TG_OP)),
            coalesce(NEW.task_name, OLD.task_name),
            before_row, after_row, session_user::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER t_task_list_audit
    AFTER INSERT OR UPDATE OR DELETE ON t_task_list
    FOR EACH ROW EXECUTE FUNCTION t_task_list_audit();

---- create above / drop below ----

DROP TRIGGER t_task_list_audit ON t_task_list;
DROP FUNCTION t_task_list_audit();
DROP FUNCTION t_task_list_settings(t_task_list);
ALTER TABLE t_audit DROP COLUMN db_role;
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds,
        retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
        retry_timed_out, retry_lost
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
ALTER TABLE t_task_exec_list DROP COLUMN backfill_id, DROP COLUMN params;
DROP TABLE t_task_backfill;
ALTER TABLE t_task_list DROP CONSTRAINT params_is_a_list, DROP COLUMN params;
DROP TABLE t_api_token;
