"""`tasks.create` inside another caller's transaction (what a workflow step uses): at most one
task per idempotency key, nothing left behind by a rolled-back transaction, and links checked
against the caller's workspace."""

import uuid

import pytest

from relasi.db import use_system
from relasi.errors import ErrorCode, UserInputError
from relasi.resolvers import global_ids, tasks


async def _count(conn, workspace_id, **where):
    return await conn.fetchval(
        "SELECT count(*) FROM tasks WHERE workspace_id = $1 AND title = $2",
        workspace_id,
        where["title"],
    )


async def test_one_task_per_idempotency_key_and_events_in_the_same_transaction(database, api):
    async with database.pool.acquire() as conn:
        await use_system(conn)
        async with conn.transaction():
            first = await tasks.create(
                conn, api.workspace_id, {"title": "Send contract"}, idempotency_key="run-1:step-2"
            )
        async with conn.transaction():  # the step retried after a crash
            again = await tasks.create(
                conn, api.workspace_id, {"title": "Send contract"}, idempotency_key="run-1:step-2"
            )
        assert again["id"] == first["id"]
        assert await _count(conn, api.workspace_id, title="Send contract") == 1
        created = await conn.fetchval(
            "SELECT count(*) FROM change_events WHERE workspace_id = $1 AND record_id = $2"
            " AND type = 'task.created'",
            api.workspace_id,
            first["id"],
        )
        assert created == 1
        assert first["status"] == "OPEN" and first["priority"] == "NORMAL"

        tx = conn.transaction()
        await tx.start()
        await tasks.create(conn, api.workspace_id, {"title": "Rolled back"}, idempotency_key="x")
        await tx.rollback()
        assert await _count(conn, api.workspace_id, title="Rolled back") == 0


async def test_links_must_exist_in_the_callers_workspace(database, api, other_api):
    data = await other_api.mutate(
        'mutation { createContact(input: {firstName: "Foreign"}) { contact { id } '
        "userErrors { field message code } } }"
    )
    foreign = global_ids.decode(data["contact"]["id"], "Contact")
    async with database.pool.acquire() as conn:
        await use_system(conn)
        with pytest.raises(UserInputError) as refused:
            async with conn.transaction():
                await tasks.create(
                    conn,
                    api.workspace_id,
                    {"title": "Call", "contact_id": foreign, "deal_id": uuid.uuid4()},
                    prefix="",
                )
        assert [(e.field, e.code) for e in refused.value.errors] == [
            (["contactId"], ErrorCode.NOT_FOUND),
            (["dealId"], ErrorCode.NOT_FOUND),
        ]
        with pytest.raises(UserInputError) as bad:
            await tasks.create(conn, api.workspace_id, {"title": " ", "priority": "SOON"})
        assert [e.field for e in bad.value.errors] == [["input", "title"], ["input", "priority"]]
