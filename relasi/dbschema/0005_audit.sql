-- The audit log: who changed what, when, with every changed field's value before and after.
--
-- Triggers write it, so no write path can forget to: every row an API mutation inserts,
-- updates or deletes in an audited table leaves an entry. The request sets who is acting and
-- which mutation runs (transaction-local settings, see resolvers/session.py); writes made
-- outside the API (migrations, demo seeding, the CLI) set nothing and are not logged.
CREATE TABLE audit_log (
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    entity_type       text NOT NULL,   -- the GraphQL type, e.g. 'Contact'
    entity_id         uuid NOT NULL,
    operation         text NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE', 'RESTORE')),
    mutation          text,            -- the GraphQL mutation, e.g. 'updateContact'
    request_id        text,
    actor_api_key_id  uuid,
    actor_member_id   uuid,
    changes           jsonb NOT NULL,  -- {"field": {"before": ..., "after": ...}}
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX audit_log_order ON audit_log (workspace_id, occurred_at DESC, id DESC);
CREATE INDEX audit_log_entity ON audit_log (workspace_id, entity_id, occurred_at DESC);
CREATE INDEX audit_log_actor_member ON audit_log (workspace_id, actor_member_id)
    WHERE actor_member_id IS NOT NULL;

-- TG_ARGV: the entity type; the column holding its id; for rows that belong to another
-- entity (a contact's emails, a deal's contacts) the field name the change is reported under.
CREATE FUNCTION relasi_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    after_row  jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    any_row    jsonb := coalesce(after_row, before_row);
    operation  text;
    changes    jsonb;
BEGIN
    IF current_setting('relasi.audit', true) IS DISTINCT FROM 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_NARGS > 2 THEN  -- a part of its owner: the owner was updated
        operation := 'UPDATE';
        changes := jsonb_build_object(TG_ARGV[2], jsonb_build_object(
            'before', before_row - 'workspace_id' - 'created_at',
            'after', after_row - 'workspace_id' - 'created_at'));
    ELSE
        operation := CASE
            WHEN TG_OP = 'INSERT' THEN 'CREATE'
            WHEN TG_OP = 'DELETE' THEN 'DELETE'
            WHEN before_row ? 'deleted_at' AND before_row->'deleted_at' = 'null'
                 AND after_row->'deleted_at' <> 'null' THEN 'DELETE'
            WHEN before_row ? 'deleted_at' AND before_row->'deleted_at' <> 'null'
                 AND after_row->'deleted_at' = 'null' THEN 'RESTORE'
            ELSE 'UPDATE' END;
        -- secrets are logged as changed, never with their values
        SELECT coalesce(jsonb_object_agg(k, CASE WHEN k IN ('secret_hash', 'jwt_secret')
                   THEN '{"before": "[secret]", "after": "[secret]"}'::jsonb
                   ELSE jsonb_build_object('before', before_row->k, 'after', after_row->k) END),
               '{}')
          INTO changes
          FROM jsonb_object_keys(any_row) AS k
         WHERE k NOT IN ('workspace_id', 'updated_at', 'version')
           AND coalesce(before_row->k, 'null') IS DISTINCT FROM coalesce(after_row->k, 'null');
        IF operation = 'UPDATE' AND changes = '{}' THEN
            RETURN NULL;  -- nothing a client would call a change
        END IF;
    END IF;
    INSERT INTO audit_log (workspace_id, entity_type, entity_id, operation, mutation, request_id,
                           actor_api_key_id, actor_member_id, changes)
    VALUES (coalesce(any_row->>'workspace_id', any_row->>'id')::uuid,  -- a workspace's own row
            TG_ARGV[0], (any_row->>TG_ARGV[1])::uuid, operation,
            nullif(current_setting('relasi.mutation', true), ''),
            nullif(current_setting('relasi.request_id', true), ''),
            nullif(current_setting('relasi.actor_api_key_id', true), '')::uuid,
            nullif(current_setting('relasi.actor_member_id', true), '')::uuid,
            changes);
    RETURN NULL;
END $$;

-- Audit a table: relasi_audit_table('contacts', 'Contact', 'id') or, for a part of another
-- entity, relasi_audit_table('contact_identities', 'Contact', 'contact_id', 'identities').
-- Later migrations call it for the tables they add.
CREATE FUNCTION relasi_audit_table(tbl text, entity text, id_column text, part text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW '
        'EXECUTE FUNCTION relasi_audit(%L, %L%s)',
        tbl, entity, id_column, CASE WHEN part IS NULL THEN '' ELSE format(', %L', part) END);
END $$;

SELECT relasi_audit_table('contacts', 'Contact', 'id');
SELECT relasi_audit_table('contact_identities', 'Contact', 'contact_id', 'identities');
SELECT relasi_audit_table('accounts', 'Account', 'id');
SELECT relasi_audit_table('deals', 'Deal', 'id');
SELECT relasi_audit_table('deal_contacts', 'Deal', 'deal_id', 'contacts');
SELECT relasi_audit_table('pipelines', 'Pipeline', 'id');
SELECT relasi_audit_table('pipeline_stages', 'Pipeline', 'pipeline_id', 'stages');
SELECT relasi_audit_table('cases', 'Case', 'id');
SELECT relasi_audit_table('interactions', 'Interaction', 'id');
SELECT relasi_audit_table('members', 'Member', 'id');
SELECT relasi_audit_table('api_keys', 'ApiKey', 'id');
SELECT relasi_audit_table('workspaces', 'Workspace', 'id');
SELECT relasi_audit_table('segments', 'Segment', 'id');
SELECT relasi_audit_table('segment_includes', 'Segment', 'segment_id', 'included');
SELECT relasi_audit_table('segment_excludes', 'Segment', 'segment_id', 'excluded');
-- notes are the only timeline events a client writes directly
CREATE TRIGGER audit AFTER INSERT ON timeline_events FOR EACH ROW WHEN (NEW.kind = 'NOTE')
    EXECUTE FUNCTION relasi_audit('Note', 'id');
