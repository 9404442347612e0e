"""Reading segments: lists, members like `contacts`, Contact.segments, isolation, SQL count."""

import pytest

from tests.segments import helpers as h


async def test_segments_and_members_page_like_contacts(api):
    ids = [await h.contact(api, f"C{i}", city="Jakarta" if i % 2 else "Bandung") for i in range(7)]
    everyone = await h.create_segment(api, "Everyone", {})
    await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    await h.create_segment(api, "Picked", include=ids[:2])
    data = await api(
        """{ segments(orderBy: [{field: NAME}], first: 2) { totalCount
               nodes { name kind } pageInfo { hasNextPage endCursor } }
             dynamic: segments(filter: {kind: {eq: DYNAMIC}, name: {startsWith: "j"}}) {
               nodes { name } } }"""
    )
    assert data["segments"]["totalCount"] == 3
    assert [n["name"] for n in data["segments"]["nodes"]] == ["Everyone", "Jakarta"]
    assert data["dynamic"]["nodes"] == [{"name": "Jakarta"}]
    after = data["segments"]["pageInfo"]["endCursor"]
    rest = await api(
        "query($a: String) { segments(orderBy: [{field: NAME}], after: $a) { nodes { name kind } } }",
        a=after,
    )
    assert rest["segments"]["nodes"] == [{"name": "Picked", "kind": "STATIC"}]

    query = """query($id: ID!, $after: String, $before: String, $first: Int, $last: Int) {
      segment(id: $id) { members(filter: {city: {eq: "Jakarta"}}, orderBy: [{field: FIRST_NAME}],
                                 first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { firstName } } pageInfo { hasNextPage endCursor startCursor } } } }"""
    page = (await api(query, id=everyone["id"], first=2))["segment"]["members"]
    assert page["totalCount"] == 3
    assert [e["node"]["firstName"] for e in page["edges"]] == ["C1", "C3"]
    page2 = await api(query, id=everyone["id"], first=2, after=page["pageInfo"]["endCursor"])
    assert [e["node"]["firstName"] for e in page2["segment"]["members"]["edges"]] == ["C5"]
    back = await api(query, id=everyone["id"], last=1, before=page["pageInfo"]["endCursor"])
    assert [e["node"]["firstName"] for e in back["segment"]["members"]["edges"]] == ["C1"]

    data = await api(
        "query($id: ID!) { contact(id: $id) { segments(orderBy: [{field: NAME}]) { nodes { name } } } }",
        id=ids[1],
    )
    assert [n["name"] for n in data["contact"]["segments"]["nodes"]] == [
        "Everyone",
        "Jakarta",
        "Picked",
    ]
    data = await api(
        'query($s: [ID!]) { contacts(filter: {inSegment: $s, city: {eq: "Bandung"}}) { nodes { firstName } } }',
        s=[everyone["id"]],
    )
    assert sorted(n["firstName"] for n in data["contacts"]["nodes"]) == ["C0", "C2", "C4", "C6"]


async def test_other_workspaces_segments_and_contacts_are_not_found(api, other_api):
    theirs = await h.create_segment(other_api, "Theirs", {})
    their_contact = await h.contact(other_api, "Budi")
    mine = await h.create_segment(api, "Mine", kind="STATIC")
    body = await api.raw("query($id: ID!) { segment(id: $id) { id } }", id=theirs["id"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    data = await api(
        "query($id: ID!, $s: [ID!]) { node(id: $id) { id } contacts(filter: {inSegment: $s}) { totalCount } "
        "segments { totalCount } }",
        id=theirs["id"],
        s=[theirs["id"]],
    )
    assert data == {"node": None, "contacts": {"totalCount": 0}, "segments": {"totalCount": 1}}
    mutations = [
        ("updateSegment", "UpdateSegmentInput", {"id": theirs["id"], "version": 1, "name": "X"}),
        ("deleteSegment", "SegmentIdInput", {"id": theirs["id"]}),
        ("restoreSegment", "SegmentIdInput", {"id": theirs["id"]}),
        ("refreshSegment", "SegmentIdInput", {"id": theirs["id"]}),
        ("addToSegment", "SegmentContactsInput", {"segmentId": theirs["id"], "contactIds": []}),
        (
            "addToSegment",
            "SegmentContactsInput",
            {"segmentId": mine["id"], "contactIds": [their_contact]},
        ),
        (
            "removeFromSegment",
            "SegmentContactsInput",
            {"segmentId": theirs["id"], "contactIds": []},
        ),
        (
            "clearSegmentOverrides",
            "SegmentContactsInput",
            {"segmentId": theirs["id"], "contactIds": []},
        ),
    ]
    for mutation, input_type, value in mutations:
        data = await api(
            f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {h.ERRORS} }} }}",
            input=value,
        )
        assert [e["code"] for e in data[mutation]["userErrors"]] == ["NOT_FOUND"], mutation
    theirs_now = await other_api(
        "query($id: ID!) { segment(id: $id) { name size } }", id=theirs["id"]
    )
    assert theirs_now["segment"] == {"name": "Theirs", "size": 1}


NESTED = """query($n: Int!) {
  segments(first: $n, orderBy: [{field: NAME}]) {
    totalCount
    nodes { name size sizeHistory(days: 2) { size }
            members(first: 5) { totalCount nodes { firstName segments { nodes { name } } } }
            membershipChanges(first: 2) { nodes { change contact { firstName } } } }
  }
}"""


@pytest.mark.parametrize("small, large", [(2, 12)])
async def test_statements_do_not_grow_with_list_length(api, database, small, large):
    contacts = [await h.contact(api, f"C{i}") for i in range(6)]
    for i in range(large):
        await h.create_segment(api, f"S{i:02d}", include=contacts[: i % 6 + 1])
    counts = []
    for n in (small, large):
        with database.capture_statements() as statements:
            data = await api(NESTED, n=n)
        counts.append(len(statements))
        assert len(data["segments"]["nodes"]) == n
        node = data["segments"]["nodes"][1]
        assert node["size"] == 2 and node["members"]["totalCount"] == 2
        assert len(node["members"]["nodes"][0]["segments"]["nodes"]) >= 2
    assert counts[0] == counts[1], counts
    assert counts[1] <= 20, counts


async def test_rule_masks_personal_data_without_pii_read(api, database):
    """A VIEWER (segments:read, no pii:read) reads a rule's emails and phones masked, like
    every other read of personal data; the shape of the rule stays."""
    from relasi.auth.api_keys import create_api_key
    from relasi.auth.scopes import ROLE_SCOPES, Role
    from tests.conftest import Api
    from tests.segments.helpers import create_segment

    rule = {
        "or": [
            {"email": {"eq": "dewi.lestari@example.com"}},
            {"phone": {"in": ["+6281234567890", "+6289876543210"]}},
            {"not": {"email": {"contains": "@rahasia.co.id"}}},
            {"deals": {"some": {"contacts": {"some": {"email": {"startsWith": "budi@"}}}}}},
            {"search": "siti@example.com"},
            {"search": "Retail"},
        ],
        "lifecycleStage": {"eq": "LEAD"},
    }
    segment = await create_segment(api, "Known people", rule)
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(
            conn, api.workspace_id, "viewer", sorted(ROLE_SCOPES[Role.VIEWER])
        )
    viewer = Api(api.client, api.workspace_id, key)
    query = "query($id: ID!) { segment(id: $id) { rule } segments { nodes { rule } } }"
    seen = await viewer(query, id=segment["id"])
    assert seen["segment"]["rule"] == seen["segments"]["nodes"][0]["rule"]
    assert seen["segment"]["rule"] == {
        "or": [
            {"email": {"eq": "d***@example.com"}},
            {"phone": {"in": ["+62*******7890", "+62*******3210"]}},
            {"not": {"email": {"contains": "***@rahasia.co.id"}}},
            {"deals": {"some": {"contacts": {"some": {"email": {"startsWith": "b***@"}}}}}},
            {"search": "s***@example.com"},
            {"search": "Retail"},
        ],
        "lifecycleStage": {"eq": "LEAD"},
    }
    for secret in ("dewi.lestari", "4567890", "budi@", "siti@", "6543210"):
        assert secret not in str(seen)
    # with pii:read (here: admin) the rule reads as stored
    assert (await api(query, id=segment["id"]))["segment"]["rule"] == rule
