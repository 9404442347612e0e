-- Tasks: the work people (and workflows) give each other, linked to any of a contact, an
-- account, a deal and a case.
--
-- `status` is OPEN, DONE or CANCELLED; `completed_at` and who completed it are set exactly when
-- it is DONE (the CHECK keeps them in step). `idempotency_key` lets a caller that may run twice
-- (a workflow step retried after a crash) create a task at most once: the second insert with
-- the same key finds the first task (resolvers/tasks.py).
CREATE TABLE tasks (
    workspace_id             uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    title                    text NOT NULL,
    description              text,
    due_at                   timestamptz,
    status                   text NOT NULL DEFAULT 'OPEN' CHECK (status IN (
        'OPEN', 'DONE', 'CANCELLED')),
    priority                 text NOT NULL DEFAULT 'NORMAL' CHECK (priority IN (
        'LOW', 'NORMAL', 'HIGH', 'URGENT')),
    assignee_id              uuid,
    contact_id               uuid,
    account_id               uuid,
    deal_id                  uuid,
    case_id                  uuid,
    completed_at             timestamptz,
    completed_by_api_key_id  uuid,
    completed_by_member_id   uuid,
    idempotency_key          text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    version                  integer NOT NULL DEFAULT 1,
    deleted_at               timestamptz,
    PRIMARY KEY (workspace_id, id),
    -- NULL keys are distinct: only keyed tasks are unique
    CONSTRAINT tasks_idempotency_key UNIQUE (workspace_id, idempotency_key),
    CHECK ((status = 'DONE') = (completed_at IS NOT NULL)),
    CHECK (status = 'DONE' OR (completed_by_api_key_id IS NULL AND completed_by_member_id IS NULL)),
    FOREIGN KEY (workspace_id, assignee_id) REFERENCES members (workspace_id, id),
    FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id),
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id),
    FOREIGN KEY (workspace_id, case_id) REFERENCES cases (workspace_id, id),
    FOREIGN KEY (workspace_id, completed_by_member_id) REFERENCES members (workspace_id, id)
);
CREATE INDEX tasks_order_created ON tasks (workspace_id, created_at DESC, id DESC);
CREATE INDEX tasks_order_due ON tasks (workspace_id, due_at, id);
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee_id, due_at)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX tasks_contact ON tasks (workspace_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX tasks_account ON tasks (workspace_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX tasks_deal ON tasks (workspace_id, deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX tasks_case ON tasks (workspace_id, case_id) WHERE case_id IS NOT NULL;
-- the overdue job looks across workspaces for open tasks past due: due time first here
CREATE INDEX tasks_open_due ON tasks (due_at)
    WHERE status = 'OPEN' AND deleted_at IS NULL AND due_at IS NOT NULL;

-- The due time each task's `task.overdue` was raised for (resolvers/tasks/overdue.py): raised
-- once per task and due time; a due time moved raises it again when that one passes.
CREATE TABLE task_overdue (
    workspace_id  uuid NOT NULL,
    task_id       uuid NOT NULL,
    due_at        timestamptz NOT NULL,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, task_id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id) ON DELETE CASCADE
);
SELECT relasi_isolate(t) FROM unnest(ARRAY['tasks', 'task_overdue']) t;
SELECT relasi_audit_table('tasks', 'Task', 'id');

-- The change log (0008): task.created / .updated / .deleted / .restored like every record,
-- and `task.completed` after the update that made a task DONE (trigger names fire in
-- alphabetical order, so it follows its `.updated`), in the same transaction.
SELECT relasi_log_table('tasks', 'Task', 'task.created', 'task');

CREATE FUNCTION relasi_log_task_completions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_events (workspace_id, type, record_type, record_id, changes,
                               actor_api_key_id, actor_member_id, request_id)
    SELECT n.workspace_id, 'task.completed', 'Task', n.id,
           jsonb_build_object(
               'status', jsonb_build_object('before', o.status, 'after', n.status),
               'completed_at', jsonb_build_object('before', NULL, 'after', n.completed_at),
               'completed_by_api_key_id',
                   jsonb_build_object('before', NULL, 'after', n.completed_by_api_key_id),
               'completed_by_member_id',
                   jsonb_build_object('before', NULL, 'after', n.completed_by_member_id)),
           relasi_actor('actor_api_key_id'), relasi_actor('actor_member_id'),
           nullif(current_setting('relasi.request_id', true), '')
      FROM old_rows o JOIN new_rows n ON n.workspace_id = o.workspace_id AND n.id = o.id
     WHERE n.status = 'DONE' AND o.status <> 'DONE' AND n.deleted_at IS NULL
     ORDER BY n.id;
    RETURN NULL;
END $$;
CREATE TRIGGER change_log_update_completed AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION relasi_log_task_completions();

-- Timelines (0002): a task created or completed is an event on the timelines of what it is
-- linked to. The constraints are NOT VALID: existing rows satisfy them by construction (no
-- task ids yet, kinds of the narrower list), and validating would read workspace rows, which
-- a migration may not (0007).
ALTER TABLE timeline_events ADD COLUMN task_id uuid;
ALTER TABLE timeline_events ADD CONSTRAINT timeline_events_task_fkey FOREIGN KEY (workspace_id, task_id)
    REFERENCES tasks (workspace_id, id) ON DELETE CASCADE NOT VALID;
ALTER TABLE timeline_events DROP CONSTRAINT timeline_events_kind_check;
ALTER TABLE timeline_events ADD CONSTRAINT timeline_events_kind_check CHECK (kind IN (
    'DEAL_STAGE_CHANGED', 'CASE_OPENED', 'CASE_STATUS_CHANGED', 'JOURNEY_STAGE_CHANGED', 'NOTE',
    'TASK_CREATED', 'TASK_COMPLETED')) NOT VALID;
