"""A compiled read is one statement: whatever its depth and list lengths, the request runs one
statement that reads the workspace's data, and one before it that looks up the API key and
points the connection at the caller (row-security settings, time limit). Two round trips: no
transaction around the read, no connection reset, no key look-up on a connection of its own.
A key looked up moments ago by a process whose notifier listens is remembered
(`auth/key_cache.py`): its next compiled read is one round trip."""

import re

import httpx

from relasi.auth.api_keys import create_api_key
from tests.compiler.test_differential import CONTACT_LIST, CUSTOMER, _some_ids
from tests.compiler.test_introspection import TYPE
from tests.compiler.test_segments import SEGMENTS
from tests.conftest import Api

DATA_TABLES = re.compile(
    r"\b(FROM|JOIN)\s+(contacts|contact_identities|accounts|deals|deal_contacts|cases"
    r"|interactions|members|pipelines|pipeline_stages|timeline_events|segments|segment_members"
    r"|segment_includes|segment_excludes|segment_changes|change_commits|change_events"
    r"|webhook_endpoints|webhook_deliveries|webhook_attempts)\b"
)
NESTED = """{
  accounts(first: 50) { totalCount edges { cursor node { name parent { name }
    contacts(first: 5) { totalCount nodes { fullName email phones { number } owner { name }
      deals(first: 3) { edges { role node { amount { amount } stage { name } } } }
      cases(first: 3) { nodes { slaBreached } }
      interactions(first: 5) { pageInfo { endCursor } nodes { utm { campaign } } } } } } } }
}"""
TIMELINES = """{
  contacts(first: 20) { nodes { timeline(first: 10) { totalCount edges { cursor node {
    __typename occurredAt ... on InteractionEvent { channel interaction { summary } }
    ... on DealStageChangedEvent { deal { name } toPipelineStage { name } } } } } } }
  node(id: "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA") { id }
  accounts(first: 5) { nodes { timeline(first: 5, order: OLDEST_FIRST) { nodes { kind } } } }
}"""


async def _run(api, database, query, variables=None, path="compiled"):
    with database.capture_statements() as statements:
        response = await api.post(query, variables, **{"X-Relasi-Read-Path": path})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    assert response.headers["x-relasi-read-path"] == path
    # the key's "last used" note, written at most once a minute, whenever a minute is over
    return [s for s in statements if not s.startswith("UPDATE api_keys SET last_used_at")]


def _is_authentication(statement: str) -> bool:
    """The key's look-up that also sets the request's workspace, role and time limit."""
    return "FROM api_keys" in statement and "set_config('relasi.workspace_id'" in statement


def _overhead(statements: list[str]) -> list[str]:
    """What a request ran besides its reads and writes: transactions, resets, look-ups."""
    return [s for s in statements if not DATA_TABLES.search(s) and not _is_authentication(s)]


async def test_a_compiled_read_is_one_statement(demo_api, database):
    api = demo_api()
    contact = (await _some_ids(api))["contacts"][0]
    trivial = await _run(api, database, "{ contacts(first: 1) { totalCount } }")
    for query, variables in [
        (CONTACT_LIST, None),
        (CUSTOMER, {"id": contact}),
        (NESTED, None),
        (TIMELINES, None),
    ]:
        statements = await _run(api, database, query, variables)
        reads = [s for s in statements if DATA_TABLES.search(s)]
        assert len(reads) == 1 and reads[0].startswith("SELECT json_build_object"), reads
        # everything else is the same per-request work a one-field query does
        assert len(statements) == len(trivial), statements
    # the resolvers, for comparison, read once per relation level
    statements = await _run(api, database, CUSTOMER, {"id": contact}, path="resolvers")
    assert len([s for s in statements if DATA_TABLES.search(s)]) > 5


CHANGES = """{ changes(first: 30) { edges { cursor node { type recordId changes
  record { id ... on Contact { fullName } ... on Segment { name size } }
  actor { apiKeyName member { name } } } } pageInfo { endCursor } } }"""


async def test_segments_changes_webhooks_and_introspection_are_one_statement(demo_api, database):
    """A segments screen (sizes, history, masked rules, members, change log), a page of the
    change log with records and actors, webhook endpoints, and type lookups beside a list: one
    read, as for any other compiled read."""
    trivial = await _run(demo_api(), database, "{ contacts(first: 1) { totalCount } }")
    screens = [
        (SEGMENTS, None),
        ("{ contacts(first: 5) { nodes { segments { nodes { name size } } } } }", None),
        (TYPE, {"name": "Segment", "deprecated": True, "withFields": True}),
    ]
    webhooks = "{ webhookEndpoints(first: 5) { nodes { url health { failureStreak } } } }"
    # the other key may read neither the log nor webhooks
    requests = [("admin", CHANGES, None), ("admin", webhooks, None)]
    requests += [(caller, *screen) for caller in ("admin", "no_pii") for screen in screens]
    for caller, query, variables in requests:
        statements = await _run(demo_api(caller), database, query, variables)
        reads = [s for s in statements if DATA_TABLES.search(s)]
        assert len(reads) == 1 and reads[0].startswith("SELECT json_build_object"), reads
        assert len(statements) == len(trivial) == 2, statements


async def test_a_compiled_request_is_two_round_trips(demo_api, database):
    api = demo_api()
    contact = (await _some_ids(api))["contacts"][0]
    await _run(api, database, "{ contacts(first: 1) { totalCount } }")  # this process's first
    for caller in ("admin", "no_pii"):
        for query, variables in [
            ("{ contacts(first: 1) { totalCount } }", None),
            (CONTACT_LIST, None),
            (CUSTOMER, {"id": contact}),
            (NESTED, None),
        ]:
            statements = await _run(demo_api(caller), database, query, variables)
            assert len(statements) == 2, statements
            authentication, read = statements
            assert _is_authentication(authentication), authentication
            assert read.startswith("SELECT json_build_object"), read


async def test_resolver_reads_and_mutations_add_only_their_transaction(demo_api, api, database):
    """The key's look-up sets the request up; the resolvers' reads share one read-only
    snapshot (BEGIN ... ROLLBACK) and a mutation its transaction. No reset, no other
    look-up."""
    contact = (await _some_ids(demo_api()))["contacts"][0]
    statements = await _run(demo_api(), database, CUSTOMER, {"id": contact}, path="resolvers")
    assert _is_authentication(statements[0]), statements[0]
    assert _overhead(statements) == [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;",
        "ROLLBACK;",
    ], statements
    with database.capture_statements() as captured:
        created = await api.mutate(
            'mutation { createContact(input: {firstName: "Rina"}) { contact { id } userErrors { code } } }'
        )
    assert created["contact"]["id"]
    statements = [s for s in captured if not s.startswith("UPDATE api_keys SET last_used_at")]
    assert _is_authentication(statements[0]), statements[0]
    transaction = [s for s in _overhead(statements) if s.startswith(("BEGIN", "COMMIT"))]
    assert transaction == ["BEGIN ISOLATION LEVEL READ COMMITTED;", "COMMIT;"], statements
    assert not [s for s in statements if "RESET" in s or s.count("FROM api_keys") > 1]


async def test_a_repeat_callers_compiled_read_is_one_statement(demo_workspace, live_app, database):
    """The first request of a key authenticates in the round trip that sets its connection
    up, then reads; the requests after it (the key remembered, their pooled connection
    already set up for this caller) run only the read."""
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, demo_workspace.workspace_id, "repeat caller")
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        api = Api(client, demo_workspace.workspace_id, key)
        contact = (await _some_ids(api))["contacts"][0]  # the look-up, remembered
        for query, variables in [(CUSTOMER, {"id": contact}), (CONTACT_LIST, None)]:
            for _ in range(3):
                (read,) = await _run(api, database, query, variables)
                assert read.startswith("SELECT json_build_object"), read
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        async with database.pool.acquire() as conn:
            _, fresh = await create_api_key(conn, demo_workspace.workspace_id, "first request")
        first = Api(client, demo_workspace.workspace_id, fresh)
        authentication, read = await _run(first, database, CUSTOMER, {"id": contact})
        assert _is_authentication(authentication), authentication
        assert read.startswith("SELECT json_build_object"), read
