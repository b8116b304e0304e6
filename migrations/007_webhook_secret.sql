-- Each task signs its own webhook's deliveries with its own secret, so the
-- owner of one task's URL gets no body signed with the global
-- SCHETASK_WEBHOOK_SECRET (which they could replay to the global receiver)
-- nor with another task's secret.
--
-- The secret is 64 hex digits from two random UUIDs (gen_random_uuid uses
-- the server's strong random source and is built in since PostgreSQL 13;
-- pgcrypto's gen_random_bytes would need an extension). A new URL gets a
-- new secret: whoever received the old URL's deliveries cannot sign for
-- the new one.
CREATE FUNCTION new_webhook_secret() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex')
$$;

ALTER TABLE t_task_list
    ADD COLUMN webhook_secret text NOT NULL DEFAULT new_webhook_secret(),
    ADD CONSTRAINT webhook_secret_is_long CHECK (webhook_secret ~ '^[0-9a-f]{64}$');

COMMENT ON COLUMN t_task_list.webhook_secret IS 'signs this task''s deliveries to its webhook_url (HMAC-SHA256); renewed when the URL changes; shown to admins only';

CREATE FUNCTION t_task_list_renew_webhook_secret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.webhook_secret := new_webhook_secret();
    RETURN NEW;
END;
$$;

CREATE TRIGGER t_task_list_renew_webhook_secret
    BEFORE UPDATE OF webhook_url ON t_task_list FOR EACH ROW
    WHEN (OLD.webhook_url IS DISTINCT FROM NEW.webhook_url)
    EXECUTE FUNCTION t_task_list_renew_webhook_secret();

---- create above / drop below ----

DROP TRIGGER t_task_list_renew_webhook_secret ON t_task_list;
DROP FUNCTION t_task_list_renew_webhook_secret();
ALTER TABLE t_task_list DROP COLUMN webhook_secret;
DROP FUNCTION new_webhook_secret();
