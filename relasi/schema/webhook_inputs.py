"""The inputs of webhooks: endpoints to create and change, deliveries to list and replay."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from relasi.schema.filters import (
    AccountFilter,
    CaseFilter,
    ContactFilter,
    DealFilter,
    InteractionFilter,
    SegmentFilter,
    TaskFilter,
)


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.input(description="Per record type, the filter a changed record must pass.")
class WebhookFilter:
    contact: ContactFilter | None = None
    account: AccountFilter | None = None
    deal: DealFilter | None = None
    case: CaseFilter | None = None
    segment: SegmentFilter | None = None
    interaction: InteractionFilter | None = None
    task: TaskFilter | None = None


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https; must resolve to public addresses.")
    description: str | None = None
    event_types: list[str] | None = strawberry.field(
        default=None, description="e.g. ['deal.stage_changed']; empty or left out: all."
    )
    filter: WebhookFilter | None = None
    enabled: bool = True


@strawberry.input(description="Fields left out stay as they are.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="The version you read; refused with CONFLICT if it moved."
    )
    url: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    event_types: list[str] | None = strawberry.UNSET
    filter: WebhookFilter | None = strawberry.UNSET
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="false disables it; true enables it again, from the changes committed "
        "from then on, with its failure streak cleared.",
    )


@strawberry.input
class WebhookEndpointIdInput:
    id: strawberry.ID


@strawberry.input
class ReplayWebhookDeliveryInput:
    id: strawberry.ID


@strawberry.input
class ReplayWebhookEndpointInput:
    endpoint_id: strawberry.ID
    from_: datetime = strawberry.field(
        name="from", description="Resend the deliveries of changes made at or after this time."
    )


@strawberry.input(description="Which deliveries to list.")
class WebhookDeliveryFilter:
    status: WebhookDeliveryStatus | None = None
    event_type: str | None = None
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Changes made at or after."
    )
    to: datetime | None = strawberry.field(default=None, description="Changes made before.")
