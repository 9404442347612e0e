-- Webhooks: whose eyes a payload is seen with must still be allowed in, and why an endpoint
-- is disabled, as a code; an index for the delivery throughput work.
--
-- OWNER. An endpoint's payloads are rendered with the scopes of whoever saved it last (0010:
-- owner_scopes, owner_api_key_id, owner_member_id). Once that key is revoked, expired or gone,
-- or that member removed, the endpoint must send nothing more: fan-out and claims only take
-- endpoints whose owner is active (this function), and fan-out and the sweep disable the
-- others with the code OWNER_REVOKED (resolvers/webhooks/owners.py). An endpoint saved by
-- neither (system work) has no owner to lose. (Its body reads tables under row-level
-- security, which this migration, run with row_security off, may not plan: it is checked
-- when first called instead, as pg_dump's output does it.)
SET LOCAL check_function_bodies = off;
CREATE FUNCTION relasi_webhook_owner_active(ws uuid, key_id uuid, member_id uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (key_id IS NULL OR EXISTS (
                SELECT FROM api_keys k
                 WHERE k.id = key_id AND k.workspace_id = ws AND k.revoked_at IS NULL
                   AND (k.expires_at IS NULL OR k.expires_at > now())))
       AND (member_id IS NULL OR EXISTS (
                SELECT FROM members m
                 WHERE m.workspace_id = ws AND m.id = member_id AND m.status = 'ACTIVE'))
$$;

-- why an endpoint is disabled, for code to act on (disabled_reason says it for people)
ALTER TABLE webhook_endpoints
    ADD COLUMN disabled_code text
        CHECK (disabled_code IN ('GONE', 'RETRIES_EXHAUSTED', 'OWNER_REVOKED', 'BY_USER'));
-- the endpoints disabled so far get theirs from their reason; as relasi_system (0007), or
-- where that role could not be made, with 0006's policies and their system switch
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles r WHERE r.rolname = 'relasi_system'
                  AND pg_has_role(current_user, r.oid, 'MEMBER')) THEN
        SET LOCAL ROLE relasi_system;
    ELSE
        PERFORM set_config('row_security', 'on', true), set_config('relasi.system', 'on', true);
    END IF;
    UPDATE webhook_endpoints
       SET disabled_code = CASE
               WHEN disabled_reason LIKE '%410 Gone%' THEN 'GONE'
               WHEN disabled_reason LIKE '%retry schedule%' THEN 'RETRIES_EXHAUSTED'
               ELSE 'BY_USER' END
     WHERE NOT enabled;
    RESET ROLE;
    PERFORM set_config('row_security', 'off', true), set_config('relasi.system', '', true);
END $$;

-- claims count an endpoint's sends in flight: only those rows, not its whole backlog
CREATE INDEX webhook_deliveries_sending ON webhook_deliveries (workspace_id, endpoint_id)
    WHERE status = 'SENDING';
