"""`node(id:)` and `nodes(ids:)` compiled: every Node type the compiler covers, by inline
fragments on the concrete types; ids of no type, of nothing, or of another workspace are null,
and the ids the resolvers refuse get the resolvers' errors."""

import base64
import uuid

import pytest

from tests.compiler.test_differential import _compare, real_ids  # noqa: F401 (a fixture)

SELECTION = """
  __typename
  ... on Node { id }
  ... on Contact { fullName email account { name } deals(first: 2) { totalCount } }
  ... on Account { name annualRevenue { amount currency } }
  ... on Deal { name stage { name } }
  ... on Case { subject slaBreached }
  ... on Interaction { channel utm { source } }
  ... on Member { name role }
  ... on PipelineStage { name position pipeline { name } }
  ...PipelineBits
"""
FRAGMENT = "fragment PipelineBits on Pipeline { name isDefault }"
NODE = f"query($id: ID!) {{ node(id: $id) {{ {SELECTION} }} }} {FRAGMENT}"
NODES = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {SELECTION} }} }} {FRAGMENT}"


def _id(type_name: str, pk: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


async def test_node_of_every_covered_type(demo_api, real_ids):  # noqa: F811
    for caller in ("admin", "no_pii"):
        api = demo_api(caller)
        every = [i for found in real_ids.values() for i in found]
        for node_id in every:
            body = await _compare(api, NODE, {"id": node_id}, compiled=True)
            assert body["data"]["node"]["id"] == node_id
        body = await _compare(api, NODES, {"ids": every}, compiled=True)
        assert [n["id"] for n in body["data"]["nodes"]] == every
    most = (every * 100)[:100]  # the most one request may ask for
    body = await _compare(demo_api(), NODES, {"ids": most}, compiled=True)
    assert [n["id"] for n in body["data"]["nodes"]] == most


async def test_ids_of_nothing_are_null(demo_api, real_ids, api):  # noqa: F811
    created = await api.mutate(
        'mutation { createContact(input: {firstName: "Elsewhere"}) {'
        " contact { id } userErrors { field message code } } }"
    )
    elsewhere = created["contact"]["id"]  # another workspace's contact
    nothing = [
        elsewhere,
        _id("Contact", uuid.uuid4()),
        _id("Nope", uuid.uuid4()),  # no such type
        _id("TimelineEvent", uuid.uuid4()),  # a type, but not a Node
    ]
    demo = demo_api()
    for node_id in nothing:
        body = await _compare(demo, NODE, {"id": node_id}, compiled=True)
        assert body["data"]["node"] is None
    ids = [real_ids["Contact"][0], *nothing, real_ids["Deal"][0], real_ids["Contact"][0]]
    body = await _compare(demo, NODES, {"ids": ids}, compiled=True)
    assert [n is None for n in body["data"]["nodes"]] == [False, *[True] * 4, False, False]
    await _compare(demo, NODES, {"ids": []}, compiled=True)


@pytest.mark.parametrize(
    "caller, ids, code",
    [
        ("admin", ["nonsense"], "BAD_USER_INPUT"),
        ("partner", ["Deal"], "FORBIDDEN"),  # the partner's key may not read deals
        ("admin", ["Contact"] * 101, "BAD_USER_INPUT"),  # at most 100 ids
    ],
)
async def test_refused_ids_get_the_resolvers_errors(demo_api, real_ids, caller, ids, code):  # noqa: F811
    api = demo_api(caller)
    ids = [real_ids[i][0] if i in real_ids else i for i in ids]
    body = await _compare(api, NODES, {"ids": ids}, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == code
    if len(ids) == 1:
        body = await _compare(api, NODE, {"id": ids[0]}, compiled=False)
        assert body["errors"][0]["extensions"]["code"] == code


async def test_segment_nodes_of_nothing_are_null(demo_api):
    """Every Node type is compiled, segments and their membership changes too."""
    api = demo_api()
    query = "query($id: ID!) { node(id: $id) { __typename id } contacts(first: 2) { totalCount } }"
    for type_name in ("Segment", "SegmentMembershipChange"):
        reference = await _compare(api, query, {"id": _id(type_name, uuid.uuid4())}, compiled=True)
        assert reference["data"]["node"] is None


async def test_api_keys_and_the_audit_log(demo_api, api):
    """Admin screens: keys (revoked ones too) and every change with who made it."""
    await api.mutate(
        'mutation { createDeal(input: {name: "Audited", amount: {amount: "5000.50", currency: "IDR"}})'
        " { deal { id } userErrors { field message code } } }"
    )
    query = """{ apiKeys(first: 5) { nodes { __typename id name prefix scopes createdAt expiresAt
      lastUsedAt revokedAt } }
      auditLog(first: 20) { totalCount edges { cursor node { id occurredAt entityType entityId
        operation mutation requestId changes actor { apiKeyName member { name } } } } } }"""
    for caller in (api, demo_api()):
        body = await _compare(caller, query, compiled=True)
        assert body["data"]["apiKeys"]["nodes"]
    entries = body["data"]["auditLog"]["edges"]
    keys = body["data"]["apiKeys"]["nodes"]
    ids = [entries[0]["node"]["id"], keys[0]["id"]] if entries else [keys[0]["id"]]
    await _compare(demo_api(), NODES, {"ids": ids}, compiled=True)
