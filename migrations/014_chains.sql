-- Chains and deadlines (#17). A task may run after other tasks (after,
-- with after_condition) instead of or as well as on its rule, and names
-- tasks to run when it fails (on_failure). Runs of one chain are matched
-- on their logical date: the nominal fire time of the upstream runs,
-- truncated to the downstream's period. A deadline says by when a logical
-- date's run must have succeeded: 'HH:MM' in the task's zone on the
-- logical date (the next day's when that is not after it), or '+<n>s|m|h'
-- after the nominal time.
ALTER TABLE t_task_list
    ADD COLUMN after           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN after_condition text NOT NULL DEFAULT 'all_succeeded',
    ADD COLUMN on_failure      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN deadline        text NOT NULL DEFAULT '',
    ADD CONSTRAINT after_condition_known CHECK (after_condition IN ('all_succeeded', 'any_succeeded', 'all_done')),
    ADD CONSTRAINT deadline_format CHECK (deadline ~ '^(|([01][0-9]|2[0-3]):[0-5][0-9]|\+[1-9][0-9]{0,5}[smh])$'),
    ADD CONSTRAINT after_names CHECK (array_position(after, NULL) IS NULL AND cardinality(after) <= 32),
    ADD CONSTRAINT on_failure_names CHECK (array_position(on_failure, NULL) IS NULL AND cardinality(on_failure) <= 32),
    DROP CONSTRAINT rule_not_empty,
    ADD CONSTRAINT rule_or_after CHECK (btrim(rule) <> '' OR cardinality(after) > 0);

COMMENT ON COLUMN t_task_list.after IS 'tasks this one runs after, per logical date (see after_condition); rule may then be empty';
COMMENT ON COLUMN t_task_list.on_failure IS 'tasks run when a run of this one fails (after its last attempt)';
COMMENT ON COLUMN t_task_list.deadline IS '''HH:MM'' in the task''s zone, or ''+2h'' after the nominal time: by when the logical date''s run must have succeeded';

-- The chain graph has no cycle: an edge goes from each name in after to
-- the task, and from the task to each name in on_failure. A change that
-- would close a cycle (or name the task itself) is refused, naming it.
CREATE FUNCTION t_task_list_chain_cycle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent   jsonb := '{}';  -- node → the node it was first reached from
    frontier text[] := ARRAY[NEW.task_name];
    next     text[];
    last     text;
    cur      text;
    cycle    text[];
    e        record;
BEGIN
    IF NEW.task_name = ANY (NEW.after) OR NEW.task_name = ANY (NEW.on_failure) THEN
        RAISE EXCEPTION 'task % cannot run after or on failure of itself', NEW.task_name
            USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_no_cycle';
    END IF;
    IF cardinality(NEW.after) = 0 AND cardinality(NEW.on_failure) = 0 THEN
        RETURN NEW;
    END IF;
    -- Chain edits wait for each other, so two cannot close a cycle
    -- together unseen.
    PERFORM pg_advisory_xact_lock(hashtext('t_task_list chain'));
    -- A breadth-first walk from the task, each task visited once (linear
    -- in the chain, however many paths it has), until it reaches the task
    -- again: the first way back is the cycle named.
    WHILE last IS NULL AND cardinality(frontier) > 0 LOOP
        next := '{}';
        FOR e IN
            SELECT x.src, x.dst FROM (
                SELECT u AS src, t.task_name AS dst FROM t_task_list t, unnest(t.after) u WHERE t.task_name <> NEW.task_name
                UNION ALL
                SELECT t.task_name, f FROM t_task_list t, unnest(t.on_failure) f WHERE t.task_name <> NEW.task_name
                UNION ALL
                SELECT u, NEW.task_name FROM unnest(NEW.after) u
                UNION ALL
                SELECT NEW.task_name, f FROM unnest(NEW.on_failure) f
            ) x WHERE x.src = ANY (frontier)
        LOOP
            IF e.dst = NEW.task_name THEN
                last := e.src;
                EXIT;
            END IF;
            IF NOT parent ? e.dst THEN
                parent := parent || jsonb_build_object(e.dst, e.src);
                next := next || e.dst;
            END IF;
        END LOOP;
        frontier := next;
    END LOOP;
    IF last IS NULL THEN
        RETURN NEW;
    END IF;
    cycle := ARRAY[last, NEW.task_name];
    cur := last;
    WHILE cur <> NEW.task_name LOOP
        cur := parent ->> cur;
        cycle := cur || cycle;
    END LOOP;
    RAISE EXCEPTION 'chain cycle: %', array_to_string(cycle, ' → ')
        USING ERRCODE = 'check_violation', CONSTRAINT = 'chain_no_cycle';
END;
$$;

CREATE TRIGGER t_task_list_chain_cycle
    BEFORE INSERT OR UPDATE OF task_name, after, on_failure ON t_task_list
    FOR EACH ROW EXECUTE FUNCTION t_task_list_chain_cycle();

-- Chain settings are settings: an edit of them touches updated_at.
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds,
        retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
        retry_timed_out, retry_lost, params, after, after_condition, on_failure, deadline
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();

-- Every run has a logical date; a run a chain started names its upstream
-- runs.
ALTER TABLE t_task_exec_list
    ADD COLUMN logical_date  timestamptz,
    ADD COLUMN upstream_runs bigint[] NOT NULL DEFAULT '{}';

CREATE INDEX t_task_exec_list_task_logical ON t_task_exec_list (task_name, logical_date);

-- What a downstream task waits for, per logical date: the upstream runs
-- that have ended, and whether it started, will not, or still waits (and
-- why). The chain's gate workflow writes it; the console and the
-- deadline check read it.
CREATE TABLE t_chain_wait (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_name     text NOT NULL,
    logical_date  timestamptz NOT NULL,
    condition     text NOT NULL,
    upstreams     text[] NOT NULL,
    arrived       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'waiting',
    reason        text NOT NULL DEFAULT '',
    workflow_id   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chain_wait_state_known CHECK (state IN ('waiting', 'started', 'not_running')),
    CONSTRAINT one_wait_per_date UNIQUE (task_name, logical_date)
);

COMMENT ON COLUMN t_chain_wait.arrived IS '{"<upstream task>": {"run_id": 12, "status": "succeeded", "workflow_id": "…"}}';

ALTER TABLE t_task_alert DROP CONSTRAINT kind_known;
ALTER TABLE t_task_alert ADD CONSTRAINT kind_known CHECK (kind IN (
    'timeout', 'failed', 'lost', 'missed', 'deleted', 'custom', 'recovered',
    'slow', 'fast', 'did_nothing', 'deadline'));

---- create above / drop below ----

DELETE FROM t_task_alert WHERE kind = 'deadline';
ALTER TABLE t_task_alert DROP CONSTRAINT kind_known;
ALTER TABLE t_task_alert ADD CONSTRAINT kind_known CHECK (kind IN (
    'timeout', 'failed', 'lost', 'missed', 'deleted', 'custom', 'recovered',
    'slow', 'fast', 'did_nothing'));
DROP TABLE t_chain_wait;
DROP INDEX t_task_exec_list_task_logical;
ALTER TABLE t_task_exec_list DROP COLUMN upstream_runs, DROP COLUMN logical_date;
DROP TRIGGER t_task_list_touch ON t_task_list;
CREATE TRIGGER t_task_list_touch
    BEFORE UPDATE OF task_name, rule, time_zone, timeout, timeout_action, task_status,
        overlap_policy, owners, description, alert_channels, slack_channel, webhook_url, status_note,
        run_as, memory_limit_mb, cpu_limit, pids_limit, keep_runs, keep_days,
        learn_normal, slow_margin_seconds,
        retry_max, retry_delay_seconds, retry_backoff, retry_delay_max_seconds, retry_on,
        retry_timed_out, retry_lost, params
    ON t_task_list FOR EACH ROW EXECUTE FUNCTION t_task_list_touch();
DROP TRIGGER t_task_list_chain_cycle ON t_task_list;
DROP FUNCTION t_task_list_chain_cycle();
UPDATE t_task_list SET rule = '0 0 1 1 *' WHERE btrim(rule) = '';
ALTER TABLE t_task_list
    DROP CONSTRAINT rule_or_after,
    ADD CONSTRAINT rule_not_empty CHECK (btrim(rule) <> ''),
    DROP CONSTRAINT on_failure_names, DROP CONSTRAINT after_names,
    DROP CONSTRAINT deadline_format, DROP CONSTRAINT after_condition_known,
    DROP COLUMN deadline, DROP COLUMN on_failure, DROP COLUMN after_condition, DROP COLUMN after;
