-- The run list filtered by task and status (the console's most used
-- filter: "failed runs of gold") walked every failed run of every task
-- through (status, start_time) and threw away the other tasks' ones;
-- with this index it reads just the page it shows.
CREATE INDEX t_task_exec_list_task_status_start ON t_task_exec_list (task_name, status, start_time DESC, id DESC);

---- create above / drop below ----

DROP INDEX t_task_exec_list_task_status_start;
