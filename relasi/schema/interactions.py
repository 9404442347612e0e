"""Interactions: touchpoints on every channel."""

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers import interactions
from relasi.schema.enums import Channel, InteractionKind, JourneyStage
from relasi.schema.errors import UserError, user_errors
from relasi.schema.filters import InteractionFilter, InteractionOrder
from relasi.schema.payloads import provided, run_mutation
from relasi.schema.refs import AccountRef, ContactRef
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    lookup_field,
    node_type,
)


@strawberry.type(description="Campaign attribution (UTM parameters).")
class Utm:
    source: str | None
    medium: str | None
    campaign: str | None
    term: str | None
    content: str | None


@node_type
@strawberry.type(description="One touchpoint of a customer on one channel.")
class Interaction(Node):
    channel: Channel
    kind: InteractionKind
    occurred_at: datetime
    journey_stage: JourneyStage | None
    sentiment: Decimal | None = strawberry.field(description="-1 (negative) to 1 (positive).")
    summary: str | None
    source: str = strawberry.field(description="The system it came from, e.g. 'whatsapp-business'.")
    external_id: str | None = strawberry.field(description="Its id in `source`; unique per source.")
    properties: JSON
    created_at: datetime

    @strawberry.field
    def utm(self) -> Utm:
        r = self.row
        return Utm(
            source=r["utm_source"],
            medium=r["utm_medium"],
            campaign=r["utm_campaign"],
            term=r["utm_term"],
            content=r["utm_content"],
        )

    contact = link_field("Contact", "contact_id", ContactRef | None)
    account = link_field("Account", "account_id", AccountRef | None)


@strawberry.type
class InteractionConnection(Connection[Interaction]):
    pass


connection_of("Interaction", InteractionConnection, Interaction)


@strawberry.type
class InteractionQueries:
    interaction = lookup_field(Interaction)

    interactions = list_field(
        "Interaction",
        InteractionFilter,
        InteractionOrder,
        InteractionConnection,
        "All touchpoints of the workspace, newest first.",
    )


@strawberry.input
class UtmInput:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


@strawberry.input(description="An identity of the person behind a touchpoint, e.g. a chat user id.")
class ExternalIdentityInput:
    source: str = strawberry.field(description="The system, e.g. 'whatsapp' or 'intercom'.")
    id: str = strawberry.field(description="The person's id in that system.")


@strawberry.input(
    description="Who a touchpoint is from, by identity. A known email, phone or external identity "
    "attaches the touch to its contact (which learns the other identities given); unknown ones "
    "create a contact (lifecycle SUBSCRIBER, journey AWARENESS)."
)
class ContactRefInput:
    email: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="E.164, or national if country is given."
    )
    external_identity: ExternalIdentityInput | None = None
    first_name: str | None = strawberry.field(
        default=None, description="Used if a contact is created."
    )
    last_name: str | None = strawberry.field(
        default=None, description="Used if a contact is created."
    )
    country: str | None = strawberry.field(
        default=None,
        description="ISO 3166-1 alpha-2: reads national phone numbers; set on a new contact.",
    )


@strawberry.input(description="A touchpoint. Give externalId (with source) to make retries safe.")
class TrackInteractionInput:
    contact_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The contact by id; or give `contact` (by identity), or accountId alone for an account-level touch.",
    )
    contact: ContactRefInput | None = None
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the contact's account."
    )
    channel: Channel
    kind: InteractionKind
    occurred_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    journey_stage: JourneyStage | None = strawberry.field(
        default=None, description="Moves the contact to this stage when it is later in the journey."
    )
    regression: bool = strawberry.field(
        default=False, description="Move the contact back to journeyStage (e.g. a churn signal)."
    )
    sentiment: Decimal | None = strawberry.field(default=None, description="-1 to 1.")
    summary: str | None = None
    source: str | None = strawberry.field(default=None, description="The system it came from.")
    external_id: str | None = strawberry.field(
        default=None, description="Its id in `source`: the same pair twice records one interaction."
    )
    utm: UtmInput | None = None
    properties: JSON | None = None


@strawberry.type
class TrackInteractionPayload:
    interaction: Interaction | None = None
    created: bool = strawberry.field(
        default=False, description="False when (source, externalId) was already recorded."
    )
    user_errors: list[UserError]


@strawberry.type(description="The outcome of one item of trackInteractions.")
class TrackInteractionResult:
    interaction: Interaction | None
    created: bool
    user_errors: list[UserError]


@strawberry.type
class TrackInteractionsPayload:
    results: list[TrackInteractionResult] = strawberry.field(
        default_factory=list, description="One per input, in order."
    )
    user_errors: list[UserError]


@strawberry.type
class InteractionMutations:
    @strawberry.mutation(description="Record a touchpoint (idempotent by source + externalId).")
    async def track_interaction(
        self, info: strawberry.Info, input: TrackInteractionInput
    ) -> TrackInteractionPayload:
        return await run_mutation(
            info,
            TrackInteractionPayload,
            lambda s: interactions.track_interaction(s, provided(input)),
            lambda result: {"interaction": from_row(Interaction, result[0]), "created": result[1]},
        )

    @strawberry.mutation(
        description="Record up to 1,000 touchpoints in one transaction; a refused item reports its "
        "userErrors (paths start with inputs.<index>) and the others are recorded."
    )
    async def track_interactions(
        self, info: strawberry.Info, inputs: list[TrackInteractionInput]
    ) -> TrackInteractionsPayload:
        return await run_mutation(
            info,
            TrackInteractionsPayload,
            lambda s: interactions.track_interactions(s, provided(inputs)),
            lambda results: {
                "results": [
                    TrackInteractionResult(
                        interaction=from_row(Interaction, row) if row else None,
                        created=created,
                        user_errors=user_errors(errors),
                    )
                    for row, created, errors in results
                ]
            },
        )
