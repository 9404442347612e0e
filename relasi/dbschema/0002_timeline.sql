-- Journey timelines. Touchpoints stay in `interactions`; every other event of a customer's
-- history is a row here: deal stage moves, cases opened and their status changes, journey stage
-- transitions and notes. A timeline page is a keyset scan of both tables on the indexes below,
-- so its cost follows the page size, never the length of the history.
--
-- `contact_id` / `account_id` say whose timeline the event is on. They are stamped when the
-- event happens (a contact's events carry the account it belonged to then), except that a
-- contact's events recorded before it had any account join the account it is first linked to.
-- Deal events carry the deal's account and appear on the timelines of the deal's contacts
-- through `deal_id`.
CREATE TABLE timeline_events (
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    kind              text NOT NULL CHECK (kind IN (
        'DEAL_STAGE_CHANGED', 'CASE_OPENED', 'CASE_STATUS_CHANGED', 'JOURNEY_STAGE_CHANGED', 'NOTE')),
    occurred_at       timestamptz NOT NULL DEFAULT now(),
    contact_id        uuid,
    account_id        uuid,
    deal_id           uuid,
    case_id           uuid,
    interaction_id    uuid,   -- the touchpoint that caused a journey move
    from_value        text,   -- stage id (deals), status (cases), journey stage
    to_value          text,
    regression        boolean NOT NULL DEFAULT false,  -- a journey move backwards
    body              text,   -- a note's text
    actor_api_key_id  uuid,
    actor_member_id   uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, case_id) REFERENCES cases (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, interaction_id) REFERENCES interactions (workspace_id, id),
    FOREIGN KEY (workspace_id, actor_member_id) REFERENCES members (workspace_id, id)
);
CREATE INDEX timeline_events_contact
    ON timeline_events (workspace_id, contact_id, occurred_at DESC, id DESC)
    WHERE contact_id IS NOT NULL;
CREATE INDEX timeline_events_account
    ON timeline_events (workspace_id, account_id, occurred_at DESC, id DESC)
    WHERE account_id IS NOT NULL;
-- deal events shown on the timelines of the deal's contacts
CREATE INDEX timeline_events_deal
    ON timeline_events (workspace_id, deal_id, occurred_at DESC, id DESC)
    WHERE deal_id IS NOT NULL AND contact_id IS NULL;
-- a contact's journey: its stage transitions in order
CREATE INDEX timeline_events_journey
    ON timeline_events (workspace_id, contact_id, occurred_at, id)
    WHERE kind = 'JOURNEY_STAGE_CHANGED';
-- interactions with no account yet, re-stamped when their contact is linked to one
CREATE INDEX interactions_contact_unattached
    ON interactions (workspace_id, contact_id) WHERE account_id IS NULL;

-- Derive the timeline of data written without it (rows that existed before this migration,
-- and bulk imports such as the demo data set): cases opened, deal stage moves, and journey
-- transitions read off the touchpoints (a move whenever a touch shows a later stage than any
-- before it). Idempotent per workspace: it only runs where the workspace has no events yet.
CREATE FUNCTION relasi_derive_timeline(ws uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    stages constant text[] := ARRAY['AWARENESS', 'CONSIDERATION', 'DECISION', 'RETENTION', 'ADVOCACY'];
BEGIN
    IF EXISTS (SELECT 1 FROM timeline_events WHERE workspace_id = ws) THEN
        RETURN;
    END IF;
    INSERT INTO timeline_events (workspace_id, kind, occurred_at, contact_id, account_id, case_id, to_value)
    SELECT c.workspace_id, 'CASE_OPENED', c.created_at, c.contact_id, c.account_id, c.id, 'NEW'
      FROM cases c WHERE c.workspace_id = ws;
    INSERT INTO timeline_events (workspace_id, kind, occurred_at, contact_id, account_id, case_id,
                                 from_value, to_value)
    SELECT c.workspace_id, 'CASE_STATUS_CHANGED',
           coalesce(c.resolved_at, c.first_response_at, c.updated_at),
           c.contact_id, c.account_id, c.id, 'NEW', c.status
      FROM cases c WHERE c.workspace_id = ws AND c.status <> 'NEW';

    INSERT INTO timeline_events (workspace_id, kind, occurred_at, account_id, deal_id, from_value,
                                 to_value, actor_api_key_id, actor_member_id)
    SELECT s.workspace_id, 'DEAL_STAGE_CHANGED', s.changed_at, d.account_id, s.deal_id,
           s.from_stage_id::text, s.to_stage_id::text, s.actor_api_key_id, s.actor_member_id
      FROM deal_stage_changes s
      JOIN deals d ON d.workspace_id = s.workspace_id AND d.id = s.deal_id
     WHERE s.workspace_id = ws;

    -- every contact enters the journey at AWARENESS when it is created
    INSERT INTO timeline_events (workspace_id, kind, occurred_at, contact_id, account_id, to_value)
    SELECT c.workspace_id, 'JOURNEY_STAGE_CHANGED', c.created_at, c.id, c.account_id, 'AWARENESS'
      FROM contacts c WHERE c.workspace_id = ws;

    INSERT INTO timeline_events (workspace_id, kind, occurred_at, contact_id, account_id,
                                 interaction_id, from_value, to_value)
    SELECT t.workspace_id, 'JOURNEY_STAGE_CHANGED', t.occurred_at, t.contact_id, t.account_id,
           t.id, stages[coalesce(t.reached, 1)], stages[t.pos]
      FROM (SELECT i.workspace_id, i.id, i.contact_id, i.account_id, i.occurred_at,
                   array_position(stages, i.journey_stage) AS pos,
                   max(array_position(stages, i.journey_stage)) OVER (
                       PARTITION BY i.contact_id ORDER BY i.occurred_at, i.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reached
              FROM interactions i
             WHERE i.workspace_id = ws AND i.contact_id IS NOT NULL
               AND i.journey_stage IS NOT NULL) t
     WHERE t.pos > coalesce(t.reached, 1);
END $$;

SELECT relasi_derive_timeline(id) FROM workspaces;
