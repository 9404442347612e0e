-- The core CRM graph. Every CRM row belongs to a workspace: `workspace_id` leads every primary
-- key, index and foreign key, so a link can never point into another workspace (the composite
-- foreign keys make that a database guarantee, not just an application habit).
-- Enumerations are stored as text named exactly like their GraphQL enum values.

CREATE TABLE workspaces (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys: only a SHA-256 of the secret is stored; `prefix` finds the row in O(1).
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    secret_hash   bytea NOT NULL,
    role          text NOT NULL DEFAULT 'ADMIN',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE members (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    email         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, email)
);
CREATE INDEX members_order ON members (workspace_id, created_at DESC, id DESC);

CREATE TABLE accounts (
    workspace_id             uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    name                     text NOT NULL,
    domain                   text,
    industry                 text,
    employee_count           integer CHECK (employee_count >= 0),
    annual_revenue           numeric(22, 4) CHECK (annual_revenue >= 0),
    annual_revenue_currency  char(3),
    country                  char(2),
    owner_id                 uuid,
    parent_id                uuid,
    custom_attributes        jsonb NOT NULL DEFAULT '{}',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    version                  integer NOT NULL DEFAULT 1,
    deleted_at               timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES members (workspace_id, id),
    FOREIGN KEY (workspace_id, parent_id) REFERENCES accounts (workspace_id, id),
    CHECK (parent_id IS DISTINCT FROM id),
    CHECK (annual_revenue IS NULL OR annual_revenue_currency IS NOT NULL)
);
-- One live account per domain: the CRM's first defence against duplicate companies.
CREATE UNIQUE INDEX accounts_domain ON accounts (workspace_id, domain)
    WHERE deleted_at IS NULL AND domain IS NOT NULL;
CREATE INDEX accounts_order_created ON accounts (workspace_id, created_at DESC, id DESC);
CREATE INDEX accounts_order_name ON accounts (workspace_id, lower(name), id);
CREATE INDEX accounts_parent ON accounts (workspace_id, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX accounts_owner ON accounts (workspace_id, owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX accounts_industry ON accounts (workspace_id, industry);

CREATE TABLE contacts (
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    first_name         text,
    last_name          text,
    title              text,
    country            char(2),
    city               text,
    account_id         uuid,
    lifecycle_stage    text NOT NULL DEFAULT 'LEAD' CHECK (lifecycle_stage IN (
        'SUBSCRIBER', 'LEAD', 'MARKETING_QUALIFIED', 'SALES_QUALIFIED', 'OPPORTUNITY',
        'CUSTOMER', 'EVANGELIST', 'CHURNED')),
    lead_rating        text CHECK (lead_rating IN ('HOT', 'WARM', 'COLD', 'JUNK')),
    journey_stage      text NOT NULL DEFAULT 'AWARENESS' CHECK (journey_stage IN (
        'AWARENESS', 'CONSIDERATION', 'DECISION', 'RETENTION', 'ADVOCACY')),
    owner_id           uuid,
    custom_attributes  jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1,
    deleted_at         timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES members (workspace_id, id)
);
CREATE INDEX contacts_order_created ON contacts (workspace_id, created_at DESC, id DESC);
CREATE INDEX contacts_order_last_name ON contacts (workspace_id, lower(last_name), id);
CREATE INDEX contacts_account ON contacts (workspace_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX contacts_owner ON contacts (workspace_id, owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX contacts_lifecycle ON contacts (workspace_id, lifecycle_stage);
CREATE INDEX contacts_journey ON contacts (workspace_id, journey_stage);
CREATE INDEX contacts_custom ON contacts USING gin (custom_attributes jsonb_path_ops);

-- Emails, phones and external identities of a contact. The primary key makes an identity
-- belong to at most one contact per workspace: no duplicate profiles for one email or phone.
CREATE TABLE contact_identities (
    workspace_id  uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('EMAIL', 'PHONE', 'EXTERNAL')),
    source        text NOT NULL DEFAULT '',
    value         text NOT NULL,
    contact_id    uuid NOT NULL,
    is_primary    boolean NOT NULL DEFAULT false,
    position      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, kind, source, value),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_identities_contact ON contact_identities (workspace_id, contact_id, kind, position);
CREATE UNIQUE INDEX contact_identities_one_primary ON contact_identities (workspace_id, contact_id, kind)
    WHERE is_primary;

CREATE TABLE pipelines (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    is_default    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (workspace_id) WHERE is_default;
CREATE INDEX pipelines_order ON pipelines (workspace_id, created_at DESC, id DESC);

CREATE TABLE pipeline_stages (
    workspace_id  uuid NOT NULL,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    pipeline_id   uuid NOT NULL,
    name          text NOT NULL,
    position      integer NOT NULL,
    probability   numeric(5, 4) NOT NULL CHECK (probability BETWEEN 0 AND 1),
    status        text NOT NULL CHECK (status IN ('OPEN', 'WON', 'LOST')),
    PRIMARY KEY (workspace_id, id),
    -- lets deals reference (pipeline, stage) together: a stage of another pipeline cannot be set
    UNIQUE (workspace_id, pipeline_id, id),
    UNIQUE (workspace_id, pipeline_id, position),
    FOREIGN KEY (workspace_id, pipeline_id) REFERENCES pipelines (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE deals (
    workspace_id         uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    name                 text NOT NULL,
    account_id           uuid,
    pipeline_id          uuid NOT NULL,
    stage_id             uuid NOT NULL,
    -- status mirrors the stage's status (kept by trigger) so it can be filtered on an index
    status               text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'WON', 'LOST')),
    amount               numeric(22, 4) CHECK (amount >= 0),
    currency             char(3),
    expected_close_date  date,
    lost_reason          text,
    owner_id             uuid,
    closed_at            timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              integer NOT NULL DEFAULT 1,
    deleted_at           timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    FOREIGN KEY (workspace_id, pipeline_id, stage_id)
        REFERENCES pipeline_stages (workspace_id, pipeline_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES members (workspace_id, id),
    CHECK (amount IS NULL OR currency IS NOT NULL)
);
CREATE INDEX deals_order_created ON deals (workspace_id, created_at DESC, id DESC);
CREATE INDEX deals_account ON deals (workspace_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX deals_stage ON deals (workspace_id, stage_id);
CREATE INDEX deals_status ON deals (workspace_id, status, amount);
CREATE INDEX deals_owner ON deals (workspace_id, owner_id) WHERE owner_id IS NOT NULL;

CREATE FUNCTION deals_sync_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.status INTO NEW.status
      FROM pipeline_stages s
     WHERE s.workspace_id = NEW.workspace_id AND s.id = NEW.stage_id;
    IF NEW.status = 'OPEN' THEN
        NEW.closed_at := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.closed_at := coalesce(NEW.closed_at, now());  -- imports may carry their own
    ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        NEW.closed_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deals_sync_status BEFORE INSERT OR UPDATE OF stage_id ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_sync_status();

CREATE TABLE deal_contacts (
    workspace_id  uuid NOT NULL,
    deal_id       uuid NOT NULL,
    contact_id    uuid NOT NULL,
    role          text CHECK (role IN ('DECISION_MAKER', 'CHAMPION', 'INFLUENCER', 'USER')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, deal_id, contact_id),
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_contacts_contact ON deal_contacts (workspace_id, contact_id, deal_id);

-- Who moved a deal, and when. actor_* name the API key or member that made the change.
CREATE TABLE deal_stage_changes (
    workspace_id     uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    deal_id          uuid NOT NULL,
    from_stage_id    uuid,
    to_stage_id      uuid NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    actor_api_key_id uuid,
    actor_member_id  uuid,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, from_stage_id) REFERENCES pipeline_stages (workspace_id, id),
    FOREIGN KEY (workspace_id, to_stage_id) REFERENCES pipeline_stages (workspace_id, id),
    FOREIGN KEY (workspace_id, actor_member_id) REFERENCES members (workspace_id, id)
);
CREATE INDEX deal_stage_changes_deal ON deal_stage_changes (workspace_id, deal_id, changed_at, id);

CREATE TABLE cases (
    workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    subject             text NOT NULL,
    description         text,
    contact_id          uuid,
    account_id          uuid,
    status              text NOT NULL DEFAULT 'NEW' CHECK (status IN (
        'NEW', 'OPEN', 'PENDING', 'RESOLVED', 'CLOSED')),
    priority            text NOT NULL DEFAULT 'NORMAL' CHECK (priority IN (
        'LOW', 'NORMAL', 'HIGH', 'URGENT')),
    channel             text,
    sla_due_at          timestamptz NOT NULL,
    first_response_at   timestamptz,
    resolved_at         timestamptz,
    satisfaction_score  smallint CHECK (satisfaction_score BETWEEN 1 AND 5),
    owner_id            uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    deleted_at          timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES members (workspace_id, id)
);
CREATE INDEX cases_order_created ON cases (workspace_id, created_at DESC, id DESC);
CREATE INDEX cases_contact ON cases (workspace_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX cases_account ON cases (workspace_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX cases_status ON cases (workspace_id, status, priority);
CREATE INDEX cases_sla ON cases (workspace_id, sla_due_at) WHERE status IN ('NEW', 'OPEN', 'PENDING');

-- Touchpoints: append-only events. (source, external_id) makes ingest idempotent.
CREATE TABLE interactions (
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    contact_id     uuid,
    account_id     uuid,
    channel        text NOT NULL,
    kind           text NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    journey_stage  text CHECK (journey_stage IN (
        'AWARENESS', 'CONSIDERATION', 'DECISION', 'RETENTION', 'ADVOCACY')),
    sentiment      numeric(4, 3) CHECK (sentiment BETWEEN -1 AND 1),
    summary        text,
    source         text NOT NULL DEFAULT '',
    external_id    text,
    utm_source     text,
    utm_medium     text,
    utm_campaign   text,
    utm_term       text,
    utm_content    text,
    properties     jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    CHECK (contact_id IS NOT NULL OR account_id IS NOT NULL)
);
CREATE UNIQUE INDEX interactions_external ON interactions (workspace_id, source, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX interactions_contact_time ON interactions (workspace_id, contact_id, occurred_at DESC, id DESC);
CREATE INDEX interactions_account_time ON interactions (workspace_id, account_id, occurred_at DESC, id DESC);
CREATE INDEX interactions_time ON interactions (workspace_id, occurred_at DESC, id DESC);
