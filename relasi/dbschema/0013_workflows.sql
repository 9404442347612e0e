-- Workflows: "when this happens, and these conditions hold, do that" (resolvers/workflows/).
--
-- DEFINITIONS. A workflow's current definition (record type, triggers, condition, actions, in
-- the stored form resolvers/workflows/definitions.py documents) lives on its row; every saved
-- version is kept in workflow_versions, and a run records the version it ran.
--
-- MATCHING. Like the webhooks' fan-out (0010): each workspace with an enabled workflow keeps a
-- cursor into its change log (workflow_cursors); a write of such a workspace queues one
-- `workflows.match` job in its own transaction (the trigger at the end). The job reads the
-- commits after the cursor, starts a run per matching (workflow, event) and moves the cursor,
-- in one transaction: nothing matched twice, nothing skipped. A run is unique per workflow and
-- dedupe key (the event's place in the log for change triggers), so a trigger seen twice
-- starts one run.
--
-- RUNS. A run executes its steps in order, one transaction per step: the step's writes and
-- its row in workflow_run_steps commit together, so a retried run (its worker killed) skips
-- what is done and never creates a second task. A `wait` step suspends the run (WAITING, with
-- `wake_at` and `wait`) until resume_run continues it.
--
-- ACTOR. A workflow's writes record it in the change log: the columns below default to the
-- settings a run sets for its transaction (relasi.actor_workflow_id, ..._run_id), so every
-- trigger of 0008 fills them without being rewritten, and the next run knows its depth.

ALTER TABLE change_events
    ADD COLUMN actor_workflow_id uuid DEFAULT relasi_actor('actor_workflow_id'),
    ADD COLUMN actor_workflow_run_id uuid DEFAULT relasi_actor('actor_workflow_run_id');

CREATE TABLE workflows (
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    name              text NOT NULL,
    description       text,
    record_type       text NOT NULL,   -- the GraphQL type its runs act on ('Deal')
    definition        jsonb NOT NULL,  -- {triggers, condition, actions}: the current version's
    enabled           boolean NOT NULL DEFAULT true,
    -- changes committed up to here never trigger it (made or enabled after them)
    start_sequence    bigint NOT NULL DEFAULT 0,
    -- whose rights its actions run with: the scopes of who saved it last
    owner_scopes      text[] NOT NULL,
    owner_api_key_id  uuid,
    owner_member_id   uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1,   -- of the definition (workflow_versions)
    deleted_at        timestamptz,                  -- deleted: gone from lists, its runs stay
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX workflows_enabled ON workflows (workspace_id) WHERE enabled;

CREATE TABLE workflow_versions (
    workspace_id  uuid NOT NULL,
    workflow_id   uuid NOT NULL,
    version       integer NOT NULL,
    name          text NOT NULL,
    record_type   text NOT NULL,
    definition    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, workflow_id, version),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE workflow_cursors (
    workspace_id    uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    after_sequence  bigint NOT NULL DEFAULT 0   -- matched up to this commit
);

CREATE TABLE workflow_runs (
    workspace_id   uuid NOT NULL,
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    workflow_id    uuid NOT NULL,
    version        integer NOT NULL,
    record_type    text NOT NULL,
    record_id      uuid NOT NULL,
    -- what started it: {"index": trigger index, "kind": ..., "eventType", "sequence", "seq"}
    trigger        jsonb NOT NULL,
    dedupe_key     text NOT NULL,
    depth          integer NOT NULL DEFAULT 0,  -- runs of this workflow that led to this one
    status         text NOT NULL DEFAULT 'QUEUED' CHECK (status IN (
                       'QUEUED', 'RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'SKIPPED',
                       'LOOP_STOPPED')),
    error          text,
    attempts       integer NOT NULL DEFAULT 0,  -- transient failures of the current step
    wake_at        timestamptz,                 -- WAITING: when to continue at the latest
    wait           jsonb,                       -- WAITING: the step's suspension (engine.py)
    lease_until    timestamptz,                 -- executing: holds one of the workspace's slots
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, workflow_id, dedupe_key),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);
-- workflowRuns, newest first; Workflow.stats
CREATE INDEX workflow_runs_list ON workflow_runs (workspace_id, workflow_id, created_at DESC, id);
-- a record's runs (its timeline, recordId filter)
CREATE INDEX workflow_runs_record ON workflow_runs (workspace_id, record_id, created_at DESC);
-- the workspace's slots taken (RELASI_WORKFLOW_CONCURRENCY)
CREATE INDEX workflow_runs_leased ON workflow_runs (workspace_id, lease_until)
    WHERE lease_until IS NOT NULL;
-- runs to continue, across workspaces
CREATE INDEX workflow_runs_open ON workflow_runs (wake_at) WHERE status IN ('QUEUED', 'RUNNING', 'WAITING');

CREATE TABLE workflow_run_steps (
    workspace_id  uuid NOT NULL,
    run_id        uuid NOT NULL,
    path          text NOT NULL,     -- the action's place: '0', '2.then.1'
    position      integer NOT NULL,  -- order of execution within the run
    kind          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('SUCCEEDED', 'FAILED', 'WAITING')),
    input         jsonb,             -- the action as rendered for this run
    output        jsonb,
    error         text,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    PRIMARY KEY (workspace_id, run_id, path),
    FOREIGN KEY (workspace_id, run_id) REFERENCES workflow_runs (workspace_id, id) ON DELETE CASCADE
);

-- round-robin assignment: the member each assign step gave the last record to
CREATE TABLE workflow_assignments (
    workspace_id    uuid NOT NULL,
    workflow_id     uuid NOT NULL,
    path            text NOT NULL,
    last_member_id  uuid NOT NULL,
    PRIMARY KEY (workspace_id, workflow_id, path),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);

-- Timelines (0002): a finished run is an event on the timelines of the record it acted on
-- (body: what it did; from_value: the workflow's name; to_value: how the run ended). NOT
-- VALID as 0012's: existing rows satisfy it by construction.
ALTER TABLE timeline_events DROP CONSTRAINT timeline_events_kind_check;
ALTER TABLE timeline_events ADD CONSTRAINT timeline_events_kind_check CHECK (kind IN (
    'DEAL_STAGE_CHANGED', 'CASE_OPENED', 'CASE_STATUS_CHANGED', 'JOURNEY_STAGE_CHANGED', 'NOTE',
    'TASK_CREATED', 'TASK_COMPLETED', 'WORKFLOW_RUN')) NOT VALID;

SELECT relasi_isolate(t) FROM unnest(ARRAY['workflows', 'workflow_versions', 'workflow_cursors',
    'workflow_runs', 'workflow_run_steps', 'workflow_assignments']) t;

-- A commit of a workspace with an enabled workflow queues its matching job, in the writer's
-- transaction (as 0010's webhooks_wake does, with pgqueuer's statement): one per workspace
-- while one is queued or running; the running one reads on to the log's end.
CREATE FUNCTION relasi_workflows_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH woken AS (
        SELECT DISTINCT n.workspace_id FROM new_commits n
         WHERE EXISTS (SELECT FROM workflows w WHERE w.workspace_id = n.workspace_id AND w.enabled)),
    inserted AS (
        INSERT INTO pgqueuer (priority, entrypoint, payload, execute_after, dedupe_key, status)
        SELECT 0, 'workflows.match',
               convert_to(json_build_object('workspace_id', w.workspace_id)::text, 'UTF8'),
               now(), 'workflows.match:' || w.workspace_id, 'queued'
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
CREATE TRIGGER workflows_wake AFTER INSERT ON change_commits
    REFERENCING NEW TABLE AS new_commits FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_workflows_wake();
