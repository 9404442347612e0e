-- The change log and the audit log are append-only for requests: relasi_app adds to them (its
-- writes' triggers do) but can neither change nor remove an entry, so code running a request,
-- whatever it does wrong, cannot rewrite what happened. Retention (relasi_system) still prunes
-- old entries.
--
-- Two of the change log's triggers fold the events one transaction wrote on one record into
-- one entry (an UPDATE or DELETE of that transaction's own entries) and link a note's entry to
-- its timeline row: they now run as their owner, who made them in 0008 and 0011 (SECURITY
-- DEFINER, on a fixed search_path: nothing a caller puts on its path is called in their
-- stead). Every row they touch is named by the triggering rows' own workspace and transaction.
DO $$
DECLARE
    path text := format('%I, pg_temp', current_schema());
BEGIN
    ALTER FUNCTION relasi_log_parts() SECURITY DEFINER;
    EXECUTE format('ALTER FUNCTION relasi_log_parts() SET search_path = %s', path);
    ALTER FUNCTION relasi_log_notes_and_members() SECURITY DEFINER;
    EXECUTE format('ALTER FUNCTION relasi_log_notes_and_members() SET search_path = %s', path);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'relasi_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON change_events, audit_log FROM relasi_app;
    END IF;
END $$;
