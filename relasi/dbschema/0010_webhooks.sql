-- Webhooks: endpoints, the deliveries fanned out to them from the change log (0008), and every
-- attempt to send one.
--
-- FAN-OUT. Each endpoint keeps a cursor into its workspace's log: the commit `sequence` it has
-- fanned out up to. Fan-out (resolvers/webhooks/fanout.py) reads the commits after it, inserts
-- one delivery per matching event and moves the cursor in one transaction, so a crash anywhere
-- leaves either both or neither: nothing lost, nothing twice (a delivery is unique per endpoint
-- and event besides). Commit numbers are gapless and in commit order (0008), so a commit that
-- becomes visible later can never land behind a cursor.
--
-- WAKE-UP. A write whose workspace has an enabled endpoint queues a `webhooks.fanout` job in
-- its own transaction (the trigger at the end), so a rolled-back write queues nothing. The
-- jobs are only wake-ups: a sweep job every second also finds endpoints behind the log, and
-- deliveries due (resolvers/webhooks/background.py).
--
-- DELIVERY. A delivery is PENDING until a worker claims it (SENDING, with a lease), then
-- DELIVERED, or PENDING again with its next attempt time, or FAILED when its retries ran out.
-- A worker killed mid-send leaves its lease to run out: the delivery is claimed again.

CREATE TABLE webhook_endpoints (
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    url                text NOT NULL,
    description        text,
    event_types        text[] NOT NULL DEFAULT '{}',  -- empty: every type
    filter             jsonb NOT NULL DEFAULT '{}',   -- {"deal": {...DealFilter...}, ...}
    enabled            boolean NOT NULL DEFAULT true,
    disabled_reason    text,
    -- whose eyes the payload's object is seen with: the scopes of who saved the endpoint
    owner_scopes       text[] NOT NULL,
    owner_api_key_id   uuid,
    owner_member_id    uuid,
    -- AES-GCM ciphertexts (resolvers/webhooks/secrets.py): the database alone cannot sign
    secret             bytea NOT NULL,
    previous_secret    bytea,
    previous_secret_until timestamptz,
    after_sequence     bigint NOT NULL DEFAULT 0,     -- fanned out up to this commit
    last_success_at    timestamptz,
    last_failure_at    timestamptz,
    failure_streak     integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (workspace_id) WHERE enabled;

CREATE TABLE webhook_deliveries (
    workspace_id     uuid NOT NULL,
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    endpoint_id      uuid NOT NULL,
    sequence         bigint NOT NULL,   -- the event's place in the log: (sequence, seq)
    seq              bigint NOT NULL,
    event_type       text NOT NULL,
    record_id        uuid NOT NULL,
    occurred_at      timestamptz NOT NULL,
    body             text NOT NULL,     -- the JSON sent, the same bytes on every attempt
    status           text NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, endpoint_id, sequence, seq),
    FOREIGN KEY (workspace_id, endpoint_id)
        REFERENCES webhook_endpoints (workspace_id, id) ON DELETE CASCADE
);
-- what workers claim, across workspaces
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('PENDING', 'SENDING');
-- claiming: an endpoint's open deliveries in log order
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries
    (workspace_id, endpoint_id, sequence, seq) WHERE status IN ('PENDING', 'SENDING');
-- per-record order: an earlier delivery of the record to the endpoint still open
CREATE INDEX webhook_deliveries_open ON webhook_deliveries
    (workspace_id, endpoint_id, record_id, sequence, seq) WHERE status IN ('PENDING', 'SENDING');
-- webhookDeliveries, newest first
CREATE INDEX webhook_deliveries_list ON webhook_deliveries
    (workspace_id, endpoint_id, occurred_at DESC, id);

CREATE TABLE webhook_attempts (
    workspace_id      uuid NOT NULL,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    delivery_id       uuid NOT NULL,
    attempted_at      timestamptz NOT NULL DEFAULT now(),
    status_code       integer,          -- null: no HTTP answer (see error)
    duration_ms       integer NOT NULL,
    response_excerpt  text,
    error             text,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, delivery_id)
        REFERENCES webhook_deliveries (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (workspace_id, delivery_id, attempted_at);

SELECT relasi_isolate(t)
  FROM unnest(ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts']) t;

-- A write of a workspace with an enabled endpoint queues its fan-out job, in the writer's
-- transaction: a rolled-back write queues nothing, a committed one is never without it. As
-- relasi/jobs/queue.py's enqueue does (pgqueuer's statement, 0009): one job per workspace
-- while one is queued or running (the running one reads on to the log's end; the sweep
-- catches a commit that slips in as it finishes).
CREATE FUNCTION relasi_webhooks_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH woken AS (
        SELECT DISTINCT n.workspace_id FROM new_commits n
         WHERE EXISTS (SELECT FROM webhook_endpoints e
                        WHERE e.workspace_id = n.workspace_id AND e.enabled)),
    inserted AS (
        INSERT INTO pgqueuer (priority, entrypoint, payload, execute_after, dedupe_key, status)
        SELECT 0, 'webhooks.fanout',
               convert_to(json_build_object('workspace_id', w.workspace_id)::text, 'UTF8'),
               now(), 'webhooks.fanout:' || w.workspace_id, 'queued'
          FROM woken w
        ON CONFLICT (dedupe_key)
            WHERE status = ANY (ARRAY['queued'::pgqueuer_status, 'picked'::pgqueuer_status])
              AND dedupe_key IS NOT NULL
            DO NOTHING
        RETURNING id, entrypoint, priority)
    INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)
    SELECT id, 'queued', entrypoint, priority FROM inserted;
    RETURN NULL;
END $$;
CREATE TRIGGER webhooks_wake AFTER INSERT ON change_commits
    REFERENCING NEW TABLE AS new_commits FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_webhooks_wake();
