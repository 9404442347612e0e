"""Subscriptions under the same rules as queries: every subscription field x every role's
scopes, over a real WebSocket. Refused ones end at once with FORBIDDEN; allowed ones deliver,
and nested fields outside the caller's scopes are refused field by field."""

import pytest

from relasi.auth.api_keys import create_api_key
from relasi.auth.permissions import ROOT_RULES
from relasi.auth.scopes import ROLE_SCOPES
from tests.conftest import Api
from tests.permissions.test_matrix import root_fields
from tests.subscriptions.conftest import Live

SUBSCRIPTIONS = {
    "interactionAdded": "subscription { interactionAdded { id } }",
    "timelineEventAdded": "subscription($c: ID) { timelineEventAdded(contactId: $c) { cursor } }",
    "dealStageChanged": "subscription { dealStageChanged { id } }",
    "caseUpdated": "subscription { caseUpdated { id } }",
    "journeyStageChanged": "subscription { journeyStageChanged { id } }",
    "segmentMembershipChanged": "subscription($s: ID!) { segmentMembershipChanged(segmentId: $s) { __typename } }",
}


def test_every_subscription_is_in_this_matrix():
    assert sorted(SUBSCRIPTIONS) == root_fields("Subscription")


@pytest.mark.parametrize("role", list(ROLE_SCOPES))
async def test_subscriptions_by_role(role, live_app, api, database):
    scopes = ROLE_SCOPES[role]
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, role.value, sorted(scopes))
    contact = await api.mutate(
        'mutation { createContact(input: {firstName: "Ani"}) { contact { id } userErrors { code } } }'
    )
    live = Live(live_app, Api(api.client, api.workspace_id, key))
    async with live.subscribed() as sock:
        for name, document in SUBSCRIPTIONS.items():
            rule = ROOT_RULES[f"Subscription.{name}"]
            allowed = "admin" in scopes or rule in scopes
            if name == "segmentMembershipChanged":
                # no such segment: refused either way, but only without scope as FORBIDDEN
                op = await sock.subscribe(document, s=contact["contact"]["id"])
                code = (await sock.errors(op))[0]["extensions"]["code"]
                assert (code == "FORBIDDEN") is not allowed, (role, code)
                continue
            op = await sock.subscribe(document, c=contact["contact"]["id"])
            if allowed:
                await sock.nothing(0.2)  # accepted and waiting for events
                await sock.stop(op)
            else:
                errors = await sock.errors(op)
                assert errors[0]["extensions"]["code"] == "FORBIDDEN", (role, name, errors)


async def test_nested_fields_of_events_follow_the_callers_scopes(live_app, api, database):
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "feed", ["interactions:read"])
    contact = await api.mutate(
        'mutation { createContact(input: {firstName: "Budi", emails: [{address: "b@example.com"}]})'
        " { contact { id } userErrors { code } } }"
    )
    live = Live(live_app, Api(api.client, api.workspace_id, key))
    async with live.subscribed() as sock:
        op = await sock.subscribe(
            "subscription { interactionAdded { channel contact { firstName } } }"
        )
        await live.listening()
        await api.mutate(
            "mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: SMS, kind: MESSAGE})"
            " { userErrors { code } } }",
            c=contact["contact"]["id"],
        )
        payload = await sock.next(op)
        assert payload["data"]["interactionAdded"] == {"channel": "SMS", "contact": None}
        assert payload["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert payload["errors"][0]["path"] == ["interactionAdded", "contact"]


async def test_a_revoked_key_receives_no_more_events(live_app, api, database, monkeypatch):
    from relasi.auth import still_valid
    from relasi.auth.api_keys import revoke_api_key

    monkeypatch.setattr(still_valid, "RECHECK_SECONDS", 0)  # no cached answer in this test
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "feed", ["interactions:read"])
    contact = await api.mutate(
        'mutation { createContact(input: {firstName: "Citra"}) { contact { id } userErrors { code } } }'
    )
    track = (
        "mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: WEB, kind: PAGE_VIEW})"
        " { userErrors { code } } }"
    )
    live = Live(live_app, Api(api.client, api.workspace_id, key))
    async with live.subscribed() as sock:
        op = await sock.subscribe("subscription { interactionAdded { channel } }")
        await live.listening()
        await api.mutate(track, c=contact["contact"]["id"])
        assert (await sock.data(op))["interactionAdded"] == {"channel": "WEB"}
        async with database.pool.acquire() as conn:
            assert await revoke_api_key(conn, key.split("_")[1])
        await api.mutate(track, c=contact["contact"]["id"])
        errors = await sock.errors(op)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
