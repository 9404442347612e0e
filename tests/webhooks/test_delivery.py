"""Deliveries reach a real receiver, signed, once per change, in order, with retries."""

import json

from relasi.db import use_workspace
from relasi.resolvers import global_ids
from relasi.resolvers.changes import EVENT_TYPES
from relasi.resolvers.webhooks import background
from relasi.resolvers.webhooks.delivery import JITTER, SCHEDULE
from relasi.settings import Settings
from tests.changes.helpers import read_all
from tests.conftest import new_api
from tests.job_workers import job_worker
from tests.webhooks.conftest import ERRORS, SETTINGS, endpoint
from tests.webhooks.receiver import Receiver
from tests.webhooks.waiting import deliveries, settled, until
from tests.webhooks.writes import every_event_type, mutate

ENDPOINT = """query($id: ID!) { webhookEndpoint(id: $id) {
  enabled health { lastSuccessAt lastFailureAt failureStreak disabledReason disabledCode } } }"""


async def _contact(api, name="Sari"):
    payload = await mutate(api, "createContact", {"firstName": name}, "contact { id }")
    return payload["contact"]["id"]


async def test_every_event_type_arrives_once_signed_with_its_changes(wapi, receiver, run_worker):
    ep = await endpoint(wapi, receiver)
    await every_event_type(wapi)
    events, _ = await read_all(wapi)
    await receiver.wait_for(ep["name"], len(events))
    listed = await settled(wapi, ep["id"], len(events))  # all sent: nothing more comes
    arrived = receiver.accepted(ep["name"])
    assert len(arrived) == len(events) == len({a.headers["webhook-id"] for a in arrived})
    # task.overdue is raised by background work (delivered in tests/tasks/test_webhooks.py)
    assert {e["type"] for e in events} == set(EVENT_TYPES) - {"task.overdue"}

    # records arrive in parallel (each record's changes in order): compare as sets
    def key(type_, record_id, sequence, changes):
        return (type_, record_id, sequence, json.dumps(changes, sort_keys=True))

    assert sorted(
        key(
            a.payload["type"],
            a.payload["data"]["recordId"],
            a.payload["data"]["sequence"],
            a.payload["data"]["changes"],
        )
        for a in arrived
    ) == sorted(key(e["type"], e["recordId"], e["sequence"], e["changes"]) for e in events)
    assert all(a.payload["timestamp"].endswith("Z") for a in arrived)
    assert all(a.headers["webhook-signature"].startswith("v1,") for a in arrived)
    by_type = {}
    for a in sorted(arrived, key=lambda a: int(a.payload["data"]["sequence"])):
        by_type.setdefault(a.payload["type"], a.payload["data"])
    assert by_type["contact.updated"]["changes"] == {
        "lastName": {"before": None, "after": "Wijaya"}
    }
    assert by_type["deal.created"]["changes"]["amount"] == {
        "before": None,
        "after": {"amount": "1500.50", "currency": "USD"},
    }
    # the object is the record as the API returns it now (admin: amounts and all)
    deal = by_type["deal.created"]["object"]
    assert deal["id"] == by_type["deal.created"]["recordId"]
    assert deal["amount"] == {"amount": "1500.50", "currency": "USD"} and deal["name"] == "Big"
    assert by_type["note.added"]["object"] is None  # notes are read on timelines
    assert all(d["status"] == "DELIVERED" for d in listed)
    assert all(d["attempts"][0]["statusCode"] == 200 and d["deliveredAt"] for d in listed)
    health = (await wapi(ENDPOINT, id=ep["id"]))["webhookEndpoint"]["health"]
    assert health["lastSuccessAt"] and health["failureStreak"] == 0


async def test_rolled_back_and_refused_writes_send_nothing(wapi, receiver, run_worker, database):
    ep = await endpoint(wapi, receiver)
    refused = await wapi(
        'mutation { createContact(input: {firstName: "X", emails: [{address: "nope"}]}) '
        "{ contact { id } " + ERRORS + " } }"
    )
    assert refused["createContact"]["userErrors"]
    # a write that rolls back (system work, as an import would do it) wakes nobody either
    async with database.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await use_workspace(conn, wapi.workspace_id)
        await conn.execute(
            "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, 'Ghost')",
            wapi.workspace_id,
        )
        await tx.rollback()
    cid = await _contact(wapi, "After")
    await receiver.wait_for(ep["name"], 1)
    # fanned out in commit order: had the refused or rolled-back writes left anything, it
    # would be listed before the later write's delivery
    (only,) = await settled(wapi, ep["id"], 1)
    assert only["recordId"] == cid
    assert [a.payload["data"]["recordId"] for a in receiver.of(ep["name"], False)] == [cid]


async def test_event_types_and_foreign_workspaces(
    wapi, receiver, run_worker, database, hooks_client
):
    only_deals = await endpoint(wapi, receiver, eventTypes=["deal.created"])
    everything = await endpoint(wapi, receiver)
    other = await new_api(database, hooks_client, "Foreign")
    theirs = await endpoint(other, receiver)
    await _contact(other, "Foreign")
    await mutate(other, "createDeal", {"name": "Foreign deal"})
    cid = await _contact(wapi, "Mine")
    deal = (await mutate(wapi, "createDeal", {"name": "Mine"}, "deal { id }"))["deal"]["id"]
    await receiver.wait_for(theirs["name"], 2)
    await receiver.wait_for(everything["name"], 2)
    await receiver.wait_for(only_deals["name"], 1)
    # each endpoint's last write has been fanned out, so all before it: these lists are final
    await settled(wapi, everything["id"], 2)
    await settled(wapi, only_deals["id"], 1)
    await settled(other, theirs["id"], 2)
    ids = lambda ep: [a.payload["data"]["recordId"] for a in receiver.of(ep["name"], False)]  # noqa: E731
    # each once; order is promised per record only (these are two records, sent concurrently)
    assert sorted(ids(everything)) == sorted([cid, deal])
    assert ids(only_deals) == [deal]
    assert cid not in ids(theirs) and deal not in ids(theirs) and len(ids(theirs)) == 2


# 1/2000 of the real delays: 2.5 ms, 0.15 s, 0.9 s, 3.6 s, 9 s, 18 s, ...
DOWN_SCALE = 0.0005


async def test_a_receiver_that_is_down_gets_it_after_retries(wapi, database):
    down = Receiver()
    down.start()
    down.stop()
    ep = await endpoint(wapi, down)
    settings = Settings(**{**SETTINGS, "webhook_retry_scale": DOWN_SCALE})
    async with job_worker(database, settings):
        cid = await _contact(wapi)

        async def failed_twice():
            found = await deliveries(wapi, ep["id"])
            return found[0] if found and len(found[0]["attempts"]) >= 2 else None

        pending = await until(failed_twice)
        assert pending["status"] in ("PENDING", "SENDING")  # SENDING: its next try is on
        assert all(a["statusCode"] is None and a["error"] for a in pending["attempts"])
        health = (await wapi(ENDPOINT, id=ep["id"]))["webhookEndpoint"]["health"]
        assert health["failureStreak"] >= 2 and health["lastFailureAt"]
        assert health["lastSuccessAt"] is None
        down.start()  # back, on the same port: the next retry gets through
        try:
            # however many tries failed by now, the next is due within its delay (+ jitter)
            tried = len((await deliveries(wapi, ep["id"]))[0]["attempts"])
            wait = SCHEDULE[tried - 1] * DOWN_SCALE * (1 + JITTER) + 60
            (arrival,) = await down.wait_for(ep["name"], 1, timeout=wait)
        finally:
            down.stop()
        (done,) = await settled(wapi, ep["id"], 1)
    assert arrival.payload["data"]["recordId"] == cid
    assert done["status"] == "DELIVERED" and done["attempts"][-1]["statusCode"] == 200
    assert done["webhookId"] == arrival.headers["webhook-id"]
    health = (await wapi(ENDPOINT, id=ep["id"]))["webhookEndpoint"]["health"]
    assert health["failureStreak"] == 0 and health["lastSuccessAt"]


async def test_410_gone_disables_the_endpoint(wapi, receiver, run_worker):
    ep = await endpoint(wapi, receiver)
    control = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    receiver.route(ep["name"], status=410)
    await _contact(wapi)

    async def disabled():
        found = (await wapi(ENDPOINT, id=ep["id"]))["webhookEndpoint"]
        return found if not found["enabled"] else None

    found = await until(disabled)
    assert "410" in found["health"]["disabledReason"]
    assert found["health"]["disabledCode"] == "GONE"
    (d,) = await deliveries(wapi, ep["id"])
    assert d["status"] == "FAILED" and d["attempts"][0]["statusCode"] == 410
    assert len(d["attempts"][0]["responseExcerpt"]) <= 4096  # the answer was 10 kB
    later = await _contact(wapi, "Later")
    # the control endpoint has the later contact: it was fanned out, and the disabled
    # endpoint collected nothing
    arrived = await receiver.wait_for(control["name"], 2)
    assert later in [a.payload["data"]["recordId"] for a in arrived]
    assert len(await deliveries(wapi, ep["id"])) == 1
    assert len(receiver.of(ep["name"], False)) == 1


async def test_retries_running_out_fail_the_delivery_and_disable_the_endpoint(
    wapi, receiver, run_worker, database
):
    ep = await endpoint(wapi, receiver)
    receiver.route(ep["name"], status=500)
    await _contact(wapi)
    await until(lambda: _first_attempt(wapi, ep["id"]))

    async def last_retry_due():
        # as if the schedule's ~3 days had passed: the last retry is due now. Only while the
        # delivery waits between tries (its next one comes in 50 ms): a try in flight would
        # settle over it and push it on down the schedule (minutes at this scale)
        async with database.pool.acquire() as conn:
            return (
                await conn.execute(
                    "UPDATE webhook_deliveries SET attempts = $1, next_attempt_at = now()"
                    " WHERE endpoint_id = $2 AND status = 'PENDING'",
                    len(SCHEDULE),
                    global_ids.decode(ep["id"], "WebhookEndpoint"),
                )
                == "UPDATE 1"
            )

    await until(last_retry_due)

    async def disabled():
        found = (await wapi(ENDPOINT, id=ep["id"]))["webhookEndpoint"]
        return found if not found["enabled"] else None

    found = await until(disabled)
    assert "retry schedule" in found["health"]["disabledReason"]
    assert found["health"]["disabledCode"] == "RETRIES_EXHAUSTED"
    (d,) = await deliveries(wapi, ep["id"])
    assert d["status"] == "FAILED"


async def _first_attempt(api, endpoint_id):
    found = await deliveries(api, endpoint_id)
    return found and found[0]["attempts"]


async def test_settled_deliveries_older_than_the_retention_are_deleted(
    wapi, receiver, run_worker, database
):
    ok = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    failing = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    receiver.route(failing["name"], status=500)
    await _contact(wapi, "Aged")
    await receiver.wait_for(ok["name"], 1)
    await until(lambda: _first_attempt(wapi, failing["id"]))
    async with database.pool.acquire() as conn:
        await conn.execute(
            "UPDATE webhook_deliveries SET occurred_at = now() - interval '31 days'"
            " WHERE endpoint_id = ANY($1::uuid[])",
            [global_ids.decode(e["id"], "WebhookEndpoint") for e in (ok, failing)],
        )
    await background.prune(database, 32)  # nothing is that old
    assert len(await deliveries(wapi, ok["id"])) == 1
    await background.prune(database, 30, batch=1)
    assert await deliveries(wapi, ok["id"]) == []
    (left,) = await deliveries(wapi, failing["id"])  # still being retried: kept
    assert left["status"] in ("PENDING", "SENDING")
