"""Journey timelines: `Contact.timeline`, `Account.timeline` and `addNote`."""

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from relasi.resolvers import enums as e
from relasi.resolvers import global_ids, timeline
from relasi.resolvers.pagination import Page
from relasi.schema.enums import CaseStatus, Channel, InteractionKind, JourneyStage
from relasi.schema.errors import UserError
from relasi.schema.payloads import provided, run_mutation
from relasi.schema.refs import (
    AccountRef,
    ActorRef,
    CaseRef,
    ContactRef,
    DealRef,
    InteractionRef,
    StageRef,
    TaskRef,
)
from relasi.schema.relay import PageInfo, load_node, page_args, page_info

TimelineEventKind = strawberry.enum(
    e.TimelineEventKind, description="What a timeline event records."
)


@strawberry.interface(
    description="One event of a customer's history: a touchpoint, a deal or case change, a "
    "journey stage transition, a note, a task created or completed, or a workflow run. Timelines list them "
    "newest first."
)
class TimelineEvent:
    id: strawberry.ID = strawberry.field(description="Unique among timeline events.")
    occurred_at: datetime
    kind: TimelineEventKind
    event: strawberry.Private[dict[str, Any]]  # the event in timeline.EVENT_COLUMNS shape

    @strawberry.field(description="The contact whose timeline it is on, if any.")
    async def contact(self, info: strawberry.Info) -> ContactRef | None:
        return await _linked(info, self.event, "contact")

    @strawberry.field(description="The account whose timeline it is on, if any.")
    async def account(self, info: strawberry.Info) -> AccountRef | None:
        return await _linked(info, self.event, "account")


async def _linked(info: strawberry.Info, event: dict[str, Any], link: str) -> Any:
    """The record an event links to by field `link` (`timeline.EVENT_LINKS`)."""
    return await load_node(info, timeline.EVENT_LINKS[link][0], timeline.linked_id(event, link))


async def _actor(info: strawberry.Info, event: dict[str, Any]) -> Any:
    from relasi.schema.deals import Actor

    session = info.context.session
    return Actor(
        api_key_name=await timeline.load_actor_name(session, event["actor_api_key_id"]),
        member=await load_node(info, "Member", event["actor_member_id"]),
    )


@strawberry.type(description="A touchpoint (see `interaction` for all its details).")
class InteractionEvent(TimelineEvent):
    channel: Channel
    interaction_kind: InteractionKind
    journey_stage: JourneyStage | None
    summary: str | None

    @strawberry.field(description="Null only if the interaction is gone.")
    async def interaction(self, info: strawberry.Info) -> InteractionRef | None:
        return await _linked(info, self.event, "interaction")


@strawberry.type(description="A deal moved to another stage.")
class DealStageChangedEvent(TimelineEvent):
    @strawberry.field
    async def deal(self, info: strawberry.Info) -> DealRef | None:
        return await _linked(info, self.event, "deal")

    # not fromStage/toStage: those are JourneyStage on JourneyStageChangedEvent, and one
    # selection over the interface may not ask for one name with two types
    @strawberry.field(description="Null when the deal was created in this stage.")
    async def from_pipeline_stage(self, info: strawberry.Info) -> StageRef | None:
        return await _linked(info, self.event, "from_pipeline_stage")

    @strawberry.field
    async def to_pipeline_stage(self, info: strawberry.Info) -> StageRef:
        return await _linked(info, self.event, "to_pipeline_stage")

    @strawberry.field(description="Who moved it.")
    async def changed_by(self, info: strawberry.Info) -> ActorRef:
        return await _actor(info, self.event)


@strawberry.type(description="A support case was opened.")
class CaseOpenedEvent(TimelineEvent):
    @strawberry.field
    async def case(self, info: strawberry.Info) -> CaseRef | None:
        return await _linked(info, self.event, "case")


@strawberry.type(description="A support case changed status.")
class CaseStatusChangedEvent(TimelineEvent):
    from_status: CaseStatus
    to_status: CaseStatus

    @strawberry.field
    async def case(self, info: strawberry.Info) -> CaseRef | None:
        return await _linked(info, self.event, "case")


@strawberry.type(description="The contact moved to another journey stage.")
class JourneyStageChangedEvent(TimelineEvent):
    from_stage: JourneyStage | None = strawberry.field(description="Null when the journey began.")
    to_stage: JourneyStage
    regression: bool = strawberry.field(description="True for a move back (e.g. churn).")

    @strawberry.field(description="The touchpoint that moved the contact, if one did.")
    async def interaction(self, info: strawberry.Info) -> InteractionRef | None:
        return await _linked(info, self.event, "interaction")


@strawberry.type(description="A note someone wrote.")
class NoteEvent(TimelineEvent):
    body: str

    @strawberry.field(description="The deal it was written on, if any.")
    async def deal(self, info: strawberry.Info) -> DealRef | None:
        return await _linked(info, self.event, "deal")

    @strawberry.field(description="The case it was written on, if any.")
    async def case(self, info: strawberry.Info) -> CaseRef | None:
        return await _linked(info, self.event, "case")

    @strawberry.field
    async def author(self, info: strawberry.Info) -> ActorRef:
        return await _actor(info, self.event)


@strawberry.type(description="A task linked to this record was created.")
class TaskCreatedEvent(TimelineEvent):
    title: str = strawberry.field(description="The task's title when it was created.")

    @strawberry.field(description="Null only if the task is gone (deleted).")
    async def task(self, info: strawberry.Info) -> TaskRef | None:
        return await _linked(info, self.event, "task")

    @strawberry.field(description="Who created it.")
    async def created_by(self, info: strawberry.Info) -> ActorRef:
        return await _actor(info, self.event)


@strawberry.type(description="A task linked to this record was completed (marked DONE).")
class TaskCompletedEvent(TimelineEvent):
    title: str = strawberry.field(description="The task's title when it was completed.")

    @strawberry.field(description="Null only if the task is gone (deleted).")
    async def task(self, info: strawberry.Info) -> TaskRef | None:
        return await _linked(info, self.event, "task")

    @strawberry.field(description="Who completed it.")
    async def completed_by(self, info: strawberry.Info) -> ActorRef:
        return await _actor(info, self.event)


@strawberry.type(
    description="A workflow ran on this record: what it did, e.g. \"Workflow 'Escalate "
    "urgent cases' assigned Dewi\" (its steps are in `workflowRuns`)."
)
class WorkflowRunEvent(TimelineEvent):
    summary: str = strawberry.field(description="What the run did, or why it failed.")
    workflow_name: str = strawberry.field(description="The workflow's name when it ran.")
    status: str = strawberry.field(description="How the run ended: SUCCEEDED or FAILED.")


EVENT_TYPES: dict[str, type] = {
    "INTERACTION": InteractionEvent,
    "DEAL_STAGE_CHANGED": DealStageChangedEvent,
    "CASE_OPENED": CaseOpenedEvent,
    "CASE_STATUS_CHANGED": CaseStatusChangedEvent,
    "JOURNEY_STAGE_CHANGED": JourneyStageChangedEvent,
    "NOTE": NoteEvent,
    "TASK_CREATED": TaskCreatedEvent,
    "TASK_COMPLETED": TaskCompletedEvent,
    "WORKFLOW_RUN": WorkflowRunEvent,
}


# the enum of each event field that holds one (`timeline.EVENT_FIELDS` names the columns)
_ENUMS: dict[str, type[Enum]] = {
    "channel": Channel,
    "interaction_kind": InteractionKind,
    "journey_stage": JourneyStage,
    "from_status": CaseStatus,
    "to_status": CaseStatus,
    "from_stage": JourneyStage,
    "to_stage": JourneyStage,
}


def event_node(event: dict[str, Any]) -> TimelineEvent:
    """The GraphQL object of an event in the common shape (`timeline.EVENT_COLUMNS`)."""
    kind = event["kind"]
    cls = EVENT_TYPES[kind]
    fields = {
        name: _enum(_ENUMS[name], event[column]) if name in _ENUMS else event[column]
        for name, column in timeline.EVENT_FIELDS.get(kind, ())
    }
    return cls(
        id=global_ids.encode(cls.__name__, event["id"]),
        occurred_at=event["occurred_at"],
        kind=TimelineEventKind(kind),
        event=event,
        **fields,
    )


def _enum(enum: type[Enum], value: str | None) -> Any:
    return enum(value) if value is not None else None


@strawberry.type
class TimelineEventEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` (or `before`) to read on from this event, in either order."
    )
    node: TimelineEvent


def edge_from_row(topic: str, row: Any) -> TimelineEventEdge:
    """The edge of a freshly written `interactions` ("interaction") or `timeline_events`
    ("timeline") row, as pushed to subscribers."""
    event = timeline.event_of(topic, row)
    return TimelineEventEdge(cursor=timeline.cursor_of(event), node=event_node(event))


@strawberry.type(description="A page of a timeline.")
class TimelineEventConnection:
    edges: list[TimelineEventEdge]
    page_info: PageInfo
    total: strawberry.Private[Any]

    @strawberry.field(description="The events of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[TimelineEvent]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many events the whole timeline holds under this filter.")
    async def total_count(self) -> int:
        return await self.total()


@strawberry.enum(description="Timeline order.")
class TimelineOrder(Enum):
    NEWEST_FIRST = "NEWEST_FIRST"
    OLDEST_FIRST = "OLDEST_FIRST"


@strawberry.input(
    description="Which events a timeline shows; lists mean 'any of'. A condition on a "
    "property only touchpoints have (channels, interactionKinds) shows touchpoints only; "
    "journeyStages matches touchpoints in those stages and moves into them."
)
class TimelineFilter:
    kinds: list[TimelineEventKind] | None = strawberry.field(
        default=None, description="Event kinds (types)."
    )
    channels: list[Channel] | None = None
    interaction_kinds: list[InteractionKind] | None = None
    journey_stages: list[JourneyStage] | None = None
    occurred_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    occurred_before: datetime | None = strawberry.field(default=None, description="Exclusive.")


def _values(items: list[Enum] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(i.value for i in items)


def timeline_query(flt: TimelineFilter | None, order: TimelineOrder) -> timeline.TimelineQuery:
    oldest_first = order is TimelineOrder.OLDEST_FIRST
    if flt is None:
        return timeline.TimelineQuery(oldest_first=oldest_first)
    return timeline.TimelineQuery(
        kinds=_values(flt.kinds),
        channels=_values(flt.channels),
        interaction_kinds=_values(flt.interaction_kinds),
        journey_stages=_values(flt.journey_stages),
        occurred_from=flt.occurred_from,
        occurred_until=flt.occurred_before,
        oldest_first=oldest_first,
    )


def _connection(page: Page, total: Any) -> TimelineEventConnection:
    edges = [
        TimelineEventEdge(cursor=c, node=event_node(row))
        for row, c in zip(page.rows, page.cursors, strict=True)
    ]
    return TimelineEventConnection(edges=edges, page_info=page_info(page), total=total)


def timeline_field(owner: timeline.Owner, description: str) -> Any:
    async def resolve(
        root: Any,
        info: strawberry.Info,
        filter: TimelineFilter | None = None,
        order: TimelineOrder = TimelineOrder.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> TimelineEventConnection:
        session = info.context.session
        q = timeline_query(filter, order)
        page = await timeline.page(
            session, owner, root.pk, q, page_args(first, after, last, before)
        )
        return _connection(page, lambda: timeline.count(session, owner, root.pk, q))

    return strawberry.field(resolver=resolve, description=description)


@strawberry.input(description="A note on exactly one contact, account, deal or case.")
class AddNoteInput:
    contact_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = None
    deal_id: strawberry.ID | None = None
    case_id: strawberry.ID | None = None
    body: str = strawberry.field(description="Up to 10,000 characters.")


@strawberry.type
class AddNotePayload:
    note: NoteEvent | None = None
    user_errors: list[UserError]


@strawberry.type
class TimelineMutations:
    @strawberry.mutation(
        description="Write a note. It appears on the timelines of what it is about: a contact's "
        "(and its account's), an account's, a deal's account and contacts', a case's contact "
        "and account."
    )
    async def add_note(self, info: strawberry.Info, input: AddNoteInput) -> AddNotePayload:
        return await run_mutation(
            info,
            AddNotePayload,
            lambda s: timeline.add_note(s, provided(input)),
            lambda row: {"note": event_node(timeline.event_of("timeline", row))},
        )


TIMELINE_TYPES = list(EVENT_TYPES.values())
