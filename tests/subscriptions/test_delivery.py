"""Delivery guarantees: only committed writes, only the subscriber's workspace, no connection
held between events, and nothing lost when the LISTEN connection is interrupted."""

from uuid import UUID

import pytest

from relasi.auth.principal import Principal
from relasi.resolvers import global_ids
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


def _writer(database, workspace_id: UUID) -> Session:
    """A write transaction of the workspace, as any write path (or a raw SQL import) has."""
    session = Session(database, Principal(workspace_id=workspace_id))
    session.read_only = False
    return session


async def _touch(session: Session, contact: str) -> str:
    """A touchpoint written with plain SQL: the change log's triggers announce it, no code
    has to."""
    pk = await session.fetchval(
        "INSERT INTO interactions (workspace_id, contact_id, channel, kind)"
        " VALUES ($1, $2, 'EMAIL', 'EMAIL_OPEN') RETURNING id",
        session.workspace_id,
        global_ids.decode(contact, "Contact"),
    )
    return global_ids.encode("Interaction", pk)


async def test_rolled_back_writes_send_nothing(live, database):
    contact = await writes.contact(live.api, "Sari")
    async with live.subscribed() as sock:
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()

        rolled_back = _writer(database, live.api.workspace_id)
        await _touch(rolled_back, contact)
        await rolled_back.close(commit=False)

        savepoint = _writer(database, live.api.workspace_id)
        with pytest.raises(RuntimeError):
            async with savepoint.savepoint():
                await _touch(savepoint, contact)
                raise RuntimeError("refused")
        await savepoint.close()  # the transaction commits, without its savepoint
        await sock.nothing(1.0)

        committed = _writer(database, live.api.workspace_id)
        touch = await _touch(committed, contact)
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


async def test_a_lost_listen_connection_catches_up_from_its_last_sequence(live, database):
    notifier = live.app.state.notifier
    contact = await writes.contact(live.api, "Sari")
    async with live.subscribed() as sock:
        op = await sock.subscribe(ANY_INTERACTION)
        await live.listening()
        before = await writes.track(live.api, contactId=contact)
        assert await sock.data(op) == {"interactionAdded": {"id": before}}

        async with database.pool.acquire() as conn:
            killed = await conn.fetchval(
                """SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = 'relasi notifier'"""
            )
        assert killed >= 1
        await wait_until(lambda: not notifier.listening, timeout=10)
        # written while this process hears nothing: its notification reaches no listener (the
        # commit comes sooner than the notifier listens again, after its backoff)
        session = _writer(database, live.api.workspace_id)
        try:
            missed = [await _touch(session, contact), await _touch(session, contact)]
        finally:
            await session.close()
        after = _writer(database, live.api.workspace_id)
        missed.append(await _touch(after, contact))
        await after.close()

        # back: the subscription goes on, with every event in commit order, each once
        await wait_until(lambda: notifier.listening, timeout=30)
        received = [(await sock.data(op, timeout=30))["interactionAdded"]["id"] for _ in missed]
        assert received == missed
        await sock.nothing(0.5)
        latest = await writes.track(live.api, contactId=contact)
        assert await sock.data(op) == {"interactionAdded": {"id": latest}}
