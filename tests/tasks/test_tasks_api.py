"""Tasks through the API: create with links, status moves with completedAt/completedBy,
optimistic versions, soft delete, refused input, idempotent creates."""

from datetime import UTC, datetime, timedelta

from tests.tasks.helpers import CREATE, ERRORS, UPDATE, create, member, record, status


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def test_create_with_links_and_read_it_back(api):
    dewi = await member(api)
    contact = await record(api, "contact")
    account = await record(api, "account")
    deal = await record(api, "deal")
    case = await record(api, "case")
    due = _iso(timedelta(days=2))
    task = await create(
        api,
        title="  Send the contract  ",
        description="Final draft",
        dueAt=due,
        priority="HIGH",
        assigneeId=dewi,
        contactId=contact,
        accountId=account,
        dealId=deal,
        caseId=case,
    )
    assert task["title"] == "Send the contract" and task["status"] == "OPEN"
    assert task["priority"] == "HIGH" and task["version"] == 1 and task["overdue"] is False
    assert task["completedAt"] is None and task["completedBy"] is None
    assert (task["assignee"]["name"], task["contact"]["id"], task["account"]["id"]) == (
        "Dewi",
        contact,
        account,
    )
    assert (task["deal"]["id"], task["case"]["id"]) == (deal, case)
    assert datetime.fromisoformat(task["dueAt"]) == datetime.fromisoformat(due)
    data = await api(
        "query($id: ID!) { task(id: $id) { id title } node(id: $id) { ... on Task { priority } } }",
        id=task["id"],
    )
    assert data == {
        "task": {"id": task["id"], "title": "Send the contract"},
        "node": {"priority": "HIGH"},
    }
    plain = await create(api, title="Call back")
    assert plain["priority"] == "NORMAL" and plain["dueAt"] is None and plain["assignee"] is None


async def test_status_moves_set_and_clear_completion(api):
    task = await create(api, title="Follow up", dueAt=_iso(-timedelta(hours=1)))
    assert task["overdue"] is True
    done = (await status(api, "complete", task["id"]))["completeTask"]
    assert done["userErrors"] == []
    done = done["task"]
    assert done["status"] == "DONE" and done["overdue"] is False and done["version"] == 2
    assert done["completedAt"] and done["completedBy"] == {"apiKeyName": "admin", "member": None}
    # completing again (a retried request) changes nothing
    again = (await status(api, "complete", task["id"]))["completeTask"]["task"]
    assert again["version"] == 2 and again["completedAt"] == done["completedAt"]
    # ... unless the version says the client read an older task
    stale = (await status(api, "complete", task["id"], version=1))["completeTask"]
    assert stale["task"] is None and stale["userErrors"][0]["code"] == "CONFLICT"

    reopened = (await status(api, "reopen", task["id"], version=2))["reopenTask"]["task"]
    assert reopened["status"] == "OPEN" and reopened["completedAt"] is None
    assert reopened["completedBy"] is None and reopened["overdue"] is True
    cancelled = (await status(api, "cancel", task["id"]))["cancelTask"]["task"]
    assert cancelled["status"] == "CANCELLED" and cancelled["overdue"] is False

    # status through updateTask, as with cases
    updated = await api.mutate(
        UPDATE, i={"id": task["id"], "version": cancelled["version"], "status": "DONE"}
    )
    assert updated["task"]["status"] == "DONE" and updated["task"]["completedAt"]


async def test_update_fields_versions_and_clearing_links(api):
    contact = await record(api, "contact")
    task = await create(api, title="Visit", contactId=contact, priority="LOW")
    updated = (
        await api.mutate(
            UPDATE,
            i={
                "id": task["id"],
                "version": 1,
                "title": "Visit the shop",
                "priority": "URGENT",
                "contactId": None,
                "dueAt": "2030-01-01T09:00:00+07:00",
            },
        )
    )["task"]
    assert updated["title"] == "Visit the shop" and updated["priority"] == "URGENT"
    assert updated["contact"] is None and updated["version"] == 2
    assert updated["dueAt"] == "2030-01-01T02:00:00+00:00"
    stale = (await api(UPDATE, i={"id": task["id"], "version": 1, "title": "Old"}))["updateTask"]
    assert stale["task"] is None
    assert stale["userErrors"] == [
        {
            "field": ["input", "version"],
            "message": stale["userErrors"][0]["message"],
            "code": "CONFLICT",
        }
    ]
    nulls = (
        await api(UPDATE, i={"id": task["id"], "version": 2, "title": None, "priority": None})
    )["updateTask"]["userErrors"]
    assert [(e["field"], e["code"]) for e in nulls] == [
        (["input", "title"], "BAD_USER_INPUT"),
        (["input", "priority"], "BAD_USER_INPUT"),
    ]


async def test_delete_and_restore(api):
    task = await create(api, title="Ping")
    deleted = await api.mutate(
        f'mutation {{ deleteTask(input: {{id: "{task["id"]}"}}) {{ deletedId {ERRORS} }} }}'
    )
    assert deleted["deletedId"] == task["id"]
    body = await api.raw("query($id: ID!) { task(id: $id) { id } }", id=task["id"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 0
    gone = (await status(api, "complete", task["id"]))["completeTask"]["userErrors"]
    assert gone[0]["code"] == "NOT_FOUND"
    restored = await api.mutate(
        f'mutation {{ restoreTask(input: {{id: "{task["id"]}"}}) {{ task {{ id version }} {ERRORS} }} }}'
    )
    assert restored["task"] == {"id": task["id"], "version": 3}


async def test_refused_input_writes_nothing(api, other_api):
    foreign = await record(other_api, "contact")
    contact = await record(api, "contact")
    removed = await member(api, "Budi")
    await api.mutate(
        f'mutation {{ removeMember(input: {{id: "{removed}"}}) {{ member {{ id }} {ERRORS} }} }}'
    )

    async def refused(**fields):
        payload = (await api(CREATE, i={"title": "T", **fields}))["createTask"]
        assert payload["task"] is None
        return [(".".join(e["field"]), e["code"]) for e in payload["userErrors"]]

    assert await refused(title="") == [("input.title", "BAD_USER_INPUT")]
    assert await refused(title="x" * 301) == [("input.title", "BAD_USER_INPUT")]
    assert await refused(title="a\x00b", description="d" * 10_001) == [
        ("input.title", "BAD_USER_INPUT"),
        ("input.description", "BAD_USER_INPUT"),
    ]
    assert await refused(contactId=foreign) == [("input.contactId", "NOT_FOUND")]
    assert await refused(contactId=contact, dealId=contact) == [("input.dealId", "NOT_FOUND")]
    assert await refused(accountId="not an id" * 1000) == [("input.accountId", "BAD_USER_INPUT")]
    assert await refused(assigneeId=removed) == [("input.assigneeId", "NOT_FOUND")]
    assert await refused(idempotencyKey="k" * 201) == [("input.idempotencyKey", "BAD_USER_INPUT")]
    body = await api.raw(CREATE, i={"title": "T", "dueAt": "NaN"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await api.raw(CREATE, i={"title": "T", "dueAt": "99999-01-01T00:00:00Z"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await api("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 0


async def test_idempotency_key_creates_once(api):
    first = await create(api, title="Send quote", idempotencyKey="form-42")
    again = await create(api, title="Send quote again", idempotencyKey="form-42")
    assert again["id"] == first["id"] and again["title"] == "Send quote"
    other = await create(api, title="Other", idempotencyKey="form-43")
    assert other["id"] != first["id"]
    assert (await api("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 2


async def test_another_workspace_cannot_see_or_change_tasks(api, other_api):
    task = await create(api, title="Secret")
    body = await other_api.raw("query($id: ID!) { task(id: $id) { id } }", id=task["id"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await other_api("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 0
    payload = await other_api(UPDATE, i={"id": task["id"], "version": 1, "title": "Mine"})
    assert payload["updateTask"]["userErrors"][0]["code"] == "NOT_FOUND"
    payload = await status(other_api, "complete", task["id"])
    assert payload["completeTask"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await api("query($id: ID!) { task(id: $id) { title status } }", id=task["id"]))[
        "task"
    ] == {"title": "Secret", "status": "OPEN"}


async def _key(api, database, name: str, scopes: list[str]) -> dict:
    from relasi.auth.api_keys import create_api_key

    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, name, scopes=scopes)
    return {"Authorization": f"Bearer {key}"}


async def test_tasks_read_and_write_scopes(api, database):
    from relasi.auth.scopes import ROLE_SCOPES, Role

    task = await create(api, title="Call Sari")
    viewer = await _key(api, database, "viewer", sorted(ROLE_SCOPES[Role.VIEWER]))
    support = await _key(api, database, "support", sorted(ROLE_SCOPES[Role.SUPPORT]))
    blind = await _key(api, database, "contacts only", ["contacts:read"])

    async def post(headers, query, **variables):
        response = await api.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        return response.json()

    def codes(body) -> list[str]:
        payload = next(iter((body.get("data") or {}).values()), None) or {}
        return [e["extensions"]["code"] for e in body.get("errors", [])] + [
            e["code"] for e in payload.get("userErrors", [])
        ]

    read = "query($id: ID!) { task(id: $id) { title } }"
    assert (await post(viewer, read, id=task["id"]))["data"]["task"] == {"title": "Call Sari"}
    assert "FORBIDDEN" in codes(await post(blind, read, id=task["id"]))
    assert "FORBIDDEN" in codes(await post(viewer, CREATE, i={"title": "Mine"}))
    done = f"mutation($i: TaskStatusInput!) {{ completeTask(input: $i) {{ {ERRORS} }} }}"
    assert "FORBIDDEN" in codes(await post(viewer, done, i={"id": task["id"]}))
    assert codes(await post(support, done, i={"id": task["id"]})) == []
    after = await api(
        "query($id: ID!) { task(id: $id) { status } tasks { totalCount } }", id=task["id"]
    )
    assert after == {"task": {"status": "DONE"}, "tasks": {"totalCount": 1}}  # viewer made none
