"""Workflows: definitions, runs with every step, stats, and dry runs (workflows:read /
workflows:write; admins have both)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers import filter_form, global_ids
from relasi.resolvers.webhooks import listing
from relasi.resolvers.workflows import definitions, dry_run, runs
from relasi.schema.admin_records import fetch_by_id, list_filter
from relasi.schema.errors import UserError
from relasi.schema.payloads import (
    DeletePayload,
    delete_by_id,
    provided,
    run_mutation,
    update_mutation,
)
from relasi.schema.relay import PageInfo, forward_connection
from relasi.schema.workflow_inputs import (
    CreateWorkflowInput,
    TestWorkflowInput,
    UpdateWorkflowInput,
    WorkflowIdInput,
    WorkflowRecordType,
)


@strawberry.enum(description="Where a run stands.")
class WorkflowRunStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    LOOP_STOPPED = "LOOP_STOPPED"


@strawberry.type(
    description="A schedule's cron time that matched more records than one clock tick starts "
    "(RELASI_WORKFLOW_SCHEDULE_BATCH): the rest start on the next ticks, in record id order."
)
class WorkflowScheduleBacklog:
    at: datetime = strawberry.field(description="The cron time still being started.")
    started: int = strawberry.field(description="Runs started for it so far.")


@strawberry.type(description="How a workflow's runs have gone.")
class WorkflowStats:
    runs: int
    failures: int
    last_run_at: datetime | None
    last_status: WorkflowRunStatus | None
    schedule_backlog: WorkflowScheduleBacklog | None = strawberry.field(
        description="Null unless a schedule's runs are still being started."
    )


@strawberry.type(description="When this happens, and the condition holds, do that.")
class Workflow:
    id: strawberry.ID
    name: str
    description: str | None
    record_type: WorkflowRecordType
    triggers: JSON = strawberry.field(description="As saved (WorkflowTriggerInput form).")
    condition: JSON | None = strawberry.field(description="As saved (WorkflowCondition form).")
    actions: JSON = strawberry.field(description="As saved (WorkflowActionInput form).")
    enabled: bool
    version: int = strawberry.field(description="Of the definition; each run records its own.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Runs, failures and the last run.")
    async def stats(self, info: strawberry.Info) -> WorkflowStats:
        pk = global_ids.decode(self.id, definitions.TYPE_NAME)
        row = await runs.stats(info.context.session, pk)
        last = row["last_status"] if row else None
        return WorkflowStats(
            runs=row["runs"] if row else 0,
            failures=row["failures"] if row else 0,
            last_run_at=row["last_run_at"] if row else None,
            last_status=WorkflowRunStatus(last) if last else None,
            schedule_backlog=WorkflowScheduleBacklog(
                at=row["backlog_at"], started=row["backlog_started"]
            )
            if row and row["backlog_at"]
            else None,
        )


def workflow_of(row: Any) -> Workflow:
    d = row["definition"]
    return Workflow(
        id=global_ids.encode(definitions.TYPE_NAME, row["id"]),
        name=row["name"],
        description=row["description"],
        record_type=WorkflowRecordType(row["record_type"].upper()),
        triggers=d["triggers"],
        condition=d["condition"],
        actions=d["actions"],
        enabled=row["enabled"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@strawberry.type(description="One action of a run.")
class WorkflowRunStep:
    path: str = strawberry.field(description="The action's place: '1', or '2.then.0' in a branch.")
    kind: str = strawberry.field(description="The action kind, e.g. createTask.")
    status: str = strawberry.field(description="SUCCEEDED, FAILED or WAITING.")
    input: JSON = strawberry.field(description="The action as run: templates rendered.")
    output: JSON | None = strawberry.field(description="What later steps' templates read.")
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


def step_of(row: Any) -> WorkflowRunStep:
    end = row["finished_at"]
    return WorkflowRunStep(
        path=row["path"],
        kind=row["kind"],
        status=row["status"],
        input=row["input"],
        output=row["output"],
        error=row["error"],
        started_at=row["started_at"],
        finished_at=end,
        duration_ms=round((end - row["started_at"]).total_seconds() * 1000) if end else None,
    )


@strawberry.type(description="One run of a workflow on one record.")
class WorkflowRun:
    id: strawberry.ID
    workflow_id: strawberry.ID
    workflow_name: str
    version: int = strawberry.field(description="The workflow version it ran.")
    record_type: str
    record_id: strawberry.ID
    status: WorkflowRunStatus
    trigger: JSON = strawberry.field(
        description="What started it: {index, kind, eventType, sequence, seq} (or the scheduler's)."
    )
    depth: int = strawberry.field(description="Runs of this workflow whose changes led here.")
    error: str | None = strawberry.field(description="Why it failed or was stopped.")
    wake_at: datetime | None = strawberry.field(description="WAITING: when it continues.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[WorkflowRunStep] = strawberry.field(description="In the order they ran.")


def run_of(row: Any, steps: list[Any]) -> WorkflowRun:
    return WorkflowRun(
        id=global_ids.encode(runs.TYPE_NAME, row["id"]),
        workflow_id=global_ids.encode(definitions.TYPE_NAME, row["workflow_id"]),
        workflow_name=row["workflow_name"],
        version=row["version"],
        record_type=row["record_type"],
        record_id=global_ids.encode(row["record_type"], row["record_id"]),
        status=WorkflowRunStatus(row["status"]),
        trigger=row["trigger"],
        depth=row["depth"],
        error=row["error"],
        wake_at=row["wake_at"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        steps=[step_of(s) for s in steps],
    )


@strawberry.type
class WorkflowEdge:
    cursor: str
    node: Workflow


@strawberry.type(description="A page of workflows, oldest first.")
class WorkflowConnection:
    edges: list[WorkflowEdge]
    page_info: PageInfo

    @strawberry.field(description="The workflows of `edges`.")
    def nodes(self) -> list[Workflow]:
        return [e.node for e in self.edges]


@strawberry.type
class WorkflowRunEdge:
    cursor: str
    node: WorkflowRun


@strawberry.type(description="A page of runs, newest first.")
class WorkflowRunConnection:
    edges: list[WorkflowRunEdge]
    page_info: PageInfo

    @strawberry.field(description="The runs of `edges`.")
    def nodes(self) -> list[WorkflowRun]:
        return [e.node for e in self.edges]


@strawberry.input(description="Which runs to list.")
class WorkflowRunFilter:
    status: WorkflowRunStatus | None = None
    record_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Started at or after."
    )
    to: datetime | None = strawberry.field(default=None, description="Started before.")


@strawberry.type(description="Whether a trigger would have fired for the record.")
class WorkflowTriggerMatch:
    index: int
    kind: str
    matched: bool | None = strawberry.field(
        description="Its latest change in the log fires this trigger; null for time-based "
        "triggers (the scheduler's)."
    )
    event_type: str | None = strawberry.field(description="The change that fires it.")
    occurred_at: datetime | None


@strawberry.type(description="One action as a run would take it (nothing was written).")
class WorkflowTestStep:
    path: str
    kind: str
    input: JSON = strawberry.field(description="The action with its templates rendered.")
    output: JSON | None = strawberry.field(description="What it would produce.")
    error: str | None = strawberry.field(description="Why it would fail (the run would stop).")


@strawberry.type(description="A dry run: what the workflow would do with the record.")
class WorkflowTestResult:
    triggers: list[WorkflowTriggerMatch]
    condition_passed: bool = strawberry.field(description="The record passes the condition.")
    steps: list[WorkflowTestStep] = strawberry.field(
        description="Every action it would take, in order (branches as they would go)."
    )


@strawberry.type
class WorkflowPayload:
    workflow: Workflow | None = None
    user_errors: list[UserError]


@strawberry.type
class TestWorkflowPayload:
    result: WorkflowTestResult | None = None
    user_errors: list[UserError]


def _test_result(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": WorkflowTestResult(
            triggers=[WorkflowTriggerMatch(**t) for t in found["triggers"]],
            condition_passed=found["condition_passed"],
            steps=[
                WorkflowTestStep(
                    path=s["path"],
                    kind=s["kind"],
                    input=s["input"],
                    output=s.get("output"),
                    error=s.get("error"),
                )
                for s in found["steps"]
            ],
        )
    }


def _data(input: Any) -> dict[str, Any]:
    """The fields sent, nested inputs in their plain JSON form (GraphQL names)."""
    data = provided(input)
    return {k: filter_form.plain(getattr(input, k)) for k in data}


def _pk(global_id: str, field: str) -> Any:
    return global_ids.decode(global_id, definitions.TYPE_NAME, field=field)


def _set_enabled(info: strawberry.Info, input: WorkflowIdInput, enabled: bool) -> Any:
    return run_mutation(
        info,
        WorkflowPayload,
        lambda s: definitions.set_enabled(s, _pk(input.id, "input.id"), enabled),
        _result,
    )


def _result(row: Any) -> dict[str, Any]:
    return {"workflow": workflow_of(row)}


def _settings(info: strawberry.Info) -> Any:
    return info.context.request.app.state.settings


async def _set_enabled(info: strawberry.Info, input: WorkflowIdInput, on: bool) -> WorkflowPayload:
    return await run_mutation(
        info,
        WorkflowPayload,
        lambda s: definitions.set_enabled(s, _pk(input.id, "input.id"), on),
        lambda r: {"workflow": workflow_of(r)},
    )


@strawberry.type
class WorkflowQueries:
    @strawberry.field(description="The workspace's workflows, oldest first.")
    async def workflows(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> WorkflowConnection:
        rows, more = await definitions.page(info.context.session, first, after)
        return forward_connection(
            WorkflowConnection,
            WorkflowEdge,
            rows,
            more,
            after,
            lambda r: listing.cursor_of("workflows", r),
            workflow_of,
        )

    @strawberry.field(description="One workflow; NOT_FOUND if there is none with this id.")
    async def workflow(self, info: strawberry.Info, id: strawberry.ID) -> Workflow:
        pk = _pk(id, "id")
        return workflow_of(await fetch_by_id(info, pk, definitions.get, definitions.not_found))

    @strawberry.field(description="Runs, newest first, with each step's input, output, error.")
    async def workflow_runs(
        self,
        info: strawberry.Info,
        workflow_id: strawberry.ID | None = None,
        filter: WorkflowRunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> WorkflowRunConnection:
        session = info.context.session
        flt = list_filter(filter)
        runs.checked_range(flt)
        pk = _pk(workflow_id, "workflowId") if workflow_id is not None else None
        rows, more = await runs.page(session, pk, flt, first, after)
        found = await runs.steps(session, [r["id"] for r in rows])
        return forward_connection(
            WorkflowRunConnection,
            WorkflowRunEdge,
            rows,
            more,
            after,
            lambda r: listing.cursor_of("workflowRuns", r),
            lambda r: run_of(r, found[r["id"]]),
        )


@strawberry.type
class WorkflowMutations:
    @strawberry.mutation(
        description="Save a workflow. It acts with your scopes, on changes committed from now."
    )
    async def create_workflow(
        self, info: strawberry.Info, input: CreateWorkflowInput
    ) -> WorkflowPayload:
        return await run_mutation(
            info,
            WorkflowPayload,
            lambda s: definitions.create(s, _data(input)),
            _result,
        )

    @strawberry.mutation(
        description="Change a workflow: a new version; runs under way keep theirs."
    )
    async def update_workflow(
        self, info: strawberry.Info, input: UpdateWorkflowInput
    ) -> WorkflowPayload:
        return await update_mutation(
            info,
            WorkflowPayload,
            definitions.TYPE_NAME,
            input,
            definitions.update,
            _result,
            data=_data,
        )

    @strawberry.mutation(description="Turn a workflow on, for changes committed from now.")
    async def enable_workflow(
        self, info: strawberry.Info, input: WorkflowIdInput
    ) -> WorkflowPayload:
        return await _set_enabled(info, input, True)

    @strawberry.mutation(description="Turn a workflow off; runs under way finish.")
    async def disable_workflow(
        self, info: strawberry.Info, input: WorkflowIdInput
    ) -> WorkflowPayload:
        return await _set_enabled(info, input, False)

    @strawberry.mutation(description="Delete a workflow; its runs stay readable.")
    async def delete_workflow(self, info: strawberry.Info, input: WorkflowIdInput) -> DeletePayload:
        return await delete_by_id(info, definitions.TYPE_NAME, input.id, definitions.delete)

    @strawberry.mutation(
        description="Try a workflow on a record: which triggers and the condition match, and "
        "every action it would take. Writes nothing."
    )
    async def test_workflow(
        self, info: strawberry.Info, input: TestWorkflowInput
    ) -> TestWorkflowPayload:
        settings = _settings(info)
        return await run_mutation(
            info,
            TestWorkflowPayload,
            lambda s: dry_run.test(s, settings, _pk(input.id, "input.id"), input.record_id),
            _test_result,
        )
