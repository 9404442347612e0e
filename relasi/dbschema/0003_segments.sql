-- Segments: groups of contacts, static (explicit members) or dynamic (a rule in the contacts
-- filter language). Membership is materialised in `segment_members` and kept current by the
-- write paths; every entry and exit is logged in `segment_changes`.

CREATE TABLE segments (
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    text,
    kind           text NOT NULL CHECK (kind IN ('STATIC', 'DYNAMIC')),
    -- the rule as the client sent it (ContactFilter JSON, camelCase); dynamic segments only
    rule           jsonb,
    -- what the rule reads, recorded when it is saved (see resolvers/segments/rules.py):
    -- relation paths from the contact, and the segments it reads through inSegment
    paths          jsonb NOT NULL DEFAULT '[]',
    refs           uuid[] NOT NULL DEFAULT '{}',
    -- refreshed on the schedule: the rule depends on the clock or reads far relations
    scheduled      boolean NOT NULL DEFAULT false,
    -- a definition change not yet re-checked against writes that raced with it, and the
    -- transaction id every transaction older than it must be below before it is
    needs_settle   boolean NOT NULL DEFAULT false,
    settle_xid     bigint,
    refreshed_at   timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1,
    deleted_at     timestamptz,
    PRIMARY KEY (workspace_id, id),
    CHECK ((kind = 'DYNAMIC') = (rule IS NOT NULL))
);
CREATE UNIQUE INDEX segments_name ON segments (workspace_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX segments_order_created ON segments (workspace_id, created_at DESC, id DESC);
CREATE INDEX segments_order_updated ON segments (workspace_id, updated_at DESC, id DESC);
CREATE INDEX segments_order_name ON segments (workspace_id, lower(name), id);
-- the scheduler's scan, across workspaces
CREATE INDEX segments_due ON segments (refreshed_at)
    WHERE deleted_at IS NULL AND kind = 'DYNAMIC';

-- Static overrides: contacts always in (static segments: their members) or always out.
CREATE TABLE segment_includes (
    workspace_id  uuid NOT NULL,
    segment_id    uuid NOT NULL,
    contact_id    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, segment_id, contact_id),
    FOREIGN KEY (workspace_id, segment_id) REFERENCES segments (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE TABLE segment_excludes (LIKE segment_includes INCLUDING ALL);
ALTER TABLE segment_excludes
    ADD FOREIGN KEY (workspace_id, segment_id) REFERENCES segments (workspace_id, id) ON DELETE CASCADE,
    ADD FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE;

-- The materialised membership. A member is a live contact: deleting a contact removes it here.
CREATE TABLE segment_members (
    workspace_id  uuid NOT NULL,
    segment_id    uuid NOT NULL,
    contact_id    uuid NOT NULL,
    since         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, segment_id, contact_id),
    FOREIGN KEY (workspace_id, segment_id) REFERENCES segments (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
-- Contact.segments and inSegment
CREATE INDEX segment_members_contact ON segment_members (workspace_id, contact_id, segment_id);

-- Every entry and exit; sizeHistory is read off it (size now minus the later changes).
CREATE TABLE segment_changes (
    workspace_id  uuid NOT NULL,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    segment_id    uuid NOT NULL,
    contact_id    uuid NOT NULL,
    change        text NOT NULL CHECK (change IN ('ENTERED', 'EXITED')),
    reason        text NOT NULL CHECK (reason IN ('BUILD', 'REFRESH', 'SCHEDULE', 'OVERRIDE',
        'CONTACT', 'ACCOUNT', 'DEAL', 'CASE', 'INTERACTION', 'SEGMENT')),
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, segment_id) REFERENCES segments (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX segment_changes_segment
    ON segment_changes (workspace_id, segment_id, occurred_at DESC, id DESC);
CREATE INDEX segment_changes_contact ON segment_changes (workspace_id, contact_id);

-- Behaviour rules: average CSAT of a contact's cases, and touchpoints by channel in a window
-- (interactions by (contact, time) exist already).
CREATE INDEX cases_contact_rated ON cases (workspace_id, contact_id)
    WHERE satisfaction_score IS NOT NULL;
