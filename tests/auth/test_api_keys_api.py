"""API keys through GraphQL: create (secret shown once), list, rotate, revoke, expiry, last use,
scope validation, and `me` for a key."""

from datetime import UTC, datetime, timedelta

import pytest

from relasi.auth.scopes import SCOPES
from tests.auth.conftest import ERRORS, ME, code_of, scoped_key

KEY = "apiKey { id name prefix scopes createdAt expiresAt lastUsedAt revokedAt }"
CREATE = (
    f"mutation($i: CreateApiKeyInput!) {{ createApiKey(input: $i) {{ {KEY} secret {ERRORS} }} }}"
)
ROTATE = (
    f"mutation($i: RotateApiKeyInput!) {{ rotateApiKey(input: $i) {{ {KEY} secret {ERRORS} }} }}"
)
REVOKE = f"mutation($i: RevokeApiKeyInput!) {{ revokeApiKey(input: $i) {{ {KEY} {ERRORS} }} }}"
LIST = "{ apiKeys(orderBy: [{field: CREATED_AT}]) { totalCount nodes { id name prefix scopes expiresAt lastUsedAt revokedAt } } }"


def _errors(data: dict) -> list[tuple[list[str], str]]:
    (payload,) = data.values()
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_create_shows_the_secret_once_and_lists_prefixes(api, caller):
    made = await api.mutate(
        CREATE, i={"name": "Zapier", "scopes": ["contacts:read", "contacts:read", "deals:read"]}
    )
    key, secret = made["apiKey"], made["secret"]
    assert secret == f"rls_{key['prefix']}_{secret.split('_')[2]}"
    assert key["scopes"] == ["contacts:read", "deals:read"]  # deduplicated, sorted
    assert key["expiresAt"] is None and key["lastUsedAt"] is None and key["revokedAt"] is None
    me = (await caller.data(secret, ME))["me"]
    assert me == {
        "workspaceId": str(api.workspace_id),
        "scopes": ["contacts:read", "deals:read"],
        "member": None,
        "apiKey": {"name": "Zapier", "prefix": key["prefix"], "scopes": key["scopes"]},
    }
    listed = await api(LIST)
    assert [k["name"] for k in listed["apiKeys"]["nodes"]] == ["admin", "Zapier"]
    used = listed["apiKeys"]["nodes"][1]
    assert used["lastUsedAt"] is not None  # recorded by the request above
    assert secret.split("_")[2] not in str(listed)
    # no field of an ApiKey could carry the secret or its hash
    fields = await api('{ __type(name: "ApiKey") { fields { name } } }')
    names = {f["name"] for f in fields["__type"]["fields"]}
    assert not {n for n in names if "secret" in n.lower() or "hash" in n.lower()}


async def test_key_input_is_validated_and_nothing_is_written(api):
    for data, expected in (
        (
            {"name": "x", "scopes": ["contacts:read", "contacts:delete", "root"]},
            [
                (["input", "scopes", "1"], "BAD_USER_INPUT"),
                (["input", "scopes", "2"], "BAD_USER_INPUT"),
            ],
        ),
        ({"name": "x", "scopes": []}, [(["input", "scopes"], "BAD_USER_INPUT")]),
        ({"name": " ", "scopes": ["admin"]}, [(["input", "name"], "BAD_USER_INPUT")]),
        (
            {"name": "x", "scopes": ["admin"], "expiresAt": _in(-1)},
            [(["input", "expiresAt"], "BAD_USER_INPUT")],
        ),
        (
            {"name": "x", "scopes": ["admin"], "expiresAt": "2030-01-01T00:00:00"},
            [(["input", "expiresAt"], "BAD_USER_INPUT")],
        ),
    ):
        data = await api(CREATE, i=data)
        assert _errors(data) == expected
        assert data["createApiKey"]["secret"] is None
    assert (await api(LIST))["apiKeys"]["totalCount"] == 1


async def test_every_documented_scope_is_accepted(api):
    made = await api.mutate(CREATE, i={"name": "all", "scopes": list(SCOPES)})
    assert made["apiKey"]["scopes"] == sorted(SCOPES)


async def test_expired_keys_are_refused(api, caller, database):
    made = await api.mutate(
        CREATE, i={"name": "trial", "scopes": ["contacts:read"], "expiresAt": _in(30)}
    )
    await caller.data(made["secret"], ME)
    async with database.pool.acquire() as conn:  # thirty days later
        await conn.execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1",
            made["apiKey"]["prefix"],
        )
    await caller.refused(made["secret"])


async def test_rotate_revokes_the_old_key_at_once(api, caller):
    made = await api.mutate(
        CREATE, i={"name": "partner", "scopes": ["deals:read"], "expiresAt": _in(90)}
    )
    rotated = await api.mutate(ROTATE, i={"id": made["apiKey"]["id"]})
    new = rotated["apiKey"]
    assert (new["name"], new["scopes"]) == ("partner", ["deals:read"])
    assert new["id"] != made["apiKey"]["id"] and rotated["secret"] != made["secret"]
    lifetime = datetime.fromisoformat(new["expiresAt"]) - datetime.fromisoformat(new["createdAt"])
    assert abs(lifetime - timedelta(days=90)) < timedelta(minutes=1)  # the old key's lifetime
    await caller.refused(made["secret"])
    await caller.data(rotated["secret"], ME)
    # rotating the new key again, without expiry this time
    forever = await api.mutate(ROTATE, i={"id": new["id"], "expiresAt": None})
    assert forever["apiKey"]["expiresAt"] is None
    # a revoked key cannot be rotated
    assert _errors(await api(ROTATE, i={"id": made["apiKey"]["id"]})) == [
        (["input", "id"], "CONFLICT")
    ]
    nodes = (await api(LIST))["apiKeys"]["nodes"]
    assert [(k["name"], k["revokedAt"] is not None) for k in nodes] == [
        ("admin", False),
        ("partner", True),
        ("partner", True),
        ("partner", False),
    ]


async def test_revoke(api, caller):
    made = await api.mutate(CREATE, i={"name": "old", "scopes": ["contacts:read"]})
    revoked = (await api.mutate(REVOKE, i={"id": made["apiKey"]["id"]}))["apiKey"]
    assert revoked["revokedAt"] is not None
    await caller.refused(made["secret"])
    again = (await api.mutate(REVOKE, i={"id": made["apiKey"]["id"]}))["apiKey"]
    assert again["revokedAt"] == revoked["revokedAt"]
    active = await api("{ apiKeys(filter: {revokedAt: {isNull: true}}) { nodes { name } } }")
    assert active["apiKeys"]["nodes"] == [{"name": "admin"}]


async def test_another_workspaces_keys_are_not_found(api, other_api):
    theirs = (await other_api.mutate(CREATE, i={"name": "x", "scopes": ["admin"]}))["apiKey"]
    for document in (ROTATE, REVOKE):
        assert _errors(await api(document, i={"id": theirs["id"]})) == [
            (["input", "id"], "NOT_FOUND")
        ]
    assert _errors(await api(REVOKE, i={"id": "bm9wZQ"})) == [(["input", "id"], "BAD_USER_INPUT")]
    body = await api.raw("query($id: ID!) { node(id: $id) { id } }", id=theirs["id"])
    assert body["data"]["node"] is None
    assert [k["name"] for k in (await other_api(LIST))["apiKeys"]["nodes"]] == ["admin", "x"]
    assert (await other_api(LIST))["apiKeys"]["nodes"][1]["revokedAt"] is None


@pytest.mark.parametrize(
    "document",
    [
        LIST,
        'mutation { createApiKey(input: {name: "x", scopes: ["admin"]}) { secret userErrors { code } } }',
        'mutation { rotateApiKey(input: {id: "ID"}) { secret userErrors { code } } }',
        'mutation { revokeApiKey(input: {id: "ID"}) { apiKey { id } userErrors { code } } }',
    ],
)
async def test_non_admin_keys_are_forbidden(document, api, database, caller):
    admin_key_id = (await api(LIST))["apiKeys"]["nodes"][0]["id"]
    key = await scoped_key(database, api.workspace_id, *(set(SCOPES) - {"admin"}))
    body = (await caller.post(key, document.replace("ID", admin_key_id))).json()
    assert code_of(body) == "FORBIDDEN", body
    assert [k["revokedAt"] for k in (await api(LIST))["apiKeys"]["nodes"]] == [None, None]
