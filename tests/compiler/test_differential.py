"""The compiled path answers exactly what the resolvers answer (data and errors), for an admin,
a key without pii:read and a partner key with two scopes, on the seeded demo workspace.

Hand-written screens pin what the compiler claims to cover (they must be answered compiled);
generated queries over the covered part of the schema (hypothesis-graphql, real ids as inputs)
hunt for any difference.
"""

import os

import pytest
from graphql import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries

from relasi.compiler.coverage import ROOT_LISTS, ROOT_LOOKUPS
from relasi.schema import schema
from tests.compiler.conftest import both_paths
from tests.fuzz.test_schema_fuzz import SCALARS

CALLERS = ["admin", "no_pii", "partner"]

CONTACT_LIST = """
query ContactList {
  contacts(first: 20, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    nodes { id fullName email account { name } interactions(first: 10) { nodes { occurredAt channel kind summary } } }
  }
}"""

CUSTOMER = """
query Customer($id: ID!) {
  contact(id: $id) {
    id fullName email emails { address primary } phone phones { number primary }
    firstName lastName title country city lifecycleStage journeyStage leadRating customAttributes
    createdAt updatedAt version __typename
    owner { name email role status invitedAt joinedAt }
    account { id name domain industry employeeCount country annualRevenue { amount currency }
              parent { name } children(first: 3) { totalCount nodes { name } } }
    deals(first: 5, filter: {status: {eq: OPEN}}) {
      totalCount
      edges { role cursor node { name status expectedCloseDate closedAt lostReason
              amount { amount currency } stage { name position probability status pipeline { name isDefault } } } }
    }
    cases(first: 5, orderBy: [{field: SLA_DUE_AT, direction: ASC}]) {
      nodes { subject description status priority channel slaDueAt slaBreached firstResponseAt
              resolvedAt firstResponseSeconds resolutionSeconds satisfactionScore deletedAt
              owner { name } account { name } contact { fullName } }
    }
    interactions(first: 10) {
      totalCount
      edges { cursor node { id occurredAt createdAt channel kind journeyStage sentiment summary source
              externalId properties utm { source medium campaign term content } contact { id } account { name } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""

SHAPES = """
query Shapes($withDeals: Boolean!, $noCases: Boolean!) {
  __typename
  list: accounts(first: 4, orderBy: [{field: NAME}], filter: {contacts: {some: {lifecycleStage: {eq: CUSTOMER}}}}) {
    __typename totalCount
    pageInfo { __typename hasNextPage endCursor startCursor }
    edges { __typename cursor node { ...AccountBits ... on Node { id } } }
  }
  deals(last: 3, orderBy: [{field: AMOUNT, direction: DESC, nulls: FIRST}]) @include(if: $withDeals) {
    nodes { name amount { amount currency __typename } contacts(first: 2) { edges { role node { fullName } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  cases(first: 3, filter: {status: {in: [NEW, OPEN]}}) @skip(if: $noCases) { totalCount nodes { subject } }
  interactions(first: 3, filter: {channel: {eq: WHATSAPP}}) { nodes { channel contact { fullName } } }
}
fragment AccountBits on Account {
  name industry
  contacts(first: 2, orderBy: [{field: LAST_NAME, direction: DESC}]) { totalCount nodes { lastName } }
  deals(first: 2) { nodes { name } }
}"""


def _first_difference(a, b, path=()):
    """Where two JSON values first differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return path, list(a), list(b)
        for key in a:
            found = _first_difference(a[key], b[key], (*path, key))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, (*path, i))
            if found:
                return found
        return None
    return None if a == b and type(a) is type(b) else (path, a, b)


async def _compare(api, query, variables=None, *, compiled: bool | None = None):
    reference, answer = await both_paths(api, query, variables)
    assert _first_difference(reference, answer) is None, (
        query,
        _first_difference(reference, answer),
    )
    if compiled is not None:
        response = await api.post(query, variables)
        assert response.headers["x-relasi-read-path"] == ("compiled" if compiled else "resolvers")
    return reference


async def _some_ids(api) -> dict[str, list[str]]:
    data = await api(
        "{ contacts(first: 5) { nodes { id } } accounts(first: 5) { nodes { id } }"
        " deals(first: 5) { nodes { id } } cases(first: 5) { nodes { id } }"
        " interactions(first: 5) { nodes { id } } }"
    )
    return {k: [n["id"] for n in v["nodes"]] for k, v in data.items()}


@pytest.mark.parametrize("caller", CALLERS)
async def test_screens_answer_the_same_on_both_paths(demo_api, caller):
    admin, api = demo_api("admin"), demo_api(caller)
    full = caller != "partner"  # the partner's key lacks accounts:read, deals:read, ...
    body = await _compare(api, CONTACT_LIST, compiled=full)
    ids = await _some_ids(admin)
    for contact_id in ids["contacts"]:
        await _compare(api, CUSTOMER, {"id": contact_id}, compiled=full)
    await _compare(api, SHAPES, {"withDeals": True, "noCases": False}, compiled=full)
    await _compare(api, SHAPES, {"withDeals": False, "noCases": True}, compiled=full)
    if full:
        assert len(body["data"]["contacts"]["nodes"]) == 20


async def test_masked_contact_data_without_pii_read(demo_api):
    query = "{ contacts(first: 30) { nodes { email emails { address } phone phones { number } } } }"
    body = await _compare(demo_api("no_pii"), query, compiled=True)
    emails = [n["email"] for n in body["data"]["contacts"]["nodes"] if n["email"]]
    assert emails and all("***@" in e for e in emails)
    full = await _compare(demo_api("admin"), query, compiled=True)
    assert full != body


async def test_partner_scopes_answer_compiled_where_they_reach(demo_api):
    """contacts:read + interactions:read: a contact's touchpoints compile; its account is
    refused the way the resolvers refuse it (they answer)."""
    partner = demo_api("partner")
    query = (
        "{ contacts(first: 5) { nodes { fullName interactions(first: 2) { nodes { kind } } } } }"
    )
    await _compare(partner, query, compiled=True)
    body = await _compare(partner, "{ contacts(first: 2) { nodes { account { name } } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "order",
    [
        "[{field: CREATED_AT, direction: DESC}]",
        "[{field: LAST_NAME}, {field: FIRST_NAME, direction: DESC}]",
        "[{field: CITY, nulls: FIRST}]",
    ],
)
async def test_pages_and_cursors_match_forwards_and_backwards(demo_api, order):
    api = demo_api()
    page = (
        "query($first: Int, $after: String, $last: Int, $before: String) {"
        f" contacts(first: $first, after: $after, last: $last, before: $before, orderBy: {order})"
        " { edges { cursor node { lastName city } }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
    )
    after = None
    for _ in range(3):
        body = await _compare(api, page, {"first": 7, "after": after}, compiled=True)
        after = body["data"]["contacts"]["pageInfo"]["endCursor"]
    before = after
    for _ in range(2):
        body = await _compare(api, page, {"last": 5, "before": before}, compiled=True)
        before = body["data"]["contacts"]["pageInfo"]["startCursor"]
    await _compare(api, page, {"first": 0}, compiled=True)
    await _compare(api, page, {"last": 4}, compiled=True)


async def test_text_cursors_escape_like_python(api):
    """Cursors carry sort values as JSON written by Python: non-ASCII, quotes, backslashes."""
    names = ["Zoë", 'Quote "q"', "Back\\slash", "Emoji 😀", "Tab\there", "Plain"]
    for name in names:
        await api.mutate(
            "mutation($n: String!) { createContact(input: {firstName: $n}) {"
            " contact { id } userErrors { field message code } } }",
            n=name,
        )
    query = (
        "{ contacts(orderBy: [{field: FIRST_NAME}]) { edges { cursor node { firstName } }"
        " pageInfo { startCursor endCursor } } }"
    )
    body = await _compare(api, query, compiled=True)
    assert len(body["data"]["contacts"]["edges"]) == len(names)


@pytest.mark.parametrize(
    "query, code",
    [
        (
            '{ contact(id: "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA") { id } }',
            "NOT_FOUND",
        ),
        ('{ contact(id: "nonsense") { id } }', "BAD_USER_INPUT"),
        ("{ contacts(first: 500) { totalCount } }", "BAD_USER_INPUT"),
        ('{ contacts(after: "eyJ4Ijox") { totalCount } }', "BAD_USER_INPUT"),
        ("{ contacts(first: 2) { nodes { deals(first: 101) { totalCount } } } }", "BAD_USER_INPUT"),
        (
            "{ contacts(orderBy: [{field: CITY}, {field: CITY}]) { totalCount } }",
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_errors_are_the_resolvers_errors(demo_api, query, code):
    body = await _compare(demo_api(), query, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == code


async def test_account_lookup_by_id_and_node_fragments(demo_api):
    api = demo_api()
    ids = await _some_ids(api)
    query = """query($a: ID!, $d: ID!, $k: ID!, $i: ID!) {
      account(id: $a) { __typename ... on Node { id } name contacts(first: 3) { nodes { fullName } } }
      deal(id: $d) { name account { name } contacts(first: 3) { edges { role node { email } } } }
      case(id: $k) { subject slaBreached contact { fullName account { name } } }
      interaction(id: $i) { kind utm { campaign } contact { fullName } }
    }"""
    variables = {
        "a": ids["accounts"][0],
        "d": ids["deals"][0],
        "k": ids["cases"][0],
        "i": ids["interactions"][0],
    }
    await _compare(api, query, variables, compiled=True)


# -- generated queries ---------------------------------------------------------------------

# fields below the root the compiler leaves to the resolvers; the generated queries keep to
# the rest (a root field it leaves is answered beside the compiled ones: they mix)
UNCOVERED: set[str] = set()


def _covered_schema(only: dict[str, set[str]] | None = None):
    """The schema without UNCOVERED fields; with `only`, these types keep just these fields."""
    covered = build_schema(schema.as_str())
    for type_ in covered.type_map.values():
        fields = getattr(type_, "fields", None)
        if isinstance(fields, dict) and not type_.name.endswith("Input"):
            for name in UNCOVERED & set(fields):
                del fields[name]
            for name in set(fields) - (only or {}).get(type_.name, set(fields)):
                del fields[name]
    return covered


COVERED_SCHEMA = _covered_schema()
# timelines are deep in the schema: generated queries seldom reach them on their own
TIMELINE_SCHEMA = _covered_schema({"Contact": {"timeline"}, "Account": {"timeline"}})
GENERATED = settings(
    # per group of root fields below: about 80 documents per caller in CI; a soak run asks
    # for more with RELASI_DIFFERENTIAL_EXAMPLES
    max_examples=int(os.environ.get("RELASI_DIFFERENTIAL_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
async def real_ids(demo_workspace, database) -> dict[str, list[str]]:
    """A few ids of each type in the demo workspace, by type name."""
    from relasi.resolvers import global_ids

    found: dict[str, list[str]] = {}
    async with database.pool.acquire() as conn:
        for type_name, table in [
            ("Contact", "contacts"),
            ("Account", "accounts"),
            ("Deal", "deals"),
            ("Case", "cases"),
            ("Interaction", "interactions"),
            ("Member", "members"),
            ("PipelineStage", "pipeline_stages"),
            ("Pipeline", "pipelines"),
            ("Task", "tasks"),
            ("Segment", "segments"),
            ("SegmentMembershipChange", "segment_changes"),
        ]:
            rows = await conn.fetch(
                f"SELECT id FROM {table} WHERE workspace_id = $1 ORDER BY id LIMIT 3",
                demo_workspace.workspace_id,
            )
            found[type_name] = [global_ids.encode(type_name, r["id"]) for r in rows]
    return found


def _documents(ids: dict[str, list[str]]) -> list[str]:
    """Generated documents: the root lists (any real id in filters), each root lookup with
    ids of its own type (other ids only make NOT_FOUND errors, which the lists cover too),
    `node`/`nodes` with ids of every type, and the other root fields together (`changes`,
    `webhookEndpoints`)."""
    every = [i for found in ids.values() for i in found]
    groups = [(sorted(ROOT_LISTS), every)]
    groups += [([root], ids[type_name]) for root, type_name in ROOT_LOOKUPS.items()]
    groups += [
        (["node", "nodes"], every),
        (["me", "changes", "apiKeys", "contacts", "node", "webhookEndpoints"], every),
    ]
    documents: list[str] = []
    timelines = [(["contact"], ids["Contact"]), (["account"], ids["Account"])]
    generated = [(*g, COVERED_SCHEMA) for g in groups] + [(*g, TIMELINE_SCHEMA) for g in timelines]
    for fields, id_values, covered in generated:
        scalars = {
            **SCALARS,
            "ID": st.sampled_from(id_values).map(nodes.String),
            # page sizes mostly in range, so most documents get past argument checks
            "Int": st.integers(min_value=-1, max_value=30).map(nodes.Int),
        }
        strategy = queries(covered, fields=fields, custom_scalars=scalars, allow_x00=False)

        @GENERATED
        @given(document=strategy)
        def draw(document):
            documents.append(document)

        draw()  # hypothesis draws synchronously; the requests run on the test's event loop
    return documents


@pytest.mark.parametrize("caller", CALLERS)
async def test_generated_queries_answer_the_same(demo_api, real_ids, caller):
    api = demo_api(caller)
    documents = _documents(real_ids)
    compiled = 0
    for document in documents:
        await _compare(api, document)
        response = await api.post(document)
        compiled += response.headers["x-relasi-read-path"] in ("compiled", "mixed")
    if caller == "admin":  # most generated reads are covered, so the comparison has teeth
        assert compiled >= len(documents) // 3, (compiled, len(documents))


TASKS = """
query Tasks($f: TaskFilter) {
  tasks(first: 20, filter: $f, orderBy: [{field: DUE_AT, direction: ASC}]) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id title description dueAt status priority overdue completedAt version createdAt
            updatedAt deletedAt __typename
            completedBy { apiKeyName member { name } }
            assignee { name tasks(first: 3, filter: {status: {eq: OPEN}}) { totalCount nodes { title } } }
            contact { fullName tasks(first: 2) { nodes { title } } }
            account { name tasks { totalCount } }
            deal { name tasks(orderBy: [{field: TITLE, direction: DESC}]) { nodes { title } } }
            case { subject tasks { nodes { title } } } }
  }
  members(first: 5) { nodes { name tasks(filter: {overdue: true}) { totalCount nodes { title dueAt } } } }
}"""

TASK_TIMELINE = """
query TaskTimeline($id: ID!) {
  contact(id: $id) {
    timeline(first: 20, filter: {kinds: [TASK_CREATED, TASK_COMPLETED, NOTE]}) {
      totalCount
      nodes { kind occurredAt
        ... on TaskCreatedEvent { title task { title status } createdBy { apiKeyName member { name } } }
        ... on TaskCompletedEvent { title task { id } completedBy { apiKeyName } } } } } }"""


@pytest.mark.parametrize("caller", CALLERS)
async def test_task_screens_answer_the_same_on_both_paths(demo_api, real_ids, caller):
    api = demo_api(caller)
    full = caller != "partner"  # the partner's key has no tasks:read
    for flt in (
        None,
        {"overdue": True},
        {"status": {"in": ["DONE", "CANCELLED"]}, "assignee": {"role": {"ne": "ADMIN"}}},
        {"dueAt": {"lt": "2100-01-01T00:00:00Z"}, "contact": {"lifecycleStage": {"ne": "LEAD"}}},
        {"or": [{"dealId": {"isNull": False}}, {"priority": {"eq": "URGENT"}}], "search": "task"},
    ):
        body = await _compare(api, TASKS, {"f": flt}, compiled=full)
        if full and flt is None:  # the comparison has something to compare
            assert body["data"]["tasks"]["totalCount"] == 16
            assert {n["status"] for n in body["data"]["tasks"]["nodes"]} == {
                "OPEN",
                "DONE",
                "CANCELLED",
            }
    for task_id in real_ids["Task"]:
        await _compare(api, "query($id: ID!) { task(id: $id) { title overdue } }", {"id": task_id})
    for contact_id in real_ids["Contact"]:
        await _compare(api, TASK_TIMELINE, {"id": contact_id}, compiled=full or None)
