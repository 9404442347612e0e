-- Row-level security: the second wall between workspaces. Every statement of the API already
-- names its workspace; on top of that, PostgreSQL itself admits only the rows of the workspace
-- the transaction is set to (`relasi.workspace_id`, set by every request's Session), so a
-- query that forgot its condition still returns, changes or inserts nothing foreign.
-- Trusted code that works across workspaces (the notifier, the segment scheduler, the CLI)
-- sets `relasi.system`. API keys are looked up by prefix before any workspace is known: that
-- table stays outside (every query on it names the workspace or the key).
--
-- Superusers pass every policy, and the tables' owner passes them unless FORCEd. So requests
-- run as `relasi_app`, a role that owns nothing and cannot bypass row security (the Session
-- switches to it for each transaction). Where the server's login may not create roles, that
-- step is skipped and FORCE binds the login, as the tables' owner, all the same.

CREATE FUNCTION relasi_admits(ws uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT ws = nullif(current_setting('relasi.workspace_id', true), '')::uuid
        OR current_setting('relasi.system', true) = 'on'
$$;

-- Put a table behind the wall; migrations that add workspace tables call it.
CREATE FUNCTION relasi_isolate(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY workspace_isolation ON %I USING (relasi_admits(workspace_id)) '
        'WITH CHECK (relasi_admits(workspace_id))', tbl);
END $$;

SELECT relasi_isolate(c.relname::text)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema()
   AND c.relkind = 'r'
   AND c.relname <> 'api_keys'
   AND EXISTS (SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)
 ORDER BY c.relname;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relasi_app') THEN
        CREATE ROLE relasi_app NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT pg_has_role(current_user, 'relasi_app', 'MEMBER') THEN
        EXECUTE format('GRANT relasi_app TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO relasi_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO relasi_app',
                   current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO relasi_app',
                   current_schema());
    -- tables that later migrations create
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO relasi_app', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT USAGE, SELECT ON SEQUENCES TO relasi_app', current_schema());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'relasi_app not set up (%): requests run as the tables'' owner, bound by FORCE',
        SQLERRM;
END $$;
