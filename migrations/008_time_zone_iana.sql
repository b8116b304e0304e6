-- A task's time_zone is an IANA name or UTC, never 'Local' or '': Go's
-- time.LoadLocation takes both, but then the schedule follows whatever
-- zone the host running Temporal has while the task's TZ=Local reads as
-- UTC in node (tasktype.ValidateTimeZone; the console and sync refuse
-- them as well).
--
-- A trigger rather than a CHECK: a row written before this migration with
-- 'Local' keeps working (sync reports it invalid and keeps its last good
-- schedule) and its run bookkeeping (last_start_time, task_status) still
-- updates; only writing such a zone is refused.
CREATE FUNCTION t_task_list_time_zone_iana() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.time_zone IN ('', 'Local') THEN
        RAISE EXCEPTION 'time_zone %: use an IANA name such as UTC or Asia/Shanghai, not the host''s zone', quote_literal(NEW.time_zone)
            USING ERRCODE = 'check_violation', COLUMN = 'time_zone', TABLE = 't_task_list';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER t_task_list_time_zone_iana
    BEFORE INSERT OR UPDATE OF time_zone ON t_task_list FOR EACH ROW
    EXECUTE FUNCTION t_task_list_time_zone_iana();

---- create above / drop below ----

DROP TRIGGER t_task_list_time_zone_iana ON t_task_list;
DROP FUNCTION t_task_list_time_zone_iana();
