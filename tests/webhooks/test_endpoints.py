"""Endpoints through the API: the secret shown once, health, updates, deletes, isolation, and
refused input (unsafe URLs, hostile sizes)."""

import pytest

from tests.conftest import new_api
from tests.webhooks.conftest import CREATE, ERRORS, endpoint

GET = """query($id: ID!) { webhookEndpoint(id: $id) {
  id url description eventTypes enabled version previousSecretExpiresAt
  health { lastSuccessAt lastFailureAt failureStreak disabledReason } } }"""
LIST = (
    "query($after: String) { webhookEndpoints(first: 2, after: $after) { "
    "nodes { id url } pageInfo { hasNextPage endCursor } } }"
)
UPDATE = (
    """mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) {
  webhookEndpoint { id url description eventTypes enabled version
                    health { disabledReason failureStreak } } """
    + ERRORS
    + " } }"
)
DELETE = (
    "mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { deletedId " + ERRORS + " } }"
)


async def _refused(api, **fields) -> list[dict]:
    data = await api(CREATE, i={"url": "http://127.0.0.1:9/hooks", **fields})
    payload = data["createWebhookEndpoint"]
    assert payload["webhookEndpoint"] is None and payload["secret"] is None
    return payload["userErrors"]


async def test_create_shows_the_secret_once_then_lists_reads_updates_and_deletes(wapi, receiver):
    ep = await endpoint(wapi, receiver, description="CRM sync", eventTypes=["deal.created"])
    assert ep["secret"].startswith("whsec_") and ep["enabled"] and ep["version"] == 1
    assert ep["eventTypes"] == ["deal.created"] and ep["filter"] == {}
    assert ep["health"] == {
        "lastSuccessAt": None,
        "lastFailureAt": None,
        "failureStreak": 0,
        "disabledReason": None,
    }
    read = (await wapi(GET, id=ep["id"]))["webhookEndpoint"]
    assert read["url"] == ep["url"] and read["description"] == "CRM sync"
    assert "secret" not in str(read).lower().replace("previoussecretexpiresat", "")

    second = await endpoint(wapi, receiver)
    third = await endpoint(wapi, receiver)
    first_page = (await wapi(LIST))["webhookEndpoints"]
    assert [n["id"] for n in first_page["nodes"]] == [ep["id"], second["id"]]
    assert first_page["pageInfo"]["hasNextPage"]
    rest = (await wapi(LIST, after=first_page["pageInfo"]["endCursor"]))["webhookEndpoints"]
    assert [n["id"] for n in rest["nodes"]] == [third["id"]]

    updated = await wapi.mutate(UPDATE, i={"id": ep["id"], "version": 1, "eventTypes": []})
    assert (
        updated["webhookEndpoint"]["eventTypes"] == []
        and updated["webhookEndpoint"]["version"] == 2
    )
    stale = await wapi(UPDATE, i={"id": ep["id"], "version": 1, "description": "x"})
    assert stale["updateWebhookEndpoint"]["userErrors"][0]["code"] == "CONFLICT"
    assert stale["updateWebhookEndpoint"]["userErrors"][0]["field"] == ["input", "version"]

    off = (await wapi.mutate(UPDATE, i={"id": ep["id"], "enabled": False}))["webhookEndpoint"]
    assert not off["enabled"] and off["health"]["disabledReason"] == "Disabled by a user."
    on = (await wapi.mutate(UPDATE, i={"id": ep["id"], "enabled": True}))["webhookEndpoint"]
    assert on["enabled"] and on["health"]["disabledReason"] is None

    assert (await wapi.mutate(DELETE, id=ep["id"]))["deletedId"] == ep["id"]
    gone = await wapi.raw(GET, id=ep["id"])
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    again = (await wapi(DELETE, id=ep["id"]))["deleteWebhookEndpoint"]["userErrors"]
    assert again[0]["code"] == "NOT_FOUND" and again[0]["field"] == ["input", "id"]


async def test_another_workspace_cannot_see_or_touch_an_endpoint(
    wapi, receiver, database, hooks_client
):
    ep = await endpoint(wapi, receiver)
    other = await new_api(database, hooks_client, "Other")
    assert (await other.raw(GET, id=ep["id"]))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await other(LIST))["webhookEndpoints"]["nodes"] == []
    refused = (await other(UPDATE, i={"id": ep["id"], "enabled": False}))["updateWebhookEndpoint"]
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await other(DELETE, id=ep["id"]))["deleteWebhookEndpoint"]["userErrors"]
    assert (await wapi(GET, id=ep["id"]))["webhookEndpoint"]["enabled"]


async def test_scopes_webhooks_read_and_write(wapi):
    made = await wapi.mutate(
        'mutation { createApiKey(input: {name: "crm", scopes: ["contacts:read"]}) '
        "{ secret " + ERRORS + " } }"
    )
    reader = type(wapi)(wapi.client, wapi.workspace_id, made["secret"])
    listed = await reader.raw("{ webhookEndpoints { nodes { id } } }")
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    created = await reader.raw(CREATE, i={"url": "https://example.com/x"})
    assert created["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://example.com/hooks", "https"),
        ("ftp://example.com/hooks", "https"),
        ("not a url", "https"),
        ("https://127.0.0.2/hooks", "loopback"),
        ("https://localhost/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://172.16.5.4/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://100.64.0.1/hooks", "carrier-grade NAT"),
        ("https://224.0.0.1/hooks", "multicast"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("https://[::ffff:10.0.0.1]/hooks", "private"),
        ("https://[fe80::1]/hooks", "link-local"),
        ("https://[fd00::1]/hooks", "private"),
        ("https://user:pw@example.com/hooks", "credentials"),
        ("https://example.com:99999/hooks", "not a valid URL"),
        ("https://no-such-host.invalid/hooks", "does not resolve"),
    ],
)
async def test_unsafe_urls_are_refused_at_input_url(wapi, url, says):
    (error,) = await _refused(wapi, url=url)
    assert error["field"] == ["input", "url"] and error["code"] == "BAD_USER_INPUT"
    assert says in error["message"], error["message"]


async def test_hostile_input_is_refused_with_its_path(wapi):
    errors = await _refused(wapi, url="https://127.0.0.2/" + "a" * 5000, description="d" * 100_000)
    assert {tuple(e["field"]) for e in errors} == {("input", "url"), ("input", "description")}
    errors = await _refused(wapi, url="http://127.0.0.1:9/x", eventTypes=["deal.created"] * 10_000)
    assert [e["field"] for e in errors] == [["input", "eventTypes"]]
    errors = await _refused(wapi, eventTypes=["deal.created", "deal.exploded", "x" * 10_000])
    assert [e["field"] for e in errors] == [
        ["input", "eventTypes", "1"],
        ["input", "eventTypes", "2"],
    ]
    assert len(errors[1]["message"]) < 200
    errors = await _refused(wapi, description="nul\x00")
    assert errors[0]["field"] == ["input", "description"]
