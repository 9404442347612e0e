"""The authorization matrix, generated from the schema itself.

Every query and mutation root field is called by principals with every role's scopes and a few
narrow scope sets, with ids of another workspace as arguments. A principal with the field's
scope is never refused, one without it always is, and nothing of the other workspace ever
appears in a response. A root field added without a rule fails `test_every_root_field_has_a_rule`.
"""

import json
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
)

from relasi.auth.api_keys import create_api_key
from relasi.auth.permissions import PUBLIC, ROOT_RULES, TYPE_SCOPES
from relasi.auth.scopes import ROLE_SCOPES
from relasi.schema import schema

GRAPHQL: GraphQLSchema = schema._schema
SECRET = "Foreign-Secret-Rahasia"

SCOPE_SETS: dict[str, frozenset[str]] = {
    **{role.value: scopes for role, scopes in ROLE_SCOPES.items()},
    "nothing": frozenset(),
    "contacts-reader": frozenset({"contacts:read"}),
    "ingest-only": frozenset({"interactions:write"}),
    "timeline-reader": frozenset({"timeline:read", "contacts:read"}),
}


def _allowed(scopes: frozenset[str], rule: str) -> bool:
    return rule == PUBLIC or "admin" in scopes or rule in scopes


def root_fields(root: str) -> list[str]:
    t = GRAPHQL.get_type(root)
    return sorted(t.fields) if t else []


def test_every_root_field_has_a_rule():
    missing = [
        f"{root}.{name}"
        for root in ("Query", "Mutation", "Subscription")
        for name in root_fields(root)
        if f"{root}.{name}" not in ROOT_RULES
    ]
    assert missing == [], f"add these to relasi/auth/permissions.py ROOT_RULES: {missing}"


def _one_of(t: GraphQLInputObjectType) -> bool:
    # Strawberry checks @oneOf itself (graphql-core's is_one_of stays False)
    definition = (t.extensions or {}).get("strawberry-definition")
    return bool(getattr(definition, "is_one_of", False))


def _value(t: Any, foreign_id: str, depth: int = 0) -> Any:
    """A value of input type `t` that passes GraphQL validation (not necessarily our checks)."""
    if isinstance(t, GraphQLNonNull):
        return _value(t.of_type, foreign_id, depth)
    if isinstance(t, GraphQLList):
        return [_value(t.of_type, foreign_id, depth)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType) and _one_of(t):  # exactly one field, any
        name, field = next(iter(t.fields.items()))
        return {name: _value(field.type, foreign_id, depth + 1)}
    if isinstance(t, GraphQLInputObjectType):
        return {
            name: _value(field.type, foreign_id, depth + 1)
            for name, field in t.fields.items()
            if isinstance(field.type, GraphQLNonNull) and depth < 4
        }
    assert isinstance(t, GraphQLScalarType)
    return {
        "ID": foreign_id,
        "String": "x",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "DateTime": "2026-01-01T00:00:00Z",
        "Date": "2026-01-01",
        "Decimal": "1",
        "JSON": {},
    }[t.name]


def _document(root: str, name: str, foreign_id: str) -> tuple[str, dict[str, Any]]:
    field = GRAPHQL.get_type(root).fields[name]
    args = {a: f for a, f in field.args.items() if isinstance(f.type, GraphQLNonNull)}
    decl = "".join(f"${a}: {f.type}, " for a, f in args.items()).rstrip(", ")
    call = ", ".join(f"{a}: ${a}" for a in args)
    result = field.type
    while isinstance(result, GraphQLNonNull | GraphQLList):
        result = result.of_type
    selection = (
        " { __typename }" if not isinstance(result, GraphQLScalarType | GraphQLEnumType) else ""
    )
    op = "query" if root == "Query" else "mutation"
    document = (
        f"{op}{f'({decl})' if decl else ''} {{ {name}{f'({call})' if call else ''}{selection} }}"
    )
    return document, {a: _value(f.type, foreign_id) for a, f in args.items()}


@pytest.fixture
async def foreign_contact(other_api) -> str:
    payload = await other_api.mutate(
        "mutation($i: CreateContactInput!) { createContact(input: $i) {"
        " contact { id } userErrors { field message code } } }",
        i={"firstName": SECRET, "emails": [{"address": "rahasia@foreign.example"}]},
    )
    return payload["contact"]["id"]


async def _key(database, workspace_id, scopes: frozenset[str]) -> str:
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, workspace_id, "matrix", sorted(scopes))
    return key


@pytest.mark.parametrize("root", ["Query", "Mutation"])
async def test_matrix(root, api, database, client, foreign_contact):
    keys = {name: await _key(database, api.workspace_id, s) for name, s in SCOPE_SETS.items()}
    checked = 0
    for name in root_fields(root):
        rule = ROOT_RULES.get(f"{root}.{name}", "admin")
        if name in ("node", "nodes"):
            rule = TYPE_SCOPES["Contact"]  # node lookups need the read scope of the id's type
        document, variables = _document(root, name, foreign_contact)
        for who, scopes in SCOPE_SETS.items():
            response = await client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer {keys[who]}"},
            )
            assert response.status_code == 200, (name, who, response.text)
            body = response.json()
            text = json.dumps(body)
            assert SECRET not in text and "rahasia@" not in text, (name, who, body)
            assert "INTERNAL_SERVER_ERROR" not in text, (name, who, body)
            forbidden = [
                e for e in body.get("errors", []) if e["extensions"]["code"] == "FORBIDDEN"
            ]
            if _allowed(scopes, rule):
                assert forbidden == [], (name, who, rule, body)
            else:
                assert forbidden and forbidden[0]["path"] == [name], (name, who, rule, body)
                assert body["data"] is None or body["data"].get(name) is None
            checked += 1
    assert checked >= len(SCOPE_SETS) * 10
