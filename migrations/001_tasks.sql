-- t_task_list is the task table people edit: one row per task, keyed by the
-- task's folder name under task/. The names and meanings of the seed system's
-- columns are kept (task_status 0 off, 1 on, 2 kill the running process).
CREATE TABLE t_task_list (
    task_name         text PRIMARY KEY,
    rule              text NOT NULL,
    time_zone         text NOT NULL DEFAULT 'UTC',
    timeout           integer NOT NULL DEFAULT 0,
    timeout_action    text NOT NULL DEFAULT 'kill',
    task_status       smallint NOT NULL DEFAULT 1,
    overlap_policy    text NOT NULL DEFAULT 'skip',
    owners            text[] NOT NULL DEFAULT '{}',
    description       text NOT NULL DEFAULT '',
    last_start_time   timestamptz,
    last_end_time     timestamptz,
    last_warning_time timestamptz,
    task_version      text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- A task name is a folder name: no slashes, no dot-dot, nothing hidden.
    CONSTRAINT task_name_is_a_folder_name CHECK (
        task_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' AND strpos(task_name, '..') = 0
    ),
    CONSTRAINT rule_not_empty CHECK (btrim(rule) <> ''),
    CONSTRAINT timeout_not_negative CHECK (timeout >= 0),
    CONSTRAINT timeout_action_known CHECK (timeout_action IN ('kill', 'warn')),
    CONSTRAINT task_status_known CHECK (task_status IN (0, 1, 2)),
    CONSTRAINT overlap_policy_known CHECK (overlap_policy IN (
        'skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'))
);

COMMENT ON COLUMN t_task_list.rule IS 'node-schedule/crontab rule: 5 fields, or 6 with seconds first';
COMMENT ON COLUMN t_task_list.timeout IS 'seconds a run may take; 0 means no limit but the global backstop';
COMMENT ON COLUMN t_task_list.task_status IS '0 off (paused), 1 on, 2 kill the running process and stay off';

-- t_task_exec_list is the run history: one row per run, written by the
-- workflow's start and end hooks. Temporal keeps only the last few actions
-- of a schedule, so this table is the history of record.
CREATE TABLE t_task_exec_list (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_name          text NOT NULL,
    task_version       text NOT NULL,
    workflow_id        text NOT NULL,
    run_id             text NOT NULL,
    scheduled_time     timestamptz NOT NULL,
    start_time         timestamptz NOT NULL DEFAULT now(),
    process_start_time timestamptz,
    end_time           timestamptz,
    exit_code          integer,
    status             text NOT NULL DEFAULT 'running',
    error              text NOT NULL DEFAULT '',
    stderr_head        text[] NOT NULL DEFAULT '{}',
    stderr_lines       bigint NOT NULL DEFAULT 0,
    log_path           text NOT NULL DEFAULT '',
    log_bytes          bigint NOT NULL DEFAULT 0,
    history_path       text NOT NULL DEFAULT '',
    published_files    text[] NOT NULL DEFAULT '{}',
    host               text NOT NULL DEFAULT '',
    pid                integer,
    pid_start_ticks    bigint,
    worker_pid         integer,
    worker_start_ticks bigint,
    CONSTRAINT status_known CHECK (status IN (
        'running', 'succeeded', 'failed', 'timed_out', 'killed', 'lost')),
    CONSTRAINT one_row_per_workflow_run UNIQUE (workflow_id, run_id),
    CONSTRAINT one_row_per_version UNIQUE (task_name, task_version)
);

CREATE INDEX t_task_exec_list_start_time ON t_task_exec_list (start_time DESC, id DESC);
CREATE INDEX t_task_exec_list_task_start_time ON t_task_exec_list (task_name, start_time DESC, id DESC);
CREATE INDEX t_task_exec_list_open ON t_task_exec_list (host) WHERE status IN ('running', 'lost');

-- t_task_sync is what the sync service last did for each task: the spec it
-- wrote to Temporal, or why it could not. It is separate from t_task_list so
-- that writing it never wakes the sync service up again.
CREATE TABLE t_task_sync (
    task_name   text PRIMARY KEY,
    schedule_id text NOT NULL DEFAULT '',
    spec_hash   text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    synced_at   timestamptz NOT NULL DEFAULT now()
);

-- Changes that matter to the schedule wake the sync service within
-- milliseconds; run bookkeeping (last_start_time and friends) does not.
CREATE FUNCTION t_task_list_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('t_task_list_changed', OLD.task_name);
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.task_name <> NEW.task_name THEN
        PERFORM pg_notify('t_task_list_changed', OLD.task_name);
    END IF;
    PERFORM pg_notify('t_task_list_changed', NEW.task_name);
    RETURN NEW;
END;
$$;

CREATE TRIGGER t_task_list_notify
    AFTER INSERT OR DELETE OR UPDATE OF task_name, rule, time_zone, timeout, timeout_action,
        task_status, overlap_policy
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_notify();

CREATE FUNCTION t_task_list_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

---- create above / drop below ----

DROP TABLE t_task_sync;
DROP TABLE t_task_exec_list;
DROP TABLE t_task_list;
DROP FUNCTION t_task_list_notify();
DROP FUNCTION t_task_list_touch();
