"""Webhooks: endpoints with their health, deliveries with every attempt, replays
(webhooks:read / webhooks:write; admins have both)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers import global_ids
from relasi.resolvers.webhooks import background, deliveries, endpoints, listing
from relasi.resolvers.webhooks.delivery import Config
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
from relasi.schema.webhook_inputs import (
    CreateWebhookEndpointInput,
    ReplayWebhookDeliveryInput,
    ReplayWebhookEndpointInput,
    UpdateWebhookEndpointInput,
    WebhookDeliveryFilter,
    WebhookDeliveryStatus,
    WebhookEndpointIdInput,
)


@strawberry.enum(description="Why an endpoint is disabled.")
class WebhookDisabledCode(Enum):
    GONE = strawberry.enum_value("GONE", description="The receiver answered 410 Gone.")
    RETRIES_EXHAUSTED = strawberry.enum_value(
        "RETRIES_EXHAUSTED", description="A delivery failed its whole retry schedule."
    )
    OWNER_REVOKED = strawberry.enum_value(
        "OWNER_REVOKED",
        description="The API key or member that saved it was revoked, expired or removed, or "
        "lost the right to own it (webhooks:write, or the pii:read its filter needs); an update "
        "with enabled: true re-owns it (to the caller) and enables it.",
    )
    BY_USER = strawberry.enum_value("BY_USER", description="An update with enabled: false.")


@strawberry.type(description="How an endpoint's deliveries have been going.")
class WebhookEndpointHealth:
    last_success_at: datetime | None = strawberry.field(description="The last 2xx answer.")
    last_failure_at: datetime | None = strawberry.field(description="The last failed attempt.")
    failure_streak: int = strawberry.field(description="Failed attempts since the last success.")
    disabled_reason: str | None = strawberry.field(
        description="Why the endpoint is disabled (410 Gone, retries ran out, its owner was "
        "revoked, a user), in words; null while enabled."
    )
    disabled_code: WebhookDisabledCode | None = strawberry.field(
        description="Why the endpoint is disabled, as a code; null while enabled."
    )


@strawberry.type(description="A URL that receives the workspace's changes, signed.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str | None
    event_types: list[str] = strawberry.field(
        description="The event types it receives; empty: every type its owner may read."
    )
    filter: JSON = strawberry.field(description="Per record type, the filter a record passes.")
    enabled: bool
    health: WebhookEndpointHealth
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when the secret replaced by the last rotation still signs too."
    )
    created_at: datetime
    updated_at: datetime
    version: int


def endpoint_of(row: Any) -> WebhookEndpoint:
    until = row["previous_secret_until"]
    return WebhookEndpoint(
        id=global_ids.encode(endpoints.TYPE_NAME, row["id"]),
        url=row["url"],
        description=row["description"],
        event_types=list(row["event_types"]),
        filter=row["filter"],
        enabled=row["enabled"],
        health=WebhookEndpointHealth(
            last_success_at=row["last_success_at"],
            last_failure_at=row["last_failure_at"],
            failure_streak=row["failure_streak"],
            disabled_reason=None if row["enabled"] else row["disabled_reason"],
            disabled_code=(
                WebhookDisabledCode(row["disabled_code"])
                if not row["enabled"] and row["disabled_code"]
                else None
            ),
        ),
        previous_secret_expires_at=until if row["previous_secret"] is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


@strawberry.type(description="One try at sending a delivery.")
class WebhookAttempt:
    attempted_at: datetime
    status_code: int | None = strawberry.field(description="Null: no HTTP answer (see error).")
    duration_ms: int
    response_excerpt: str | None = strawberry.field(description="The answer's first 4 KiB.")
    error: str | None = strawberry.field(description="Why there was no answer (or a refusal).")


@strawberry.type(description="One change sent to one endpoint, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: str = strawberry.field(description="Its `webhook-id` header, the same on replays.")
    event_type: str
    record_id: strawberry.ID
    occurred_at: datetime
    status: WebhookDeliveryStatus
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next.")
    delivered_at: datetime | None
    payload: JSON = strawberry.field(description="The body sent.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Oldest first.")


def delivery_of(row: Any, tries: list[Any]) -> WebhookDelivery:
    body = json.loads(row["body"])
    status = WebhookDeliveryStatus(row["status"])
    return WebhookDelivery(
        id=global_ids.encode(deliveries.TYPE_NAME, row["id"]),
        webhook_id="msg_" + row["id"].hex,
        event_type=row["event_type"],
        record_id=body["data"]["recordId"],
        occurred_at=row["occurred_at"],
        status=status,
        next_attempt_at=row["next_attempt_at"] if status is WebhookDeliveryStatus.PENDING else None,
        delivered_at=row["delivered_at"],
        payload=body,
        attempts=[
            WebhookAttempt(
                attempted_at=a["attempted_at"],
                status_code=a["status_code"],
                duration_ms=a["duration_ms"],
                response_excerpt=a["response_excerpt"],
                error=a["error"],
            )
            for a in tries
        ],
    )


@strawberry.type
class WebhookEndpointEdge:
    cursor: str
    node: WebhookEndpoint


@strawberry.type(description="A page of endpoints, oldest first.")
class WebhookEndpointConnection:
    edges: list[WebhookEndpointEdge]
    page_info: PageInfo

    @strawberry.field(description="The endpoints of `edges`.")
    def nodes(self) -> list[WebhookEndpoint]:
        return [e.node for e in self.edges]


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type(description="A page of deliveries, newest change first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo

    @strawberry.field(description="The deliveries of `edges`.")
    def nodes(self) -> list[WebhookDelivery]:
        return [e.node for e in self.edges]


@strawberry.type(description="An endpoint and its signing secret, shown this once.")
class WebhookSecretPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The Standard Webhooks signing secret (whsec_...). Store it now: it is "
        "never shown again.",
    )
    user_errors: list[UserError]


@strawberry.type
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = None
    user_errors: list[UserError]


@strawberry.type
class ReplayWebhookDeliveryPayload:
    webhook_delivery: WebhookDelivery | None = None
    user_errors: list[UserError]


@strawberry.type
class ReplayWebhookEndpointPayload:
    replayed: int | None = strawberry.field(default=None, description="Deliveries resent.")
    user_errors: list[UserError]


def _config(info: strawberry.Info) -> Config:
    """The app's webhook settings (the key that seals secrets among them), made once."""
    state = info.context.request.app.state
    if getattr(state, "webhook_config", None) is None:
        state.webhook_config = background.config_of(state.settings)
    return state.webhook_config


def _data(input: Any) -> dict[str, Any]:
    """The input's fields given; the filter stays the typed input the plain form reads."""
    data = provided(input)
    if "filter" in data:
        data["filter"] = input.filter
    return data


def _with_secret(result: Any) -> dict[str, Any]:
    row, secret = result
    return {"webhook_endpoint": endpoint_of(row), "secret": secret}


def _endpoint_pk(global_id: str, field: str) -> Any:
    return global_ids.decode(global_id, endpoints.TYPE_NAME, field=field)


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The workspace's webhook endpoints, with their health.")
    async def webhook_endpoints(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> WebhookEndpointConnection:
        rows, more = await endpoints.page(info.context.session, first, after)
        return forward_connection(
            WebhookEndpointConnection,
            WebhookEndpointEdge,
            rows,
            more,
            after,
            lambda r: listing.cursor_of("webhookEndpoints", r),
            endpoint_of,
        )

    @strawberry.field(description="One endpoint; NOT_FOUND if there is none with this id.")
    async def webhook_endpoint(self, info: strawberry.Info, id: strawberry.ID) -> WebhookEndpoint:
        pk = _endpoint_pk(id, "id")
        return endpoint_of(await fetch_by_id(info, pk, endpoints.get, endpoints.not_found))

    @strawberry.field(description="An endpoint's deliveries, newest change first.")
    async def webhook_deliveries(
        self,
        info: strawberry.Info,
        endpoint_id: strawberry.ID,
        filter: WebhookDeliveryFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> WebhookDeliveryConnection:
        session = info.context.session
        rows, more = await deliveries.page(
            session, _endpoint_pk(endpoint_id, "endpointId"), list_filter(filter), first, after
        )
        tries = await deliveries.attempts(session, [r["id"] for r in rows])
        return forward_connection(
            WebhookDeliveryConnection,
            WebhookDeliveryEdge,
            rows,
            more,
            after,
            lambda r: listing.cursor_of("webhookDeliveries", r, "occurred_at"),
            lambda r: delivery_of(r, tries[r["id"]]),
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Make an endpoint. The signing secret is in the payload, this once; "
        "payloads show records as you may read them."
    )
    async def create_webhook_endpoint(
        self, info: strawberry.Info, input: CreateWebhookEndpointInput
    ) -> WebhookSecretPayload:
        config = _config(info)

        async def action(session):
            return await endpoints.create(session, _data(input), config.box, config.allowed_hosts)

        return await run_mutation(info, WebhookSecretPayload, action, _with_secret)

    @strawberry.mutation(description="Change, disable or enable an endpoint.")
    async def update_webhook_endpoint(
        self, info: strawberry.Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        config = _config(info)
        return await update_mutation(
            info,
            WebhookEndpointPayload,
            endpoints.TYPE_NAME,
            input,
            lambda s, pk, data: endpoints.update(s, pk, data, config.allowed_hosts),
            lambda r: {"webhook_endpoint": endpoint_of(r)},
            data=_data,
        )

    @strawberry.mutation(description="Delete an endpoint with its deliveries.")
    async def delete_webhook_endpoint(
        self, info: strawberry.Info, input: WebhookEndpointIdInput
    ) -> DeletePayload:
        return await delete_by_id(info, endpoints.TYPE_NAME, input.id, endpoints.delete)

    @strawberry.mutation(
        description="A new signing secret, in the payload this once. The old one keeps "
        "signing beside it for 24 hours (both signatures are sent), so receivers can switch."
    )
    async def rotate_webhook_secret(
        self, info: strawberry.Info, input: WebhookEndpointIdInput
    ) -> WebhookSecretPayload:
        config = _config(info)

        async def action(session):
            pk = _endpoint_pk(input.id, "input.id")
            return await endpoints.rotate_secret(session, pk, config.box, config.secret_overlap)

        return await run_mutation(info, WebhookSecretPayload, action, _with_secret)

    @strawberry.mutation(
        description="Send a delivery again now, with its webhook-id (receivers dedupe on it)."
    )
    async def replay_webhook_delivery(
        self, info: strawberry.Info, input: ReplayWebhookDeliveryInput
    ) -> ReplayWebhookDeliveryPayload:
        async def action(session):
            pk = global_ids.decode(input.id, deliveries.TYPE_NAME, field="input.id")
            row = await deliveries.replay(session, pk)
            return row, (await deliveries.attempts(session, [pk]))[pk]

        return await run_mutation(
            info,
            ReplayWebhookDeliveryPayload,
            action,
            lambda r: {"webhook_delivery": delivery_of(*r)},
        )

    @strawberry.mutation(
        description="Send again every delivery of an endpoint since a time (at most 10,000)."
    )
    async def replay_webhook_endpoint(
        self, info: strawberry.Info, input: ReplayWebhookEndpointInput
    ) -> ReplayWebhookEndpointPayload:
        async def action(session):
            pk = _endpoint_pk(input.endpoint_id, "input.endpointId")
            return await deliveries.replay_endpoint(session, pk, input.from_)

        return await run_mutation(
            info, ReplayWebhookEndpointPayload, action, lambda n: {"replayed": n}
        )
