"""Webhooks compiled (beside the webhook fixtures; the differential helpers are the compiler
tests'): endpoints (health, a rotated secret's expiry, a disabled one's reason and code),
one endpoint by id, and an endpoint's deliveries (filters, pages, attempts, the body as sent) —
the same JSON on both paths, and the resolvers' errors."""

import asyncio

import pytest

from relasi.auth.api_keys import create_api_key
from tests.compiler.test_differential import _compare
from tests.conftest import Api
from tests.webhooks.conftest import endpoint
from tests.webhooks.writes import every_event_type

ENDPOINT = """__typename id url description eventTypes filter enabled previousSecretExpiresAt
  createdAt updatedAt version health { __typename lastSuccessAt lastFailureAt failureStreak disabledReason
  disabledCode }"""
ENDPOINTS = f"""query($first: Int, $after: String) {{
  webhookEndpoints(first: $first, after: $after) {{ __typename
    edges {{ __typename cursor node {{ {ENDPOINT} }} }} nodes {{ id }}
    pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }} }} }}"""
ONE = f"query($id: ID!) {{ webhookEndpoint(id: $id) {{ {ENDPOINT} }} }}"
DELIVERIES = """query($e: ID!, $f: WebhookDeliveryFilter, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $e, filter: $f, first: $first, after: $after) {
    edges { cursor node { __typename id webhookId eventType recordId occurredAt status
      nextAttemptAt deliveredAt payload
      attempts { __typename attemptedAt statusCode durationMs responseExcerpt error } } }
    nodes { id status }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
UPDATE = """mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) {
  webhookEndpoint { id } userErrors { field message code } } }"""
ROTATE = """mutation($i: WebhookEndpointIdInput!) { rotateWebhookSecret(input: $i) {
  secret userErrors { field message code } } }"""


async def _delivered(api, endpoint_id, count):
    for _ in range(300):
        body = await api(DELIVERIES, e=endpoint_id, first=100)
        nodes = body["webhookDeliveries"]["nodes"]
        if len(nodes) >= count and all(n["status"] == "DELIVERED" for n in nodes):
            return nodes
        await asyncio.sleep(0.1)
    raise AssertionError("deliveries did not arrive")


async def test_endpoints_and_deliveries_answer_the_same_on_both_paths(
    wapi, receiver, run_worker, database
):
    first = await endpoint(wapi, receiver, description="CRM mirror")
    second = await endpoint(wapi, receiver, eventTypes=["deal.created", "contact.created"])
    third = await endpoint(wapi, receiver)
    await wapi.mutate(UPDATE, i={"id": third["id"], "enabled": False})
    await wapi.mutate(ROTATE, i={"id": second["id"]})
    await every_event_type(wapi)
    await _delivered(wapi, first["id"], 20)
    async with database.pool.acquire() as conn:
        _, reader = await create_api_key(conn, wapi.workspace_id, "reader", ["webhooks:read"])
        _, other = await create_api_key(conn, wapi.workspace_id, "other", ["contacts:read"])
    for api in (wapi, Api(wapi.client, wapi.workspace_id, reader)):
        body = await _compare(api, ENDPOINTS, {"first": 2}, compiled=True)
        after = body["data"]["webhookEndpoints"]["pageInfo"]["endCursor"]
        await _compare(api, ENDPOINTS, {"first": 2, "after": after}, compiled=True)
        await _compare(api, ENDPOINTS, {"first": 0}, compiled=True)
        for ep in (first, second, third):
            await _compare(api, ONE, {"id": ep["id"]}, compiled=True)
        after = None
        for _ in range(3):
            page = await _compare(
                api, DELIVERIES, {"e": first["id"], "first": 7, "after": after}, compiled=True
            )
            after = page["data"]["webhookDeliveries"]["pageInfo"]["endCursor"]
        for flt in ({"status": "DELIVERED"}, {"eventType": "deal.created"}, {"status": "FAILED"}):
            await _compare(api, DELIVERIES, {"e": first["id"], "f": flt}, compiled=True)
        window = {"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}
        await _compare(api, DELIVERIES, {"e": first["id"], "f": window}, compiled=True)
    body = await _compare(wapi, ENDPOINTS, {"first": 10})
    nodes = [e["node"] for e in body["data"]["webhookEndpoints"]["edges"]]
    assert [n["enabled"] for n in nodes] == [True, True, False]
    assert nodes[1]["previousSecretExpiresAt"] and nodes[2]["health"]["disabledReason"]
    assert [n["health"]["disabledCode"] for n in nodes] == [None, None, "BY_USER"]
    body = await _compare(wapi, DELIVERIES, {"e": first["id"], "first": 100})
    delivery = body["data"]["webhookDeliveries"]["edges"][0]["node"]
    assert delivery["attempts"][0]["statusCode"] == 200 and delivery["payload"]["data"]
    refused = Api(wapi.client, wapi.workspace_id, other)
    body = await _compare(refused, ENDPOINTS, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "query, variables, code",
    [
        (
            ONE,
            {"id": "V2ViaG9va0VuZHBvaW50OjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"},
            "NOT_FOUND",
        ),
        (ONE, {"id": "nonsense"}, "BAD_USER_INPUT"),
        (
            DELIVERIES,
            {"e": "V2ViaG9va0VuZHBvaW50OjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"},
            "NOT_FOUND",
        ),
        (ENDPOINTS, {"first": 101}, "BAD_USER_INPUT"),
        (ENDPOINTS, {"after": "bm9wZQ"}, "BAD_USER_INPUT"),
    ],
)
async def test_webhook_errors_are_the_resolvers_errors(wapi, query, variables, code):
    body = await _compare(wapi, query, variables, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == code


async def test_a_bad_delivery_filter_is_the_resolvers_error(wapi, receiver):
    ep = await endpoint(wapi, receiver)
    body = await _compare(
        wapi, DELIVERIES, {"e": ep["id"], "f": {"eventType": "nope"}}, compiled=False
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
