-- Live subscriptions read the change log (0008): each numbered commit announces itself, and
-- the log names every timeline entry and segment membership change a subscription delivers.
--
-- ANNOUNCING. As a commit takes its number, it sends `{"w": workspace, "s": sequence}` on the
-- channel `relasi_changes` (a few dozen bytes, far below NOTIFY's 8,000-byte limit whatever
-- the write). The notification goes out only if the transaction commits, and the commits of one
-- workspace queue their notifications in sequence order (each still holds its workspace's
-- counter row when PostgreSQL queues them), so a listener hears them in order. A listener
-- reads the events after the last sequence it saw; one that lost its connection does the same
-- when it is back, so it misses nothing (notifier.py).
CREATE FUNCTION relasi_announce_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('relasi_changes',
                      json_build_object('w', NEW.workspace_id, 's', NEW.sequence)::text);
    RETURN NULL;
END $$;
-- fired by relasi_number_commit's UPDATE, inside the deferred numbering at commit
CREATE TRIGGER announce_commit AFTER UPDATE OF sequence ON change_commits
    FOR EACH ROW WHEN (NEW.sequence IS NOT NULL) EXECUTE FUNCTION relasi_announce_commit();

-- The row of an append-only event table an event was written from, which live subscriptions
-- deliver: the segment_changes row of `segment.member_entered` / `member_exited`, and the
-- timeline entry a record's change put on its timelines (`timelineEventAdded`). Not part of
-- the API's events; no default, so adding it rewrites nothing.
ALTER TABLE change_events ADD COLUMN source_id uuid;

-- 0008's notes and membership events, and: a membership event names its segment_changes row;
-- a timeline entry other than a note (a deal's stage move, a case opened or changing status,
-- a journey move) is named by the event of the change that made it, recorded just before in
-- the same transaction (a new deal or contact: its `.created`), the earliest one not naming
-- an entry yet.
CREATE OR REPLACE FUNCTION relasi_log_notes_and_members() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    me xid8 := pg_current_xact_id();
    entry record;
BEGIN
    IF TG_TABLE_NAME = 'timeline_events' THEN
        INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                   actor_api_key_id, actor_member_id, request_id)
        SELECT n.workspace_id, 'note.added', 'NoteEvent', n.id,
               jsonb_build_object('body', n.body, 'contact_id', n.contact_id,
                                  'account_id', n.account_id, 'deal_id', n.deal_id,
                                  'case_id', n.case_id),
               relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
               nullif(current_setting('relasi.request_id', true), '')
          FROM new_rows n WHERE n.kind = 'NOTE';
        -- one entry at a time, each by index (a backfill of history inserts thousands at once)
        FOR entry IN
            SELECT n.workspace_id, n.id,
                   CASE WHEN n.kind = 'DEAL_STAGE_CHANGED' THEN n.deal_id
                        WHEN n.kind = 'JOURNEY_STAGE_CHANGED' THEN n.contact_id
                        WHEN n.kind IN ('TASK_CREATED', 'TASK_COMPLETED') THEN n.task_id
                        ELSE n.case_id END AS record_id,
                   CASE n.kind
                       WHEN 'DEAL_STAGE_CHANGED' THEN '{deal.stage_changed,deal.created}'
                       WHEN 'JOURNEY_STAGE_CHANGED'
                           THEN '{contact.journey_stage_changed,contact.created}'
                       WHEN 'CASE_OPENED' THEN '{case.created}'
                       WHEN 'TASK_CREATED' THEN '{task.created}'
                       WHEN 'TASK_COMPLETED' THEN '{task.completed}'
                       ELSE '{case.status_changed}' END::text[] AS types
              FROM new_rows n WHERE n.kind <> 'NOTE' ORDER BY n.occurred_at, n.id
        LOOP
            UPDATE change_events e SET source_id = entry.id
             WHERE e.workspace_id = entry.workspace_id AND e.record_id = entry.record_id
               AND e.xid = me
               AND e.seq = (SELECT min(f.seq) FROM change_events f
                             WHERE f.workspace_id = entry.workspace_id
                               AND f.record_id = entry.record_id AND f.xid = me
                               AND f.type = ANY (entry.types) AND f.source_id IS NULL);
        END LOOP;
    ELSE
        INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                                   actor_api_key_id, actor_member_id, request_id, source_id)
        SELECT n.workspace_id, 'segment.member_' || lower(n.change), 'Segment', n.segment_id,
               jsonb_build_object('contact_id', CASE n.change
                   WHEN 'ENTERED' THEN jsonb_build_object('before', NULL, 'after', n.contact_id)
                   ELSE jsonb_build_object('before', n.contact_id, 'after', NULL) END),
               relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
               nullif(current_setting('relasi.request_id', true), ''), n.id
          FROM new_rows n ORDER BY n.segment_id, n.contact_id;
    END IF;
    RETURN NULL;
END $$;
