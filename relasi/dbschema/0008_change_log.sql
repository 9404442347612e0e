-- The change log: every write to a CRM record, as typed events, in the writer's transaction.
--
-- Statement-level triggers write it (a transactional outbox), so no write path can forget:
-- API mutations, batch ingest, the segment scheduler, the CLI and bulk COPY all leave their
-- events, and a rolled-back write (or savepoint) leaves none. One trigger run per statement
-- reads the statement's transition tables, so a 1,000-row insert costs one INSERT ... SELECT
-- here, not 1,000 trigger calls.
--
-- The audit log (0005) stays a separate table: it is the admins' permanent record of API
-- mutations (members, API keys, pipelines and workspace secrets included, with the mutation's
-- name), while this log is the integration feed of record changes, kept for a retention period
-- and written by system work too.
--
-- ORDER AND THE POLLER'S GUARANTEE. Each transaction that records events gets a number of
-- its workspace, `change_commits.sequence`, taken when it commits: a deferred constraint
-- trigger increments the workspace's counter row (`change_heads`) as the last thing before the
-- commit, and the row lock is held until the commit is done. So the numbers are gapless and in
-- commit order: number n+1 cannot be taken before the transaction holding n has committed (or
-- rolled back, giving n back), and a reader that sees n+1 sees every number below it. Events
-- are read in (sequence, seq) order, seq being their order within their transaction; a poller
-- that resumes after the last (sequence, seq) it read never misses an event committed later,
-- nor gets one twice, and two changes of one record arrive in the order they were made (the
-- second writer waits for the first one's row lock, so it commits after it).
--
-- Why at commit and not at the first event: a transaction holding the counter from its first
-- event on would serialise the workspace's writers for their whole duration and deadlock with
-- the row locks they take afterwards (a contact locked by one, the counter by the other). At
-- commit a transaction waits for nothing else, so this cannot deadlock; the cost is that the
-- commits of one workspace (not their work) happen one after the other. A transaction writing
-- to several workspaces takes their counters in the order it first wrote to them; only system
-- work could do that, and none does. Writers run READ COMMITTED (a REPEATABLE READ writer
-- would fail to commit with a serialization error when another commit of its workspace
-- slipped in since its snapshot).

-- A global sequence numbers events within their transactions (gaps are harmless there).
CREATE SEQUENCE change_events_seq;

CREATE TABLE change_events (
    workspace_id      uuid NOT NULL,   -- no foreign key: its check would cost a lookup per event
    xid               xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq               bigint NOT NULL DEFAULT nextval('change_events_seq'),
    occurred_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    type              text NOT NULL,   -- e.g. 'contact.updated'
    record_type       text NOT NULL,   -- the GraphQL type, e.g. 'Contact'
    record_id         uuid NOT NULL,
    -- in stored names and values, rendered as clients see the fields by resolvers/changes.py:
    -- {"column": {"before": ..., "after": ...}}, or for a new record (`.created`,
    -- `interaction.tracked`, `note.added`) its row {"column": value}, cheaper to build
    changes           jsonb NOT NULL,
    actor_api_key_id  uuid,            -- both null: system work (scheduler, CLI, imports)
    actor_member_id   uuid,
    request_id        text,
    PRIMARY KEY (workspace_id, xid, seq)
);
-- `changes(filter: {recordIds})`, and finding a transaction's event of a record (parts below)
CREATE INDEX change_events_record ON change_events (workspace_id, record_id, xid, seq);
-- retention: rows arrive in time order, so a BRIN range index finds old ones for little upkeep
CREATE INDEX change_events_age ON change_events USING brin (occurred_at);

-- One row per transaction and workspace with events: its number, set as it commits.
CREATE TABLE change_commits (
    workspace_id  uuid NOT NULL,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    sequence      bigint,
    committed_at  timestamptz,
    PRIMARY KEY (workspace_id, xid)
);
CREATE UNIQUE INDEX change_commits_order ON change_commits (workspace_id, sequence);
CREATE INDEX change_commits_age ON change_commits USING brin (committed_at);

-- Each workspace's last commit number (the row whose lock orders its commits).
CREATE TABLE change_heads (
    workspace_id  uuid PRIMARY KEY,
    last          bigint NOT NULL
);
SELECT relasi_isolate(t) FROM unnest(ARRAY['change_events', 'change_commits', 'change_heads']) t;

-- Events were written: their transaction gets its commit row (once per workspace).
CREATE FUNCTION relasi_change_commit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_commits (workspace_id)
    SELECT DISTINCT workspace_id FROM new_events
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER commit_row AFTER INSERT ON change_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_change_commit_row();

-- As the transaction commits: the workspace's next number (see the top of this file).
CREATE FUNCTION relasi_number_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM FROM change_commits WHERE workspace_id = NEW.workspace_id AND xid = NEW.xid;
    IF NOT FOUND THEN
        RETURN NULL;  -- its events cancelled out (see relasi_log_parts): no number is used
    END IF;
    INSERT INTO change_heads AS h (workspace_id, last) VALUES (NEW.workspace_id, 1)
    ON CONFLICT (workspace_id) DO UPDATE SET last = h.last + 1
    RETURNING last INTO n;
    UPDATE change_commits SET sequence = n, committed_at = clock_timestamp()
     WHERE workspace_id = NEW.workspace_id AND xid = NEW.xid;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER number_commit AFTER INSERT ON change_commits
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relasi_number_commit();

-- Columns that are bookkeeping, not what a client would call a change.
CREATE FUNCTION relasi_change_ignored() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['workspace_id', 'id', 'created_at', 'updated_at', 'version', 'refreshed_at',
                 'paths', 'refs', 'scheduled', 'needs_settle', 'settle_xid']
$$;

-- {"column": {"before": b, "after": a}} for the columns that differ. An amount comes with its
-- currency, changed or not, so it can be read on its own.
CREATE FUNCTION relasi_row_changes(before_row jsonb, after_row jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    WITH changed AS (
        SELECT k FROM jsonb_object_keys(coalesce(after_row, before_row)) AS k
         WHERE k <> ALL (relasi_change_ignored())
           AND coalesce(before_row->k, 'null') IS DISTINCT FROM coalesce(after_row->k, 'null'))
    SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('before', before_row->k,
                                                           'after', after_row->k)), '{}')
      FROM (SELECT k FROM changed
            UNION
            SELECT pair.other FROM changed
              JOIN (VALUES ('amount', 'currency'), ('currency', 'amount'),
                           ('annual_revenue', 'annual_revenue_currency'),
                           ('annual_revenue_currency', 'annual_revenue')) AS pair (k, other)
                ON pair.k = changed.k) AS keys
$$;

-- The acting caller, as the request set it (Session.audit_as); NULL for system work.
CREATE FUNCTION relasi_actor(setting text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('relasi.' || setting, true), '')::uuid
$$;

-- A record table (statement-level AFTER INSERT and AFTER UPDATE triggers).
-- TG_ARGV: [0] record type; [1] event of an insert ('contact.created', 'interaction.tracked');
-- [2] prefix of update events ('contact': .updated, .deleted, .restored), '' for append-only
-- tables; [3] a column whose change is an event of its own ('stage_id'), [4] that event's type
-- ('deal.stage_changed'), [5] the columns it reports ('{stage_id,pipeline_id,status}').
-- An update that moves `deleted_at` is a delete or restore; others are updates (the column of
-- [3] changing also makes its own event, after the update's).
CREATE FUNCTION relasi_log_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                   actor_api_key_id, actor_member_id, request_id)
        SELECT n.workspace_id, TG_ARGV[1], TG_ARGV[0], n.id,
               to_jsonb(n) - relasi_change_ignored(),
               relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
               nullif(current_setting('relasi.request_id', true), '')
          FROM new_rows n;
        RETURN NULL;
    END IF;
    WITH diffs AS (
        SELECT n.workspace_id, n.id, relasi_row_changes(to_jsonb(o), to_jsonb(n)) AS changes
          FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id)
    INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                               actor_api_key_id, actor_member_id, request_id)
    SELECT e.workspace_id, e.type, TG_ARGV[0], e.id, e.changes,
           relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
           nullif(current_setting('relasi.request_id', true), '')
      FROM (SELECT d.workspace_id, d.id, 0 AS ord, d.changes,
                   TG_ARGV[2] || CASE
                       WHEN NOT d.changes ? 'deleted_at' THEN '.updated'
                       WHEN d.changes->'deleted_at'->'before' = 'null' THEN '.deleted'
                       ELSE '.restored' END AS type
              FROM diffs d WHERE d.changes <> '{}'
            UNION ALL
            SELECT d.workspace_id, d.id, 1, (SELECT jsonb_object_agg(k, v)
                                               FROM jsonb_each(d.changes) AS c(k, v)
                                              WHERE k = ANY (TG_ARGV[5]::text[])),
                   TG_ARGV[4]
              FROM diffs d
             WHERE TG_NARGS > 3 AND d.changes ? TG_ARGV[3] AND NOT d.changes ? 'deleted_at'
           ) e
     ORDER BY e.id, e.ord;
    RETURN NULL;
END $$;

-- Parts of a record kept in their own rows (a contact's emails, a deal's contacts) are
-- reported as fields of their owner: the owner's created/updated event of this transaction
-- takes their values before (as first seen) and after (as now), or a new `.updated` event is
-- made. So `updateContact` that changes a name and the emails is one event, and so is a
-- contact created with its identities.
-- TG_ARGV: [0] owner record type, [1] owner event prefix, [2] the owner id column, [3] a
-- function turning a jsonb array of part rows into {"field": value, ...}.
CREATE FUNCTION relasi_log_parts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    me xid8 := pg_current_xact_id();
    part record;
    event record;
    merged jsonb;
    field text;
    before_value jsonb;
    after_value jsonb;
BEGIN
    FOR part IN EXECUTE format(
        $q$WITH changed AS (%s),
                owners AS (
                    SELECT (r->>'workspace_id')::uuid AS ws, (r->>%L)::uuid AS owner,
                           coalesce(jsonb_agg(r) FILTER (WHERE side = 'new'), '[]') AS added,
                           coalesce(jsonb_agg(r) FILTER (WHERE side = 'old'), '[]') AS removed
                      FROM changed GROUP BY 1, 2)
           SELECT o.ws, o.owner,
                  %I(coalesce((SELECT jsonb_agg(x) FROM (
                        SELECT to_jsonb(t) AS x FROM %I t
                         WHERE t.workspace_id = o.ws AND t.%I = o.owner
                        EXCEPT ALL SELECT jsonb_array_elements(o.added)
                        UNION ALL SELECT jsonb_array_elements(o.removed)) b), '[]')) AS before,
                  %I(coalesce((SELECT jsonb_agg(to_jsonb(t)) FROM %I t
                                WHERE t.workspace_id = o.ws AND t.%I = o.owner), '[]')) AS after
             FROM owners o$q$,
        CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT ''new'' AS side, to_jsonb(n) AS r FROM new_rows n'
            WHEN 'DELETE' THEN 'SELECT ''old'' AS side, to_jsonb(o) AS r FROM old_rows o'
            ELSE 'SELECT ''new'' AS side, to_jsonb(n) AS r FROM new_rows n UNION ALL '
                 'SELECT ''old'', to_jsonb(o) FROM old_rows o' END,
        TG_ARGV[2], TG_ARGV[3], TG_TABLE_NAME, TG_ARGV[2], TG_ARGV[3], TG_TABLE_NAME, TG_ARGV[2])
    LOOP
        SELECT e.seq, e.type, e.changes INTO event
          FROM change_events e
         WHERE e.workspace_id = part.ws AND e.record_id = part.owner AND e.xid = me
           AND e.type IN (TG_ARGV[1] || '.created', TG_ARGV[1] || '.updated')
         ORDER BY e.seq DESC LIMIT 1;
        merged := coalesce(event.changes, '{}');
        FOR field IN SELECT jsonb_object_keys(part.after || part.before) LOOP
            after_value := coalesce(part.after->field, '[]');
            IF event.type = TG_ARGV[1] || '.created' THEN  -- a new record's values, as they are
                merged := CASE WHEN after_value = '[]' THEN merged - field
                               ELSE merged || jsonb_build_object(field, after_value) END;
                CONTINUE;
            ELSIF merged ? field THEN
                before_value := merged->field->'before';
            ELSE
                before_value := coalesce(part.before->field, '[]');
            END IF;
            IF before_value = after_value THEN
                merged := merged - field;
            ELSE
                merged := merged || jsonb_build_object(field, jsonb_build_object(
                    'before', before_value, 'after', after_value));
            END IF;
        END LOOP;
        IF event.seq IS NOT NULL AND merged = '{}' AND event.type = TG_ARGV[1] || '.updated' THEN
            -- parts rewritten as they were: no change after all, and maybe no write to number
            DELETE FROM change_events WHERE workspace_id = part.ws AND xid = me AND seq = event.seq;
            DELETE FROM change_commits c WHERE c.workspace_id = part.ws AND c.xid = me
               AND NOT EXISTS (SELECT FROM change_events e
                                WHERE e.workspace_id = part.ws AND e.xid = me);
        ELSIF event.seq IS NOT NULL THEN
            UPDATE change_events SET changes = merged
             WHERE workspace_id = part.ws AND xid = me AND seq = event.seq;
        ELSIF merged <> '{}' THEN
            INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                       actor_api_key_id, actor_member_id, request_id)
            VALUES (part.ws, TG_ARGV[1] || '.updated', TG_ARGV[0], part.owner, merged,
                    relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
                    nullif(current_setting('relasi.request_id', true), ''));
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- A contact's identities as its fields: emails and phones primary first, external ids.
CREATE FUNCTION relasi_contact_parts(parts jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'emails', coalesce(jsonb_agg(p->'value' ORDER BY (p->>'position')::int)
                           FILTER (WHERE p->>'kind' = 'EMAIL'), '[]'),
        'phones', coalesce(jsonb_agg(p->'value' ORDER BY (p->>'position')::int)
                           FILTER (WHERE p->>'kind' = 'PHONE'), '[]'),
        'external_identities', coalesce(jsonb_agg(
            jsonb_build_object('source', p->'source', 'id', p->'value')
            ORDER BY p->>'source', p->>'value') FILTER (WHERE p->>'kind' = 'EXTERNAL'), '[]'))
      FROM jsonb_array_elements(parts) AS p
$$;

-- A deal's contacts as its field, with their roles.
CREATE FUNCTION relasi_deal_parts(parts jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('contacts', coalesce(jsonb_agg(
        jsonb_build_object('contact_id', p->'contact_id', 'role', p->'role')
        ORDER BY p->>'contact_id'), '[]'))
      FROM jsonb_array_elements(parts) AS p
$$;

-- Notes (the timeline events clients write) and segment membership entries and exits.
CREATE FUNCTION relasi_log_notes_and_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'timeline_events' THEN
        IF NOT EXISTS (SELECT FROM new_rows WHERE kind = 'NOTE') THEN
            RETURN NULL;  -- derived events (stage moves, journey): their records report them
        END IF;
        INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                   actor_api_key_id, actor_member_id, request_id)
        SELECT n.workspace_id, 'note.added', 'NoteEvent', n.id,
               jsonb_build_object('body', n.body, 'contact_id', n.contact_id,
                                  'account_id', n.account_id, 'deal_id', n.deal_id,
                                  'case_id', n.case_id),
               relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
               nullif(current_setting('relasi.request_id', true), '')
          FROM new_rows n WHERE n.kind = 'NOTE';
    ELSE
        INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                   actor_api_key_id, actor_member_id, request_id)
        SELECT n.workspace_id, 'segment.member_' || lower(n.change), 'Segment', n.segment_id,
               jsonb_build_object('contact_id', CASE n.change
                   WHEN 'ENTERED' THEN jsonb_build_object('before', NULL, 'after', n.contact_id)
                   ELSE jsonb_build_object('before', n.contact_id, 'after', NULL) END),
               relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
               nullif(current_setting('relasi.request_id', true), '')
          FROM new_rows n ORDER BY n.segment_id, n.contact_id;
    END IF;
    RETURN NULL;
END $$;

-- Log a record table: relasi_log_table('deals', 'Deal', 'deal.created', 'deal',
-- 'stage_id', 'deal.stage_changed', '{stage_id,pipeline_id,status,closed_at}').
CREATE FUNCTION relasi_log_table(tbl text, VARIADIC args text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    quoted text := (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) AS a);
BEGIN
    EXECUTE format('CREATE TRIGGER change_log_insert AFTER INSERT ON %I '
                   'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION relasi_log_records(%s)', tbl, quoted);
    IF args[3] <> '' THEN
        EXECUTE format('CREATE TRIGGER change_log_update AFTER UPDATE ON %I '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION relasi_log_records(%s)', tbl, quoted);
    END IF;
END $$;

-- Log a part table: relasi_log_parts_of('deal_contacts', 'Deal', 'deal', 'deal_id',
-- 'relasi_deal_parts').
CREATE FUNCTION relasi_log_parts_of(tbl text, VARIADIC args text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    quoted text := (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) AS a);
BEGIN
    EXECUTE format('CREATE TRIGGER change_log_insert AFTER INSERT ON %I '
                   'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION relasi_log_parts(%s)', tbl, quoted);
    EXECUTE format('CREATE TRIGGER change_log_update AFTER UPDATE ON %I '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION relasi_log_parts(%s)', tbl, quoted);
    EXECUTE format('CREATE TRIGGER change_log_delete AFTER DELETE ON %I '
                   'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION relasi_log_parts(%s)', tbl, quoted);
END $$;

SELECT relasi_log_table('contacts', 'Contact', 'contact.created', 'contact',
                        'journey_stage', 'contact.journey_stage_changed', '{journey_stage}');
SELECT relasi_log_table('accounts', 'Account', 'account.created', 'account');
SELECT relasi_log_table('deals', 'Deal', 'deal.created', 'deal',
                        'stage_id', 'deal.stage_changed',
                        '{stage_id,pipeline_id,status,closed_at,lost_reason}');
SELECT relasi_log_table('cases', 'Case', 'case.created', 'case',
                        'status', 'case.status_changed', '{status,first_response_at,resolved_at}');
SELECT relasi_log_table('segments', 'Segment', 'segment.created', 'segment');
SELECT relasi_log_table('interactions', 'Interaction', 'interaction.tracked', '');
SELECT relasi_log_parts_of('contact_identities', 'Contact', 'contact', 'contact_id',
                           'relasi_contact_parts');
SELECT relasi_log_parts_of('deal_contacts', 'Deal', 'deal', 'deal_id', 'relasi_deal_parts');
CREATE TRIGGER change_log_insert AFTER INSERT ON timeline_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_log_notes_and_members();
CREATE TRIGGER change_log_insert AFTER INSERT ON segment_changes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_log_notes_and_members();
