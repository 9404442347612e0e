-- A schedule's per-tick cap (RELASI_WORKFLOW_SCHEDULE_BATCH, resolvers/workflows/clock.py): a
-- cron time whose condition matches more records than one tick may start ("every hour, each
-- open deal" over 100,000 deals) starts them in batches, in record id order, one batch a tick.
-- This row is the schedule time still being started and the last record started; it is gone
-- once every record had its run. A newer cron time replaces it (a schedule runs for its
-- latest time, as after a stop). Workflow.stats.scheduleBacklog shows it.
CREATE TABLE workflow_schedule_backlog (
    workspace_id   uuid NOT NULL,
    workflow_id    uuid NOT NULL,
    trigger_index  int NOT NULL,
    fire_at        timestamptz NOT NULL,
    after_id       uuid NOT NULL,
    started        int NOT NULL,
    PRIMARY KEY (workspace_id, workflow_id, trigger_index),
    FOREIGN KEY (workspace_id, workflow_id) REFERENCES workflows (workspace_id, id) ON DELETE CASCADE
);

SELECT relasi_isolate('workflow_schedule_backlog');

-- A run whose workspace's slots were all taken waits QUEUED without a job; a run giving its
-- slot up queues the jobs of the oldest of them (resolvers/workflows/engine.py: hand-off).
CREATE INDEX workflow_runs_queued ON workflow_runs (workspace_id, created_at, id)
    WHERE status = 'QUEUED';
