-- Row-level security the planner plans around: 0006's wall, with policies that no longer
-- change plans.
--
-- 0006 admitted a row when `relasi_admits(workspace_id)`: the transaction's workspace OR the
-- `relasi.system` switch. That OR is no index condition, so under `relasi_app` the planner
-- could not use the policy to reach a workspace's rows through the (workspace_id, ...)
-- indexes, misjudged every table's row counts, and drove filters through link tables as
-- nested loops over all of a workspace's rows: on the demo workspace, "contacts at Retail
-- companies with an open deal" read 3-4x the buffers of the owner's plan after ANALYZE, and
-- some 280x (158,000 buffers) before it.
--
-- The policy is now one plain equality, `workspace_id = relasi_workspace()`. The function is
-- an inlined SQL expression over `current_setting` (STABLE: read once per statement), so the
-- planner treats it like the `workspace_id = $1` every statement already has: an index
-- condition, merged with that one; plans come out as the owner's. No function is marked
-- LEAKPROOF: none needs to be (the uuid equality is). What no policy can change: under row
-- security PostgreSQL estimates a statement's conditions whose operators are not leakproof
-- (ILIKE, jsonb, numeric comparisons) without the columns' statistics.
--
-- Work across workspaces (the notifier, the segment scheduler, the CLI, seeding, the benches)
-- switches to `relasi_system` for it: a NOLOGIN role with BYPASSRLS, so PostgreSQL applies no
-- policy to it at all, instead of every request's policy carrying a test for it. Requests
-- still run as `relasi_app` (0006); the login itself, the tables' owner, stays bound by FORCE,
-- so a connection that switched to neither sees no workspace's rows (it fails closed).
-- Migrations run as the owner, since DDL needs it, with `row_security` off: a statement of a
-- later migration that would read or change workspace rows fails loudly instead of silently
-- touching none; such a migration does that part after `SET LOCAL ROLE relasi_system`.
--
-- Creating a BYPASSRLS role takes a superuser (from PostgreSQL 16 also a CREATEROLE login
-- that has BYPASSRLS itself). Where the login may not, and no superuser created the role and
-- granted it to the login beforehand, 0006's policies stay (with their OR, which the server
-- still sets `relasi.system` for) and a NOTICE says so.

CREATE FUNCTION relasi_workspace() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('relasi.workspace_id', true), '')::uuid
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relasi_system') THEN
        CREATE ROLE relasi_system NOLOGIN BYPASSRLS;
    END IF;
    IF NOT pg_has_role(current_user, 'relasi_system', 'MEMBER') THEN
        EXECUTE format('GRANT relasi_system TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO relasi_system', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO relasi_system',
                   current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO relasi_system',
                   current_schema());
    -- tables that later migrations create
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO relasi_system', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT USAGE, SELECT ON SEQUENCES TO relasi_system', current_schema());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'relasi_system not set up (%): row-level security keeps the policies of 0006, '
        'which plan worse; create it as a superuser (CREATE ROLE relasi_system NOLOGIN '
        'BYPASSRLS; GRANT relasi_system TO <login>) before migrating', SQLERRM;
END $$;

-- Put a table behind the wall (later migrations call it for their workspace tables): the
-- plain policy where relasi_system can do the work across workspaces, else 0006's.
CREATE OR REPLACE FUNCTION relasi_isolate(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    admits text := 'relasi_admits(workspace_id)';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relasi_system' AND rolbypassrls
                  AND pg_has_role(current_user, oid, 'MEMBER')) THEN
        admits := 'workspace_id = relasi_workspace()';
    END IF;
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS workspace_isolation ON %I', tbl);
    EXECUTE format('CREATE POLICY workspace_isolation ON %I USING (%s) WITH CHECK (%s)',
                   tbl, admits, admits);
END $$;

SELECT relasi_isolate(c.relname::text)
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
 WHERE p.polname = 'workspace_isolation'
   AND c.relnamespace = current_schema()::regnamespace
 ORDER BY c.relname;
