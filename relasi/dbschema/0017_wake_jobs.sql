-- One trigger function queues the job a commit wakes, for webhooks and workflows alike: 0010's
-- relasi_webhooks_wake and 0013's relasi_workflows_wake were the same statement but for the
-- job's entrypoint and which enabled rows want it. Each trigger now names its entrypoint as
-- the trigger's argument, and the entrypoint picks the rows. (Not a table name run through
-- EXECUTE: a statement planned at every call costs about 8 times the cached one, on every
-- write.)
--
-- A write of a workspace with an enabled endpoint (or workflow) queues the job, in the
-- writer's transaction: a rolled-back write queues nothing, a committed one is never without
-- it. As relasi/jobs/queue.py's enqueue does (pgqueuer's statement, 0009): one job per
-- workspace while one is queued or running (the running one reads on to the log's end).
CREATE FUNCTION relasi_wake_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    job text := TG_ARGV[0];
BEGIN
    WITH woken AS (
        SELECT DISTINCT n.workspace_id FROM new_commits n
         WHERE CASE job
                   WHEN 'webhooks.fanout' THEN EXISTS (
                       SELECT FROM webhook_endpoints e
                        WHERE e.workspace_id = n.workspace_id AND e.enabled)
                   WHEN 'workflows.match' THEN EXISTS (
                       SELECT FROM workflows w WHERE w.workspace_id = n.workspace_id AND w.enabled)
               END),
    inserted AS (
        INSERT INTO pgqueuer (priority, entrypoint, payload, execute_after, dedupe_key, status)
        SELECT 0, job,
               convert_to(json_build_object('workspace_id', w.workspace_id)::text, 'UTF8'),
               now(), job || ':' || w.workspace_id, 'queued'
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

DROP TRIGGER webhooks_wake ON change_commits;
DROP TRIGGER workflows_wake ON change_commits;
DROP FUNCTION relasi_webhooks_wake();
DROP FUNCTION relasi_workflows_wake();

-- fired in name order, as before
CREATE TRIGGER webhooks_wake AFTER INSERT ON change_commits
    REFERENCING NEW TABLE AS new_commits FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_wake_job('webhooks.fanout');
CREATE TRIGGER workflows_wake AFTER INSERT ON change_commits
    REFERENCING NEW TABLE AS new_commits FOR EACH STATEMENT
    EXECUTE FUNCTION relasi_wake_job('workflows.match');
