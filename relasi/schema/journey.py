"""The journey view: `Contact.journey` (also as of a past moment) and `Account.journey`."""

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from relasi.resolvers import journey
from relasi.resolvers.loaders import load_one
from relasi.schema.enums import Channel, JourneyStage
from relasi.schema.refs import InteractionRef
from relasi.schema.relay import load_node


@strawberry.type(description="A stay in one journey stage.")
class JourneyTransition:
    from_stage: JourneyStage | None = strawberry.field(description="Null when the journey began.")
    to_stage: JourneyStage
    entered_at: datetime
    exited_at: datetime | None = strawberry.field(description="Null for the current stage.")
    duration_seconds: float | None = strawberry.field(
        description="Time spent in the stage; null for the current stage."
    )
    regression: bool = strawberry.field(description="True for a move back (e.g. churn).")
    interaction_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The touchpoint that caused the move, if one did.")
    async def interaction(self, info: strawberry.Info) -> InteractionRef | None:
        return await load_node(info, "Interaction", self.interaction_id)


@strawberry.type
class StageCount:
    stage: JourneyStage
    count: int


@strawberry.type
class ChannelCount:
    channel: Channel
    count: int


@strawberry.type(description="Where a touch came from, for attribution.")
class TouchAttribution:
    occurred_at: datetime
    channel: Channel
    source: str = strawberry.field(description="The system that recorded it.")
    utm_source: str | None
    utm_medium: str | None
    campaign: str | None = strawberry.field(description="utm_campaign.")
    interaction_id: strawberry.Private[UUID]

    @strawberry.field
    async def interaction(self, info: strawberry.Info) -> InteractionRef:
        return await load_node(info, "Interaction", self.interaction_id)


@strawberry.type(
    description="A contact's journey: its stage, how it got there, and its touchpoints per stage "
    "and channel. With asOf, everything as it stood at that moment."
)
class ContactJourney:
    as_of: datetime | None = strawberry.field(description="Null: now.")
    contact_pk: strawberry.Private[UUID]
    current: strawberry.Private[str]

    @strawberry.field(description="The stage at asOf (null if the contact did not exist yet).")
    async def stage(self, info: strawberry.Info) -> JourneyStage | None:
        if self.as_of is None:
            return JourneyStage(self.current)
        steps = await self._transitions(info)
        return JourneyStage(steps[-1].to_stage) if steps else None

    @strawberry.field(description="When the contact entered its current stage.")
    async def entered_stage_at(self, info: strawberry.Info) -> datetime | None:
        steps = await self._transitions(info)
        return steps[-1].entered_at if steps else None

    @strawberry.field(description="Every stage move, oldest first.")
    async def transitions(self, info: strawberry.Info) -> list[JourneyTransition]:
        return [
            JourneyTransition(
                from_stage=JourneyStage(t.from_stage) if t.from_stage else None,
                to_stage=JourneyStage(t.to_stage),
                entered_at=t.entered_at,
                exited_at=t.exited_at,
                duration_seconds=(t.exited_at - t.entered_at).total_seconds()
                if t.exited_at
                else None,
                regression=t.regression,
                interaction_id=t.interaction_id,
            )
            for t in await self._transitions(info)
        ]

    @strawberry.field(
        description="Touchpoints per stage, in journey order: those that happened while the "
        "contact was in the stage."
    )
    async def touchpoints_by_stage(self, info: strawberry.Info) -> list[StageCount]:
        counts = await journey.counts(info.context.session, self.contact_pk, self.as_of)
        return [StageCount(stage=s, count=counts.by_stage.get(s.value, 0)) for s in JourneyStage]

    @strawberry.field(description="Touchpoints per channel, most used first.")
    async def touchpoints_by_channel(self, info: strawberry.Info) -> list[ChannelCount]:
        counts = await journey.counts(info.context.session, self.contact_pk, self.as_of)
        ranked = sorted(counts.by_channel.items(), key=lambda kv: (-kv[1], kv[0]))
        return [ChannelCount(channel=Channel(c), count=n) for c, n in ranked]

    @strawberry.field(description="All touchpoints up to asOf.")
    async def touchpoint_count(self, info: strawberry.Info) -> int:
        counts = await journey.counts(info.context.session, self.contact_pk, self.as_of)
        return sum(counts.by_channel.values())

    @strawberry.field(description="The first touchpoint (first-touch attribution).")
    async def first_touch(self, info: strawberry.Info) -> TouchAttribution | None:
        first, _ = await journey.touches(info.context.session, self.contact_pk, self.as_of)
        return await _attribution(info, first)

    @strawberry.field(description="The latest touchpoint (last-touch attribution).")
    async def last_touch(self, info: strawberry.Info) -> TouchAttribution | None:
        _, last = await journey.touches(info.context.session, self.contact_pk, self.as_of)
        return await _attribution(info, last)

    async def _transitions(self, info: strawberry.Info) -> list[Any]:
        return await journey.transitions(info.context.session, self.contact_pk, self.as_of)


async def _attribution(info: strawberry.Info, pk: UUID | None) -> TouchAttribution | None:
    row = await load_one(info.context.session, "Interaction", pk)
    if row is None:
        return None
    fields = {name: row[column] for name, column in journey.ATTRIBUTION}
    fields["channel"] = Channel(fields["channel"])
    return TouchAttribution(**fields, interaction_id=row["id"])


@strawberry.type
class StageContacts:
    stage: JourneyStage
    count: int


@strawberry.type(description="Where an account's people are in their journeys.")
class AccountJourney:
    furthest_stage: JourneyStage | None = strawberry.field(
        description="The furthest stage any of its contacts ever reached."
    )
    contacts_by_stage: list[StageContacts] = strawberry.field(
        description="How many of its contacts are in each stage now, in journey order."
    )


def contact_journey(contact_pk: UUID, current: str, as_of: datetime | None) -> ContactJourney:
    return ContactJourney(as_of=as_of, contact_pk=contact_pk, current=current)


async def account_journey(info: strawberry.Info, account_pk: UUID) -> AccountJourney:
    found = await journey.account_journey(info.context.session, account_pk)
    return AccountJourney(
        furthest_stage=JourneyStage(found.furthest_stage) if found.furthest_stage else None,
        contacts_by_stage=[
            StageContacts(stage=s, count=found.contacts_by_stage.get(s.value, 0))
            for s in JourneyStage
        ],
    )
