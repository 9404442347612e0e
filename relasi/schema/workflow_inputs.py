"""The inputs of workflows: one input object per trigger and action kind, each list item
naming exactly one (`@oneOf`). Stored and checked in their plain JSON form (resolvers/
workflows/), every problem reported at its input path."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers.workflows import triggers
from relasi.schema.enums import (
    CasePriority,
    Channel,
    InteractionKind,
    JourneyStage,
    Role,
    SegmentChange,
    TaskPriority,
    of_names,
)
from relasi.schema.filters import AccountFilter, CaseFilter, ContactFilter, DealFilter, TaskFilter
from relasi.schema.partial import update_input

WorkflowRecordType = of_names(
    "WorkflowRecordType",
    [t.upper() for t in triggers.RECORD_TYPES],
    "The kind of record a workflow's runs act on.",
)
RecordEvent = of_names("RecordEvent", triggers.RECORD_EVENTS, "What happened to a record.")
CaseSlaEvent = of_names(
    "CaseSlaEvent", triggers.SLA_EVENTS, "A case's SLA: due soon, or past due and not resolved."
)


# --- triggers ---------------------------------------------------------------------------------


@strawberry.input(description="The record was created, updated, deleted or restored.")
class RecordEventTrigger:
    event: RecordEvent


@strawberry.input(
    description="An update changed a field of the record (`stage`, `leadRating`, `status`, "
    "`owner`: assigned, ...), optionally from and/or to given values (one, or a list)."
)
class FieldChangedTrigger:
    field: str = strawberry.field(description="The field as the record's type names it.")
    from_: JSON | None = strawberry.field(
        default=None, name="from", description="Its value before (one or a list); any if null."
    )
    to: JSON | None = strawberry.field(
        default=None,
        description="Its value after; enums by name, records by id, a deal's stage by id or "
        "name. Any if null.",
    )


@strawberry.input(description="A touchpoint of the contact was tracked (CONTACT workflows).")
class TouchpointTrackedTrigger:
    channels: list[Channel] | None = strawberry.field(default=None, description="Any if null.")
    kinds: list[InteractionKind] | None = strawberry.field(default=None, description="Any if null.")


@strawberry.input(description="The contact's journey stage moved (CONTACT workflows).")
class JourneyStageChangedTrigger:
    from_: JourneyStage | None = strawberry.field(default=None, name="from")
    to: JourneyStage | None = None


@strawberry.input(description="The contact entered or left a segment (CONTACT workflows).")
class SegmentMembershipTrigger:
    segment_id: strawberry.ID
    change: SegmentChange


@strawberry.input(
    description="On a schedule, for every record that passes the workflow's condition "
    "(e.g. every Monday 08:00, each open deal with no touchpoint in 14 days)."
)
class ScheduleTrigger:
    cron: str = strawberry.field(description="5 cron fields, e.g. '0 8 * * MON'.")
    time_zone: str | None = strawberry.field(
        default=None,
        description="IANA zone the cron is read in, e.g. Asia/Jakarta; null: the "
        "workspace's (Workspace.timeZone, UTC unless an admin set one).",
    )


@strawberry.input(description="A time relative to a date or time field of the record.")
class RelativeTimeTrigger:
    field: str = strawberry.field(description="e.g. expectedCloseDate.")
    offset_minutes: int = strawberry.field(
        description="Minutes after the field's time; negative: before (-2880: 2 days before)."
    )


@strawberry.input(description="A case's SLA is due within N minutes, or breached (CASE).")
class CaseSlaTrigger:
    event: CaseSlaEvent
    within_minutes: int | None = strawberry.field(default=None, description="For DUE_SOON.")


@strawberry.input(one_of=True, description="One trigger: give exactly one field.")
class WorkflowTriggerInput:
    record_event: RecordEventTrigger | None = strawberry.UNSET
    field_changed: FieldChangedTrigger | None = strawberry.UNSET
    touchpoint_tracked: TouchpointTrackedTrigger | None = strawberry.UNSET
    journey_stage_changed: JourneyStageChangedTrigger | None = strawberry.UNSET
    segment_membership: SegmentMembershipTrigger | None = strawberry.UNSET
    task_overdue: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true: the task is due and not done (TASK)."
    )
    schedule: ScheduleTrigger | None = strawberry.UNSET
    relative_time: RelativeTimeTrigger | None = strawberry.UNSET
    case_sla: CaseSlaTrigger | None = strawberry.UNSET


@strawberry.input(
    one_of=True,
    description="A filter on the workflow's record, as the lists take it; the key must be "
    'the workflow\'s record type ({deal: {amount: {gt: "50000"}}}).',
)
class WorkflowCondition:
    contact: ContactFilter | None = strawberry.UNSET
    account: AccountFilter | None = strawberry.UNSET
    deal: DealFilter | None = strawberry.UNSET
    case: CaseFilter | None = strawberry.UNSET
    task: TaskFilter | None = strawberry.UNSET


# --- actions ----------------------------------------------------------------------------------


@strawberry.input(description="Set fields of the record, or of a to-one related record.")
class UpdateRecordAction:
    target: str | None = strawberry.field(
        default=None, description="A related record to update instead (e.g. account)."
    )
    fields: JSON = strawberry.field(
        description='Field -> value, e.g. {"leadRating": "HOT", "title": "{{contact.title}}"}.'
    )


@strawberry.input(one_of=True, description="Who becomes the record's owner: give one.")
class AssignOwnerAction:
    member: strawberry.ID | None = strawberry.UNSET
    round_robin: Role | None = strawberry.field(
        default=strawberry.UNSET, description="The next active member of this role, in turn."
    )
    least_loaded: Role | None = strawberry.field(
        default=strawberry.UNSET,
        description="The active member of this role owning the fewest records of this type.",
    )


@strawberry.input(description="A task, linked to the record (and its account, contact, ...).")
class CreateTaskAction:
    title: str
    description: str | None = None
    due_in_minutes: int | None = None
    priority: TaskPriority | None = None
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null: the record's owner."
    )


@strawberry.input(description="A case for the record's contact and account.")
class CreateCaseAction:
    subject: str
    description: str | None = None
    priority: CasePriority | None = None


@strawberry.input(description="A note on the record's timeline.")
class AddNoteAction:
    body: str


@strawberry.input(description="A STATIC segment the record's contact joins or leaves.")
class SegmentAction:
    segment_id: strawberry.ID


@strawberry.input(description="Move the deal to a stage (DEAL workflows).")
class MoveDealStageAction:
    stage: str = strawberry.field(description="A PipelineStage id, or a stage name.")


@strawberry.input(description="A signed POST (Standard Webhooks) to a webhook endpoint's URL.")
class SendWebhookAction:
    endpoint_id: strawberry.ID
    payload: JSON | None = strawberry.field(
        default=None,
        description="A JSON object sent as data.payload; its texts may hold templates.",
    )


@strawberry.input(description="If the record passes `condition`, `then`; else `else`.")
class BranchAction:
    condition: WorkflowCondition
    then: list[WorkflowActionInput]
    else_: list[WorkflowActionInput] | None = strawberry.field(default=None, name="else")


@strawberry.input(
    description="Continue after `minutes`, at `until`, or once the record passes `condition` "
    "(at the latest after `timeoutMinutes`)."
)
class WaitAction:
    minutes: int | None = None
    until: datetime | None = None
    condition: WorkflowCondition | None = None
    timeout_minutes: int | None = None


@strawberry.input(one_of=True, description="One action: give exactly one field.")
class WorkflowActionInput:
    update_record: UpdateRecordAction | None = strawberry.UNSET
    assign_owner: AssignOwnerAction | None = strawberry.UNSET
    create_task: CreateTaskAction | None = strawberry.UNSET
    create_case: CreateCaseAction | None = strawberry.UNSET
    add_note: AddNoteAction | None = strawberry.UNSET
    add_to_segment: SegmentAction | None = strawberry.UNSET
    remove_from_segment: SegmentAction | None = strawberry.UNSET
    move_deal_stage: MoveDealStageAction | None = strawberry.UNSET
    send_webhook: SendWebhookAction | None = strawberry.UNSET
    branch: BranchAction | None = strawberry.UNSET
    wait: WaitAction | None = strawberry.UNSET


# --- mutations' inputs ------------------------------------------------------------------------


@strawberry.input
class CreateWorkflowInput:
    name: str
    description: str | None = None
    record_type: WorkflowRecordType = strawberry.field(
        description="What its runs act on; triggers, condition and templates are about it."
    )
    triggers: list[WorkflowTriggerInput] = strawberry.field(description="Any one starts a run.")
    condition: WorkflowCondition | None = strawberry.field(
        default=None, description="Checked when a run starts; a record failing it is SKIPPED."
    )
    actions: list[WorkflowActionInput] = strawberry.field(description="Run in order.")
    enabled: bool = True


UpdateWorkflowInput = update_input(
    CreateWorkflowInput,
    "UpdateWorkflowInput",
    "Fields left out stay as they are; a changed definition is a new version.",
    id=(strawberry.ID, strawberry.UNSET),
    version=(
        int | None,
        strawberry.field(
            default=None,
            description="The version you read; refused with CONFLICT if it moved.",
        ),
    ),
)


@strawberry.input
class WorkflowIdInput:
    id: strawberry.ID


@strawberry.input
class TestWorkflowInput:
    id: strawberry.ID
    record_id: strawberry.ID = strawberry.field(description="A record of the workflow's type.")
