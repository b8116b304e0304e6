-- Console users, managed from the console: what an admin needs to see
-- (last login, a pending password change) and what ends a user's sessions.
ALTER TABLE t_web_user
    ADD COLUMN last_login_at        timestamptz,
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz,
    ADD COLUMN session_epoch        bigint NOT NULL DEFAULT 0,
    ADD COLUMN sso                  boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT password_or_sso CHECK (sso OR password_hash <> '');

COMMENT ON COLUMN t_web_user.session_epoch IS
    'raised when the role, the password or disabled changes; a session started at another epoch is refused';
COMMENT ON COLUMN t_web_user.must_change_password IS
    'set by a reset or a new account: the user may only change their password until they do';
COMMENT ON COLUMN t_web_user.sso IS 'signs in through single sign-on only, and has no password';

-- Each session names its user, so a change to the user ends all of their
-- sessions at once (and deleting the user deletes them).
ALTER TABLE t_web_session
    ADD COLUMN username text REFERENCES t_web_user (username) ON UPDATE CASCADE ON DELETE CASCADE;

CREATE INDEX t_web_session_user ON t_web_session (username);

-- Failed console logins, counted per client address and per user name and
-- shared by every console process: a key that keeps failing waits longer
-- and longer before it may try again.
CREATE TABLE t_web_login_failure (
    key           text PRIMARY KEY,
    failures      integer NOT NULL,
    last_at       timestamptz NOT NULL,
    blocked_until timestamptz
);

COMMENT ON COLUMN t_web_login_failure.key IS '''ip:<address>'' or ''user:<name as typed>''';

---- create above / drop below ----

DROP TABLE t_web_login_failure;
DROP INDEX t_web_session_user;
ALTER TABLE t_web_session DROP COLUMN username;
ALTER TABLE t_web_user
    DROP CONSTRAINT password_or_sso,
    DROP COLUMN sso, DROP COLUMN session_epoch, DROP COLUMN password_changed_at,
    DROP COLUMN must_change_password, DROP COLUMN last_login_at;
