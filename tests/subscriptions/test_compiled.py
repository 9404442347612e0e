"""Compiled subscriptions deliver exactly what the resolvers deliver (data and errors), for an
admin, a key without pii:read and a partner key with two scopes; the X-Relasi-Read-Path
header of the WebSocket's upgrade request chooses the path, as it does for queries."""

import contextlib
from collections.abc import Awaitable, Callable

import pytest
from httpx_ws import WebSocketDisconnect

from relasi.auth.api_keys import create_api_key
from tests.compiler.conftest import PARTNER, READS_WITHOUT_PII
from tests.segments import helpers as segment_helpers
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

TIMELINE = """subscription($c: ID) {
  timelineEventAdded(contactId: $c) {
    __typename cursor
    node {
      __typename id occurredAt kind
      contact { fullName email } account { name }
      ... on InteractionEvent {
        channel interactionKind journeyStage summary interaction { id sentiment }
      }
      ... on DealStageChangedEvent {
        deal { name amount { amount currency } }
        fromPipelineStage { name } toPipelineStage { name probability }
        changedBy { apiKeyName member { name } }
      }
      ... on CaseOpenedEvent { case { subject status } }
      ... on CaseStatusChangedEvent { fromStatus toStatus case { subject } }
      ... on JourneyStageChangedEvent { fromStage toStage regression interaction { channel } }
      ... on NoteEvent { body author { apiKeyName } deal { name } case { subject } }
    }
  }
}"""

DEALS = """subscription($p: ID) {
  moved: dealStageChanged(pipelineId: $p) {
    __typename id occurredAt kind
    deal { id name amount { amount currency } contacts(first: 3) { nodes { fullName email } } }
    fromPipelineStage { name } toPipelineStage { name probability }
    changedBy { apiKeyName }
  }
}"""

JOURNEYS = """subscription($c: ID) {
  journeyStageChanged(contactId: $c) {
    id kind fromStage toStage regression occurredAt
    contact { fullName email journeyStage } interaction { channel summary }
  }
}"""

SEGMENTS = """subscription($s: ID!) {
  segmentMembershipChanged(segmentId: $s) {
    __typename id change reason occurredAt
    contact { fullName email phones { number } }
    segment { __typename id name description kind version }
  }
}"""

Write = Callable[[], Awaitable[object]]
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


async def _delete_case(api, case: dict) -> None:
    deleted = "mutation($id: ID!) { deleteCase(input: {id: $id}) { userErrors { code } } }"
    await api.mutate(deleted, id=case["id"])


def _writes(live, subscription: str, ids: dict[str, str]) -> list[tuple[Write, int]]:
    """The writes whose events the test compares, one after the other, with how many events
    each sends to the subscription."""
    api, contact = live.api, ids["contact"]
    case: dict = {}

    async def create_case() -> None:
        case.update(await writes.create_case(api, contactId=contact, subject="Refund"))

    touch = {
        "contactId": contact,
        "channel": "EMAIL",
        "kind": "EMAIL_OPEN",
        "summary": 'Ramadan \u00e9t\u00e9 \U0001f319 "sale"',
        "sentiment": "0.75",
        "journeyStage": "CONSIDERATION",
        "properties": {"n": 1.5, "tags": ["a", "b"]},
        "utm": {"source": "newsletter", "campaign": "ramadan"},
    }
    track_touch = """mutation($i: TrackInteractionInput!) { trackInteraction(input: $i) {
             interaction { id } userErrors { code } } }"""
    deal: dict = {}

    async def create_deal() -> None:
        deal["id"] = await writes.deal(
            api,
            "Ramadan bundle",
            contacts=[{"contactId": contact}],
            amount={"amount": "1500", "currency": "IDR"},
        )

    async def move(stage: str) -> None:
        await writes.move_deal(api, deal["id"], ids[stage])

    if subscription == "cases":
        return [
            (create_case, 1),
            (lambda: writes.update_case(api, case, status="OPEN", priority="HIGH"), 1),
            (lambda: _delete_case(api, case), 1),
        ]
    if subscription == "timeline":
        return [
            (lambda: writes.track(api, contactId=contact, channel="WHATSAPP", kind="MESSAGE"), 1),
            (lambda: api(track_touch, i=touch), 2),  # the touch, and the journey move
            (create_deal, 1),  # created in its first stage
            (lambda: move("Proposal"), 1),
            (create_case, 1),
            (lambda: writes.update_case(api, case, status="OPEN"), 1),
            (lambda: writes.note(api, "Call back after Lebaran", contactId=contact), 1),
            (lambda: writes.note(api, "Wants the bundle", dealId=deal["id"]), 1),
        ]
    if subscription == "deals":
        return [(create_deal, 1), (lambda: move("Proposal"), 1), (lambda: move("Closed Won"), 1)]
    if subscription == "journeys":
        regress = {**touch, "summary": "churn signal", "journeyStage": "AWARENESS"}
        return [
            (lambda: api(track_touch, i=touch), 1),
            (lambda: api(track_touch, i={**regress, "regression": True}), 1),
        ]
    if subscription == "segments":
        leave = "removeFromSegment"
        return [
            (lambda: writes.track(api, contactId=contact, channel="CHAT", kind="MESSAGE"), 1),
            (lambda: segment_helpers.add(api, ids["segment"], [contact], leave), 1),
        ]
    return [
        (lambda: writes.track(api, contactId=contact, channel="WHATSAPP", kind="MESSAGE"), 1),
        (lambda: api(track_touch, i=touch), 1),
    ]


QUERIES = {
    "interactions": INTERACTIONS,
    "partner": PARTNER_TOUCHES,
    "cases": CASES,
    "timeline": TIMELINE,
    "deals": DEALS,
    "journeys": JOURNEYS,
    "segments": SEGMENTS,
}
# subscribers answered compiled; the others lack a scope the selection needs, and the
# resolvers report it (as they do for a query)
COMPILED = {"interactions": 2, "partner": 3}
# the partner key may not subscribe to these at all: refused alike on both paths
REFUSED_TO_PARTNER = {"cases", "timeline", "deals", "journeys", "segments"}


@pytest.mark.parametrize("subscription", list(QUERIES))
async def test_both_paths_deliver_the_same_payloads(live, database, subscription, caplog):
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
    ids = {"contact": sari, **(await writes.stages(live.api))}
    chatty = await segment_helpers.create_segment(
        live.api, "Chatty", {"touchpoints": {"atLeast": 1}}, description="Talks to us"
    )
    ids["segment"] = chatty["id"]
    variables = {"a": acme, "c": sari, "p": ids["pipeline"], "s": chatty["id"]}
    keys = await _keys(database, live)
    query = QUERIES[subscription]
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    async with _sockets(live, keys) as sockets:
        ops = {where: await sock.subscribe(query, **used) for where, sock in sockets.items()}
        if subscription in REFUSED_TO_PARTNER:
            refusals = [await sockets[("partner", p)].errors(ops[("partner", p)]) for p in PATHS]
            assert refusals[0] == refusals[1]
            assert refusals[0][0]["extensions"]["code"] == "FORBIDDEN"
            del keys["partner"]
        await live.listening(len(keys) * 2)
        assert _compiled_subscribers(live) == COMPILED.get(subscription, 2)
        # each write's events are compared before the next write: nested fields show the
        # records as they are when an event is sent, on both paths
        for write, events in _writes(live, subscription, ids):
            await write()
            for caller in keys:
                for _ in range(events):
                    resolved = await sockets[(caller, "resolvers")].next()
                    compiled = await sockets[(caller, "compiled")].next()
                    assert compiled == resolved, caller
                    if caller == "partner" and subscription != "partner":
                        assert resolved["errors"][0]["extensions"]["code"] == "FORBIDDEN"
                    else:
                        assert "errors" not in resolved, resolved
                    _masked_alike(caller, resolved["data"])
        for sock in sockets.values():
            await sock.nothing(0.3)
    # every compiled payload was built by its statement (a failed one falls back to the
    # resolvers, which would hide it here)
    assert not [r for r in caplog.records if r.name == "relasi.notifier"], caplog.text


def _masked_alike(caller: str, data: dict) -> None:
    """Personal data is masked for a key without pii:read (the same way on both paths)."""
    (payload,) = data.values()
    node = payload.get("node", payload)
    contact = node.get("contact")
    if caller == "admin" or not contact or "email" not in contact:
        return
    assert "***" in contact["email"]
    assert contact["email"] != "sari.wijaya@example.com"


async def test_a_bad_read_path_is_refused(live):
    headers = {"X-Relasi-Read-Path": "fast"}
    async with live.socket(TRANSPORT_WS, headers=headers) as sock:
        await sock.send({"type": "connection_init", "payload": {"Authorization": live.api.key}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await sock.receive()
    assert closed.value.code == 4403
