"""Live subscriptions: committed changes pushed over a WebSocket (see `relasi/notifier.py`).

Filters are global ids checked like query arguments (NOT_FOUND for one naming nothing in the
workspace) and combine with AND. On the compiled read path, a selection the compiler covers
gets each event's payload built by one statement shared with the subscribers of the same
selection (`compiler/subscriptions.py`), and written to the socket as PostgreSQL wrote it,
with no GraphQL execution per event (`context.live_send`); otherwise each event is resolved
with its own Session, so its nested fields load through fresh DataLoaders and a connection is
held only while it is resolved.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry
from starlette.websockets import WebSocket

from relasi.auth.still_valid import NO_LONGER_VALID, still_valid
from relasi.change_reader import Row
from relasi.compiler.subscriptions import compile_selection
from relasi.errors import AppError, NotFound, Unauthenticated
from relasi.notifier import Notifier
from relasi.resolvers import global_ids, loaders
from relasi.resolvers.enums import TimelineEventKind
from relasi.schema.cases import Case
from relasi.schema.context import Context, live_send
from relasi.schema.enums import Channel
from relasi.schema.interactions import Interaction
from relasi.schema.relay import from_row
from relasi.schema.segments import SegmentMembershipChange
from relasi.schema.timeline import (
    DealStageChangedEvent,
    JourneyStageChangedEvent,
    TimelineEventEdge,
    edge_from_row,
)
from relasi.subscriber import Match

T = TypeVar("T")

DEAL_STAGE_CHANGED = TimelineEventKind.DEAL_STAGE_CHANGED.value
JOURNEY_STAGE_CHANGED = TimelineEventKind.JOURNEY_STAGE_CHANGED.value

ContactId = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only events of this contact.")
]
AccountId = Annotated[
    strawberry.ID | None, strawberry.argument(description="Only events of this account.")
]


async def _filter_ids(
    info: strawberry.Info, **given: tuple[str, str | None]
) -> dict[str, UUID | None]:
    """Decode the filter ids ({argument: (type name, global id)}) and check each names a live
    row of the workspace, through the loaders queries use. Every subscription starts here, so
    this is also where one arriving over plain HTTP, or on a socket whose key or token has
    been revoked since it connected, is refused."""
    context: Context = info.context
    if not isinstance(context.request, WebSocket):
        # plain HTTP would run the subscription as a query (strawberry allows it on POST)
        raise AppError(
            "Subscriptions run over a WebSocket at /graphql (graphql-transport-ws or graphql-ws)."
        )
    assert context.principal is not None
    if not await still_valid(context.db, context.principal):  # revoked since the socket opened
        raise Unauthenticated(NO_LONGER_VALID)
    found: dict[str, UUID | None] = {}
    async with context.scoped_session() as session:
        for argument, (type_name, global_id) in given.items():
            if global_id is None:
                found[argument] = None
                continue
            pk = global_ids.decode(global_id, type_name, field=argument)
            if await loaders.load_one(session, type_name, pk) is None:
                raise NotFound(f"No {type_name} with id {global_id!r}.", field=argument)
            found[argument] = pk
    return found


async def _stream(
    info: strawberry.Info, topics: frozenset[str], match: Match, build: Callable[[str, Row], T]
) -> AsyncGenerator[T, None]:
    """The matching events of the caller's workspace: compiled payloads sent as they are, the
    others built and resolved inside their own Session."""
    context: Context = info.context
    assert context.principal is not None
    notifier: Notifier = context.request.app.state.notifier
    principal = context.principal
    send = live_send.get()
    compiled = context.read_path == "compiled" and send is not None
    payloads = compile_selection(info) if compiled else None
    subscriber = await notifier.subscribe(
        principal.workspace_id,
        topics,
        match,
        principal=principal,
        payloads=payloads,
        push=send.push if payloads is not None and send is not None else None,
    )
    try:
        while True:
            event = await subscriber.next()
            if not await still_valid(context.db, principal):
                raise Unauthenticated(NO_LONGER_VALID)
            if event.payload is not None:
                assert send is not None
                await send(event.payload)  # straight to the socket (ws_protocols.py)
                continue
            # released before the event is written to the socket (server.py), at the latest
            # when the consumer asks for the next event
            async with context.scoped_session():
                yield build(event.topic, event.row)
    finally:
        notifier.unsubscribe(subscriber)


def _owned_by(contact: UUID | None, account: UUID | None) -> Match:
    def match(topic: str, row: Row) -> bool:
        return (contact is None or row["contact_id"] == contact) and (
            account is None or row["account_id"] == account
        )

    return match


def _on_timeline(contact: UUID | None, account: UUID | None) -> Match:
    """Whether an event is on the contact's (or account's) timeline, as `timeline` lists it."""

    def match(topic: str, row: Row) -> bool:
        if account is not None:
            return row["account_id"] == account
        if row["contact_id"] is not None:
            return row["contact_id"] == contact
        # deal events without a contact are on the timelines of the deal's contacts
        return topic == "timeline" and contact in (row["deal_contact_ids"] or ())

    return match


@strawberry.type(
    description="Live events, over a WebSocket at /graphql (graphql-transport-ws or the legacy "
    "graphql-ws). Only committed changes of your workspace are sent. A subscription that falls "
    "too far behind ends with a RATE_LIMITED error: resubscribe and catch up with "
    "`timeline(after:)`."
)
class Subscription:
    @strawberry.subscription(description="Each touchpoint recorded from now on.")
    async def interaction_added(
        self,
        info: strawberry.Info,
        contact_id: ContactId = None,
        account_id: AccountId = None,
        channels: Annotated[
            list[Channel] | None,
            strawberry.argument(description="Only touchpoints on these channels."),
        ] = None,
    ) -> AsyncGenerator[Interaction, None]:
        ids = await _filter_ids(
            info, contactId=("Contact", contact_id), accountId=("Account", account_id)
        )
        owned = _owned_by(ids["contactId"], ids["accountId"])
        wanted = None if channels is None else {c.value for c in channels}

        def match(topic: str, row: Row) -> bool:
            return owned(topic, row) and (wanted is None or row["channel"] in wanted)

        return _stream(
            info, frozenset({"interaction"}), match, lambda _, row: from_row(Interaction, row)
        )

    @strawberry.subscription(
        description="Each event added to a contact's or an account's timeline (give exactly "
        "one), with the cursor `timeline(after:)` reads on from."
    )
    async def timeline_event_added(
        self, info: strawberry.Info, contact_id: ContactId = None, account_id: AccountId = None
    ) -> AsyncGenerator[TimelineEventEdge, None]:
        if (contact_id is None) == (account_id is None):
            raise AppError("Give exactly one of contactId or accountId.", field="contactId")
        ids = await _filter_ids(
            info, contactId=("Contact", contact_id), accountId=("Account", account_id)
        )
        match = _on_timeline(ids["contactId"], ids["accountId"])
        return _stream(info, frozenset({"interaction", "timeline"}), match, edge_from_row)

    @strawberry.subscription(description="Each move of a deal to another stage.")
    async def deal_stage_changed(
        self,
        info: strawberry.Info,
        pipeline_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only deals in this pipeline."),
        ] = None,
    ) -> AsyncGenerator[DealStageChangedEvent, None]:
        pipeline = (await _filter_ids(info, pipelineId=("Pipeline", pipeline_id)))["pipelineId"]

        def match(topic: str, row: Row) -> bool:
            return row["kind"] == DEAL_STAGE_CHANGED and (
                pipeline is None or row["deal_pipeline_id"] == pipeline
            )

        return _stream(info, frozenset({"timeline"}), match, _node)

    @strawberry.subscription(description="Each case opened or changed (status, fields, links).")
    async def case_updated(
        self, info: strawberry.Info, account_id: AccountId = None, contact_id: ContactId = None
    ) -> AsyncGenerator[Case, None]:
        ids = await _filter_ids(
            info, accountId=("Account", account_id), contactId=("Contact", contact_id)
        )
        match = _owned_by(ids["contactId"], ids["accountId"])
        return _stream(info, frozenset({"case"}), match, lambda _, row: from_row(Case, row))

    @strawberry.subscription(description="Each move of a contact to another journey stage.")
    async def journey_stage_changed(
        self, info: strawberry.Info, contact_id: ContactId = None
    ) -> AsyncGenerator[JourneyStageChangedEvent, None]:
        contact = (await _filter_ids(info, contactId=("Contact", contact_id)))["contactId"]

        def match(topic: str, row: Row) -> bool:
            return row["kind"] == JOURNEY_STAGE_CHANGED and (
                contact is None or row["contact_id"] == contact
            )

        return _stream(info, frozenset({"timeline"}), match, _node)

    @strawberry.subscription(
        description="Each contact entering or leaving a segment, as it happens (a touch, an "
        "edit, an override, a refresh)."
    )
    async def segment_membership_changed(
        self, info: strawberry.Info, segment_id: strawberry.ID
    ) -> AsyncGenerator[SegmentMembershipChange, None]:
        segment = (await _filter_ids(info, segmentId=("Segment", segment_id)))["segmentId"]

        def match(topic: str, row: Row) -> bool:
            return row["segment_id"] == segment

        return _stream(
            info,
            frozenset({"segment"}),
            match,
            lambda _, row: from_row(SegmentMembershipChange, row),
        )


def _node(topic: str, row: Row) -> Any:
    return edge_from_row(topic, row).node
