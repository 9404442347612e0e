"""Timelines and journeys of a whole list cost the same SQL statements as those of one contact."""

ERRORS = "userErrors { field message code }"
QUERY = """query($n: Int!) { contacts(first: $n) { nodes {
  timeline(first: 5) { totalCount edges { cursor node { id kind occurredAt contact { id }
    ... on InteractionEvent { channel interaction { source } }
    ... on JourneyStageChangedEvent { toStage }
    ... on NoteEvent { body author { apiKeyName member { name } } } } } }
  journey { stage transitions { toStage } touchpointsByChannel { count } }
  account { timeline(first: 3) { edges { node { id } } } journey { furthestStage } }
} } }"""


async def _populate(api, count: int) -> None:
    parts = []
    for i in range(count):
        parts.append(
            f'a{i}: createAccount(input: {{name: "A{i}"}}) {{ account {{ id }} {ERRORS} }}'
        )
    accounts = await api.mutate_many(parts)
    parts = []
    for i in range(count):
        account = accounts[f"a{i}"]["account"]["id"]
        parts.append(
            f'c{i}: createContact(input: {{firstName: "C{i}", accountId: "{account}"}})'
            f" {{ contact {{ id }} {ERRORS} }}"
        )
    contacts = await api.mutate_many(parts)
    parts = []
    for i in range(count):
        contact = contacts[f"c{i}"]["contact"]["id"]
        for j, stage in enumerate(("AWARENESS", "CONSIDERATION", "DECISION")):
            parts.append(
                f'i{i}_{j}: trackInteraction(input: {{contactId: "{contact}", channel: WEB,'
                f" kind: PAGE_VIEW, journeyStage: {stage}}}) {{ {ERRORS} }}"
            )
        parts.append(
            f'n{i}: addNote(input: {{contactId: "{contact}", body: "note {i}"}}) {{ {ERRORS} }}'
        )
    created = await api.mutate_many(parts)
    assert all(not payload["userErrors"] for payload in created.values())


async def test_timeline_statements_do_not_grow_with_the_list(api, database):
    await _populate(api, 12)
    counts = []
    for n in (2, 12):
        with database.capture_statements() as statements:
            data = await api(QUERY, n=n)
        nodes = data["contacts"]["nodes"]
        assert len(nodes) == n
        for node in nodes:
            # the journey start, 3 touches, 2 moves (CONSIDERATION, DECISION), the note
            assert node["timeline"]["totalCount"] == 7
            assert len(node["timeline"]["edges"]) == 5
            assert node["journey"]["stage"] == "DECISION"
            assert node["account"]["journey"]["furthestStage"] == "DECISION"
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 25, counts
