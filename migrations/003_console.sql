-- The console's people: who may log in and what they may do.
CREATE TABLE t_web_user (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT username_plain CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    CONSTRAINT role_known CHECK (role IN ('admin', 'operator', 'viewer'))
);

COMMENT ON COLUMN t_web_user.role IS 'admin: everything; operator: run, kill, pause; viewer: read';

-- Console sessions (Fiber's session and CSRF state), so any console process
-- serves any user and a restart logs nobody out.
CREATE TABLE t_web_session (
    key        text PRIMARY KEY,
    data       bytea NOT NULL,
    expires_at timestamptz
);

CREATE INDEX t_web_session_expires ON t_web_session (expires_at);

-- Every change made through the console: who, when, what it was, what it became.
CREATE TABLE t_audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    action    text NOT NULL,
    task_name text,
    before    jsonb,
    after     jsonb
);

CREATE INDEX t_audit_task ON t_audit (task_name, id DESC);

-- The run list filters by status and exit code, newest first.
CREATE INDEX t_task_exec_list_status_start ON t_task_exec_list (status, start_time DESC, id DESC);
CREATE INDEX t_task_exec_list_exit_start ON t_task_exec_list (exit_code, start_time DESC, id DESC);

---- create above / drop below ----

DROP INDEX t_task_exec_list_exit_start;
DROP INDEX t_task_exec_list_status_start;
DROP TABLE t_audit;
DROP TABLE t_web_session;
DROP TABLE t_web_user;
