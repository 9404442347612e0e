"""Delivery guarantees: only committed writes, only the subscriber's workspace, no connection
held between events, and an interrupted LISTEN connection ends subscriptions loudly."""

import pytest

from relasi.auth.principal import Principal
from relasi.resolvers import events, global_ids
from relasi.resolvers.session import Session
from tests.subscriptions import writes
from tests.subscriptions.wsclient import wait_until

ANY_INTERACTION = "subscription { interactionAdded { id } }"
ANY_CASE = "subscription { caseUpdated { id } }"


async def test_another_workspaces_events_never_arrive(live, other_live):
    async with live.subscribed() as sock:
        touches = await sock.subscribe(ANY_INTERACTION)
        cases = await sock.subscribe(ANY_CASE)
        await live.listening(2)
        theirs = await writes.contact(other_live.api, "Theirs")
        await writes.track(other_live.api, contactId=theirs)
        await writes.create_case(other_live.api, contactId=theirs)
        await sock.nothing(1.0)

        mine = await writes.contact(live.api, "Mine")
        touch = await writes.track(live.api, contactId=mine)
        assert await sock.data(touches) == {"interactionAdded": {"id": touch}}
        case = await writes.create_case(live.api, contactId=mine)
        assert await sock.data(cases) == {"caseUpdated": {"id": case["id"]}}
        await sock.nothing()


async def test_a_refused_item_of_a_batch_sends_nothing(live):
    contact = await writes.contact(live.api, "Sari")
    async with live.subscribed() as sock:
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()
        data = await live.api(
            """mutation($inputs: [TrackInteractionInput!]!) { trackInteractions(inputs: $inputs) {
                 results { interaction { id } userErrors { code } } } }""",
            inputs=[
                {"contactId": contact, "channel": "EMAIL", "kind": "EMAIL_OPEN"},
                {"contactId": contact, "channel": "EMAIL", "kind": "EMAIL_OPEN", "sentiment": "7"},
                {"contactId": contact, "channel": "CHAT", "kind": "MESSAGE"},
            ],
        )
        results = data["trackInteractions"]["results"]
        assert [bool(r["userErrors"]) for r in results] == [False, True, False]
        received = {(await sock.data(op))["interactionAdded"]["id"] for _ in range(2)}
        assert received == {results[0]["interaction"]["id"], results[2]["interaction"]["id"]}
        await sock.nothing(1.0)


async def test_rolled_back_publishes_send_nothing(live, database):
    contact = await writes.contact(live.api, "Sari")
    touch = await writes.track(live.api, contactId=contact)  # before anyone listens
    pk = global_ids.decode(touch, "Interaction")
    principal = Principal(workspace_id=live.api.workspace_id)

    def writer() -> Session:
        session = Session(database, principal)
        session.read_only = False
        return session

    async with live.subscribed() as sock:
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()

        rolled_back = writer()
        await events.publish(rolled_back, "interaction", pk)
        await rolled_back.close(commit=False)

        savepoint = writer()
        with pytest.raises(RuntimeError):
            async with savepoint.savepoint():
                await events.publish(savepoint, "interaction", pk)
                raise RuntimeError("refused")
        await savepoint.close()  # the transaction commits, without its savepoint
        await sock.nothing(1.0)

        committed = writer()
        await events.publish(committed, "interaction", pk)
        await sock.nothing(0.3)  # not before the commit
        await committed.close()
        assert await sock.data(op) == {"interactionAdded": {"id": touch}}


async def test_idle_subscriptions_hold_no_database_connection(live, database):
    acme = await writes.account(live.api, "Acme")
    contact = await writes.contact(live.api, "Sari", acme)
    nested = "subscription { interactionAdded { contact { firstName account { name } } } }"
    async with live.subscribed() as sock:
        for _ in range(20):
            await sock.subscribe(nested)
        await live.listening(20)
        await writes.track(live.api, contactId=contact)
        for _ in range(20):
            event = (await sock.data())["interactionAdded"]
            assert event == {"contact": {"firstName": "Sari", "account": {"name": "Acme"}}}
        pool = database.pool
        await wait_until(lambda: pool.get_idle_size() == pool.get_size(), timeout=2)


async def test_a_lost_listen_connection_ends_subscriptions_and_comes_back(live, database):
    notifier = live.app.state.notifier
    async with live.subscribed() as sock:
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()
        async with database.pool.acquire() as conn:
            killed = await conn.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = 'relasi notifier'"""
            )
        assert killed >= 1
        (error,) = await sock.errors(op, timeout=30)
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert "timeline(after:" in error["message"]

        await wait_until(lambda: notifier.listening, timeout=30)
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()
        touch = await writes.track(live.api, accountId=await writes.account(live.api, "Back"))
        assert await sock.data(op) == {"interactionAdded": {"id": touch}}
