"""Timelines compiled: `Contact.timeline` and `Account.timeline` with every event type through
the `TimelineEvent` interface (fragments, inline fragments, `__typename`), filters, both orders
and keyset pages whose cursors match the resolvers' byte for byte."""

import pytest

from tests.compiler.test_differential import _compare

EVENTS = """
fragment Event on TimelineEvent {
  __typename id occurredAt kind
  contact { fullName email } account { name }
  ... on InteractionEvent { channel interactionKind journeyStage summary interaction { source utm { campaign } } }
  ... on DealStageChangedEvent { deal { name } fromPipelineStage { name } toPipelineStage { name position }
                                 changedBy { apiKeyName member { name email } } }
  ... on CaseOpenedEvent { case { subject } }
  ... on CaseStatusChangedEvent { fromStatus toStatus case { status } }
  ... on JourneyStageChangedEvent { fromStage toStage regression interaction { kind } }
  ... on NoteEvent { body deal { name } case { subject } author { apiKeyName member { role } } }
}"""

PAGE = (
    """query($first: Int, $after: String, $last: Int, $before: String, $order: TimelineOrder!,
         $filter: TimelineFilter) {
  contacts(first: 8, orderBy: [{field: CREATED_AT}]) { nodes { fullName
    timeline(first: $first, after: $after, last: $last, before: $before, order: $order,
             filter: $filter) {
      __typename totalCount
      edges { __typename cursor node { ...Event } }
      nodes { kind ... on NoteEvent { body } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    } } }
}"""
    + EVENTS
)

ACCOUNT = (
    """{ accounts(first: 5) { nodes { name
    recent: timeline(first: 6) { totalCount edges { cursor node { ...Event ... on NoteEvent { author { __typename apiKeyName member { name } } } } } }
    touches: timeline(first: 3, order: OLDEST_FIRST, filter: {channels: [EMAIL, WHATSAPP]}) {
      nodes { ... on InteractionEvent { channel } } pageInfo { endCursor } }
  } } }"""
    + EVENTS
)


@pytest.mark.parametrize("caller", ["admin", "no_pii"])
async def test_timelines_answer_the_same_compiled(demo_api, caller):
    api = demo_api(caller)
    for order in ("NEWEST_FIRST", "OLDEST_FIRST"):
        variables = {"first": 5, "order": order}
        body = await _compare(api, PAGE, variables, compiled=True)
        contacts = body["data"]["contacts"]["nodes"]
        assert any(c["timeline"]["totalCount"] > 5 for c in contacts)
        kinds = {e["node"]["kind"] for c in contacts for e in c["timeline"]["edges"]}
        assert "INTERACTION" in kinds and len(kinds) > 1, kinds
    await _compare(api, ACCOUNT, compiled=True)


async def test_timeline_pages_forwards_and_backwards(demo_api):
    api = demo_api()
    first_only = PAGE.replace("contacts(first: 8", "contacts(first: 1")
    after, seen = None, 0
    for _ in range(3):
        variables = {"first": 4, "after": after, "order": "NEWEST_FIRST"}
        body = await _compare(api, first_only, variables, compiled=True)
        page = body["data"]["contacts"]["nodes"][0]["timeline"]
        seen += len(page["edges"])
        after = page["pageInfo"]["endCursor"] or after
    assert seen > 4
    # a cursor reads on in either order
    for order in ("OLDEST_FIRST", "NEWEST_FIRST"):
        await _compare(api, first_only, {"last": 3, "before": after, "order": order}, compiled=True)
        await _compare(api, first_only, {"first": 3, "after": after, "order": order}, compiled=True)
    await _compare(api, first_only, {"first": 0, "order": "NEWEST_FIRST"}, compiled=True)


@pytest.mark.parametrize(
    "flt",
    [
        {"kinds": ["NOTE", "CASE_OPENED", "DEAL_STAGE_CHANGED"]},
        {"channels": ["EMAIL"], "interactionKinds": ["EMAIL_OPEN", "EMAIL_CLICK"]},
        {"journeyStages": ["CONSIDERATION", "DECISION"]},
        {"occurredFrom": "2020-01-01T00:00:00Z", "occurredBefore": "2100-01-01T00:00:00Z"},
        {"kinds": ["NOTE"], "channels": ["EMAIL"]},  # no event can match: no source at all
        {"kinds": ["NOTE"], "channels": ["EMAIL"], "occurredFrom": "2020-01-01T00:00:00Z"},
        {"kinds": []},
    ],
)
async def test_timeline_filters(demo_api, flt):
    variables = {"first": 10, "order": "NEWEST_FIRST", "filter": flt}
    await _compare(demo_api(), PAGE, variables, compiled=True)


async def test_what_the_timeline_compiler_leaves_to_the_resolvers(demo_api):
    api = demo_api()
    # bad page arguments: the resolvers' error at the resolvers' path
    bad = "{ contacts(first: 2) { nodes { timeline(first: 500) { totalCount } } } }"
    body = await _compare(api, bad, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # the partner's key lacks timeline:read
    partner = demo_api("partner")
    body = await _compare(partner, "{ contacts(first: 2) { nodes { timeline { totalCount } } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_actors_of_notes_and_stage_moves(demo_api, api):
    """Who wrote a note: the API key's name (also once revoked), or the member."""
    created = await api.mutate(
        'mutation { createContact(input: {firstName: "Noted"}) {'
        " contact { id } userErrors { field message code } } }"
    )
    contact = created["contact"]["id"]
    for body in ("first", "second"):
        await api.mutate(
            "mutation($c: ID!, $b: String!) { addNote(input: {contactId: $c, body: $b}) {"
            " note { id } userErrors { field message code } } }",
            c=contact,
            b=body,
        )
    query = """query($id: ID!) { contact(id: $id) { timeline { edges { cursor node {
      __typename ... on NoteEvent { body author { __typename apiKeyName member { name } } } } } } } }"""
    body = await _compare(api, query, {"id": contact}, compiled=True)
    edges = body["data"]["contact"]["timeline"]["edges"]
    authors = [e["node"]["author"] for e in edges if e["node"]["__typename"] == "NoteEvent"]
    assert len(authors) == 2 and all(a["apiKeyName"] for a in authors), authors


@pytest.mark.parametrize("caller", ["admin", "no_pii"])
async def test_deal_stage_history(demo_api, caller):
    query = """{ deals(first: 30) { nodes { name stageHistory { __typename changedAt
      fromStage { name } toStage { name position pipeline { name } }
      changedBy { __typename apiKeyName member { name email } } } } } }"""
    body = await _compare(demo_api(caller), query, compiled=True)
    histories = [d["stageHistory"] for d in body["data"]["deals"]["nodes"]]
    assert any(len(h) > 1 for h in histories)
