"""The demo workspace, seeded once for the compiler's tests, and API clients for three callers:
an admin, a key with every read scope but pii:read, and a partner key with two scopes."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from relasi.auth.api_keys import create_api_key
from relasi.resolvers import tasks
from relasi.resolvers.workspaces import create_workspace
from relasi.seed.demo import seed_demo
from tests.conftest import Api

READS_WITHOUT_PII = [
    "contacts:read",
    "accounts:read",
    "deals:read",
    "deals:amounts",
    "cases:read",
    "interactions:read",
    "timeline:read",
    "members:read",
    "segments:read",
    "tasks:read",
]
PARTNER = ["contacts:read", "interactions:read"]


@dataclass
class Demo:
    workspace_id: Any
    keys: dict[str, str]
    ids: dict[str, list[str]]  # real global ids per type


async def _tasks(conn, workspace_id) -> None:
    """Tasks (the demo data set has none): open, done, cancelled, due and overdue, linked to
    the demo's records and assigned to its members."""
    ids = {}
    for table in ("members", "contacts", "accounts", "deals", "cases"):
        ids[table] = [
            r["id"]
            for r in await conn.fetch(
                f"SELECT id FROM {table} WHERE workspace_id = $1 ORDER BY id LIMIT 4", workspace_id
            )
        ]
    now = datetime.now(UTC)
    for i in range(16):
        fields = {
            "title": f"Task {i:02d}",
            "description": "Call first" if i % 3 == 0 else None,
            "due_at": now + timedelta(days=i - 6) if i % 4 else None,
            "priority": ("LOW", "NORMAL", "HIGH", "URGENT")[i % 4],
            "assignee_id": ids["members"][i % len(ids["members"])] if i % 5 else None,
        }
        for n, (column, table) in enumerate(
            (("contact_id", "contacts"), ("account_id", "accounts"), ("deal_id", "deals"))
        ):
            if (i + n) % 3 == 0:
                fields[column] = ids[table][i % len(ids[table])]
        if i % 7 == 0:
            fields["case_id"] = ids["cases"][i % len(ids["cases"])]
        task = await tasks.create(conn, workspace_id, fields)
        if i % 3 == 1:
            await conn.execute(
                "UPDATE tasks SET status = 'DONE', completed_at = now(),"
                " completed_by_member_id = $2 WHERE id = $1",
                task["id"],
                ids["members"][0],
            )
        elif i % 8 == 2:
            await conn.execute("UPDATE tasks SET status = 'CANCELLED' WHERE id = $1", task["id"])


# rules with personal data where masking must reach it: fields, lists, relations at depth,
# not/or, predicates' filters, free text
KNOWN_PEOPLE = {
    "or": [
        {"email": {"eq": "dewi.lestari@example.com"}},
        {"phone": {"in": ["+6281234567890", "0812"]}},
        {"not": {"email": {"contains": "@rahasia.co.id"}}},
        {"deals": {"some": {"contacts": {"some": {"email": {"startsWith": "budi@"}}}}}},
        {"account": {"contacts": {"none": {"phone": {"eq": "+62215550100"}}}}},
        {"touchpoints": {"atLeast": 1, "matching": {"contact": {"email": {"eq": "a@b.co"}}}}},
        {"search": "siti@example.com"},
        {"search": "0812-3456-7890"},
        {"search": "Retail"},
    ],
    "lifecycleStage": {"in": ["LEAD", "CUSTOMER"]},
}
SEGMENTS = """mutation($known: ContactFilter!, $include: [ID!]!) {
  known: createSegment(input: {name: "Known people", rule: $known}) { userErrors { message } }
  customers: createSegment(input: {name: "Customers", description: "Paying",
    rule: {lifecycleStage: {eq: CUSTOMER}}}) { userErrors { message } }
  picked: createSegment(input: {name: "Hand-picked", include: $include}) { userErrors { message } }
}"""


@pytest.fixture(scope="module")
async def demo_workspace(database, app) -> Demo:
    async with database.pool.acquire() as conn:
        workspace_id, admin = await create_workspace(conn, "Compiler demo")
        await seed_demo(conn, workspace_id)
        await _tasks(conn, workspace_id)
        _, no_pii = await create_api_key(conn, workspace_id, "no pii", READS_WITHOUT_PII)
        _, partner = await create_api_key(conn, workspace_id, "partner", PARTNER)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        api = Api(client, workspace_id, admin)
        contacts = await api("{ contacts(first: 5) { nodes { id } } }")
        include = [n["id"] for n in contacts["contacts"]["nodes"]]
        created = await api(SEGMENTS, known=KNOWN_PEOPLE, include=include)
        assert all(not p["userErrors"] for p in created.values()), created
    return Demo(workspace_id, {"admin": admin, "no_pii": no_pii, "partner": partner}, {})


@pytest.fixture
def demo_api(demo_workspace, client):
    def make(caller: str = "admin") -> Api:
        return Api(client, demo_workspace.workspace_id, demo_workspace.keys[caller])

    return make


async def both_paths(api: Api, query: str, variables: dict | None = None) -> tuple[dict, dict]:
    """The whole response body from the resolvers and from the compiled path."""
    answers = []
    for path in ("resolvers", "compiled"):
        response = await api.post(query, variables, **{"X-Relasi-Read-Path": path})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers[0], answers[1]
