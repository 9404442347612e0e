"""A compiled read is one statement: whatever its depth and list lengths, the request runs one
statement that reads the workspace's data, next to the per-request ones (the API key, the
transaction with its row-security settings, the connection reset)."""

import re

from tests.compiler.test_differential import CONTACT_LIST, CUSTOMER, _some_ids

DATA_TABLES = re.compile(
    r"\b(FROM|JOIN)\s+(contacts|contact_identities|accounts|deals|deal_contacts|cases"
    r"|interactions|members|pipelines|pipeline_stages|timeline_events)\b"
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
    return statements


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
