"""Compiled subscriptions deliver exactly what the resolvers deliver (data and errors), for an
admin, a key without pii:read and a partner key with two scopes; the X-Relasi-Read-Path
header of the WebSocket's upgrade request chooses the path, as it does for queries."""

import contextlib

import pytest
from httpx_ws import WebSocketDisconnect

from relasi.auth.api_keys import create_api_key
from tests.compiler.conftest import PARTNER, READS_WITHOUT_PII
from tests.subscriptions import writes
from tests.subscriptions.conftest import URL
from tests.subscriptions.wsclient import TRANSPORT_WS, asgi_client, connect

INTERACTIONS = """subscription($a: ID) {
  touch: interactionAdded(accountId: $a) {
    __typename id occurredAt channel kind summary sentiment journeyStage properties
    utm { source campaign }
    contact {
      id fullName email emails { address primary } phone phones { number primary }
      account { name annualRevenue { amount currency } }
      interactions(first: 2) { totalCount edges { cursor node { id channel } } }
    }
    account { id name }
  }
}"""

# what the partner key (contacts:read, interactions:read) may read all of
PARTNER_TOUCHES = """subscription {
  interactionAdded { id channel summary contact { fullName email phone emails { address } } }
}"""

CASES = """subscription($a: ID) {
  caseUpdated(accountId: $a) {
    id subject status priority deletedAt createdAt
    contact { fullName email phones { number } }
    account { name }
  }
}"""

PATHS = ("resolvers", "compiled")
CALLERS = {"admin": None, "no_pii": READS_WITHOUT_PII, "partner": PARTNER}


@contextlib.asynccontextmanager
async def _sockets(live, keys: dict[str, str]):
    """Per caller, a socket on each read path, past connection_init with that caller's key."""
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(asgi_client(live.app))
        found = {}
        for caller, key in keys.items():
            for path in PATHS:
                sock = await stack.enter_async_context(
                    connect(URL, client, headers={"X-Relasi-Read-Path": path})
                )
                ack = await sock.init(key)
                assert ack["type"] == "connection_ack", ack
                found[(caller, path)] = sock
        yield found


async def _keys(database, live) -> dict[str, str]:
    keys = {"admin": live.api.key}
    async with database.pool.acquire() as conn:
        for caller, scopes in CALLERS.items():
            if scopes is not None:
                _, keys[caller] = await create_api_key(conn, live.api.workspace_id, caller, scopes)
    return keys


def _compiled_subscribers(live) -> int:
    groups = live.app.state.notifier._subscribers.values()
    return len({s for group in groups for s in group if s.payloads is not None})


def _writes(live, subscription: str, contact: str) -> list:
    """The writes whose events the test compares, one after the other."""
    api = live.api
    if subscription != "cases":
        return [
            lambda: writes.track(api, contactId=contact, channel="WHATSAPP", kind="MESSAGE"),
            lambda: api(
                """mutation($i: TrackInteractionInput!) { trackInteraction(input: $i) {
                     interaction { id } userErrors { code } } }""",
                i={
                    "contactId": contact,
                    "channel": "EMAIL",
                    "kind": "EMAIL_OPEN",
                    "summary": 'Ramadan \u00e9t\u00e9 \U0001f319 "sale"',
                    "sentiment": "0.75",
                    "journeyStage": "CONSIDERATION",
                    "properties": {"n": 1.5, "tags": ["a", "b"]},
                    "utm": {"source": "newsletter", "campaign": "ramadan"},
                },
            ),
        ]
    case: dict = {}

    async def create() -> None:
        case.update(await writes.create_case(api, contactId=contact, subject="Refund"))

    async def delete() -> None:
        deleted = "mutation($id: ID!) { deleteCase(input: {id: $id}) { userErrors { code } } }"
        await api.mutate(deleted, id=case["id"])

    return [
        create,
        lambda: writes.update_case(api, case, status="OPEN", priority="HIGH"),
        delete,
    ]


QUERIES = {"interactions": INTERACTIONS, "partner": PARTNER_TOUCHES, "cases": CASES}
# subscribers answered compiled; the others lack a scope the selection needs, and the
# resolvers report it (as they do for a query)
COMPILED = {"interactions": 2, "partner": 3, "cases": 2}


@pytest.mark.parametrize("subscription", list(QUERIES))
async def test_both_paths_deliver_the_same_payloads(live, database, subscription):
    acme = await writes.account(live.api, "Acme")
    await live.api.mutate(
        """mutation($a: ID!) { updateAccount(input: {id: $a, version: 1,
             annualRevenue: {amount: "1250000.5", currency: "IDR"}}) { userErrors { code } } }""",
        a=acme,
    )
    sari = (
        await live.api.mutate(
            """mutation($a: ID) { createContact(input: {firstName: "Sari", lastName: "Wijaya",
                 accountId: $a, emails: [{address: "sari.wijaya@example.com"}],
                 phones: [{number: "+6281234567890"}]}) { contact { id } userErrors { code } } }""",
            a=acme,
        )
    )["contact"]["id"]
    keys = await _keys(database, live)
    query = QUERIES[subscription]
    async with _sockets(live, keys) as sockets:
        ops = {where: await sock.subscribe(query, a=acme) for where, sock in sockets.items()}
        if subscription == "cases":  # the partner may not read cases: refused alike
            refusals = [await sockets[("partner", p)].errors(ops[("partner", p)]) for p in PATHS]
            assert refusals[0] == refusals[1]
            assert refusals[0][0]["extensions"]["code"] == "FORBIDDEN"
            del keys["partner"]
        await live.listening(len(keys) * 2)
        assert _compiled_subscribers(live) == COMPILED[subscription]
        # each write's events are compared before the next write: nested fields show the
        # records as they are when an event is sent, on both paths
        for write in _writes(live, subscription, sari):
            await write()
            for caller in keys:
                resolved = await sockets[(caller, "resolvers")].next()
                compiled = await sockets[(caller, "compiled")].next()
                assert compiled == resolved, caller
                if caller == "partner" and subscription != "partner":
                    assert resolved["errors"][0]["extensions"]["code"] == "FORBIDDEN"
                else:
                    assert "errors" not in resolved, resolved
                if caller != "admin" and subscription != "cases":  # personal data masked alike
                    contact = next(iter(resolved["data"].values()))["contact"]
                    assert "***" in contact["email"]
                    assert contact["email"] != "sari.wijaya@example.com"
        for sock in sockets.values():
            await sock.nothing(0.3)


async def test_a_bad_read_path_is_refused(live):
    headers = {"X-Relasi-Read-Path": "fast"}
    async with live.socket(TRANSPORT_WS, headers=headers) as sock:
        await sock.send({"type": "connection_init", "payload": {"Authorization": live.api.key}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4403
