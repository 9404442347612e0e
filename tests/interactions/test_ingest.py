"""Ingest as channels send it: batches, contacts found (or created) by identity, journey moves."""

import asyncio
import difflib

ERRORS = "userErrors { field message code }"
TRACK = f"""mutation($input: TrackInteractionInput!) {{ trackInteraction(input: $input) {{
    created interaction {{ id contact {{ id firstName lifecycleStage journeyStage email phone }} }}
    {ERRORS} }} }}"""
BATCH = f"""mutation($inputs: [TrackInteractionInput!]!) {{ trackInteractions(inputs: $inputs) {{
    results {{ created interaction {{ id externalId contact {{ id }} }} {ERRORS} }} {ERRORS} }} }}"""
JOURNEY = """query($c: ID!) { contact(id: $c) { journeyStage version
    journey { transitions { fromStage toStage regression interaction { id } } } } }"""


async def _contact(api, **fields) -> str:
    payload = await api.mutate(
        f"mutation($i: CreateContactInput!) {{ createContact(input: $i) {{ contact {{ id }} {ERRORS} }} }}",
        i={"firstName": "Rani", **fields},
    )
    return payload["contact"]["id"]


async def _count(api, what: str = "interactions") -> int:
    return (await api(f"{{ {what} {{ totalCount }} }}"))[what]["totalCount"]


async def test_unknown_email_creates_a_subscriber_and_the_next_touch_finds_it(api):
    first = await api.mutate(
        TRACK,
        input={
            "contact": {"email": "Dewi@Example.com", "firstName": "Dewi"},
            "channel": "EMAIL",
            "kind": "EMAIL_OPEN",
        },
    )
    contact = first["interaction"]["contact"]
    assert contact["firstName"] == "Dewi" and contact["email"] == "dewi@example.com"
    assert (contact["lifecycleStage"], contact["journeyStage"]) == ("SUBSCRIBER", "AWARENESS")
    # same email, other spelling: same person, and it learns the phone the touch carried
    again = await api.mutate(
        TRACK,
        input={
            "contact": {"email": "dewi@EXAMPLE.com", "phone": "0812-1111-2222", "country": "ID"},
            "channel": "WHATSAPP",
            "kind": "MESSAGE",
        },
    )
    assert again["interaction"]["contact"]["id"] == contact["id"]
    assert again["interaction"]["contact"]["phone"] == "+6281211112222"
    by_phone = await api.mutate(
        TRACK, input={"contact": {"phone": "+6281211112222"}, "channel": "PHONE", "kind": "CALL"}
    )
    assert by_phone["interaction"]["contact"]["id"] == contact["id"]
    assert await _count(api, "contacts") == 1


async def test_external_identity_lands_on_one_contact(api):
    ref = {"externalIdentity": {"source": "line", "id": "U123"}}
    touches = [
        await api.mutate(TRACK, input={"contact": ref, "channel": "CHAT", "kind": "MESSAGE"})
        for _ in range(2)
    ]
    ids = {t["interaction"]["contact"]["id"] for t in touches}
    assert len(ids) == 1
    # the same id in another system is another person
    other = await api.mutate(
        TRACK,
        input={
            "contact": {"externalIdentity": {"source": "telegram", "id": "U123"}},
            "channel": "CHAT",
            "kind": "MESSAGE",
        },
    )
    assert other["interaction"]["contact"]["id"] not in ids
    # an identity of an existing contact attaches to it
    known = await _contact(api, emails=[{"address": "budi@example.com"}])
    attached = await api.mutate(
        TRACK,
        input={
            "contact": {
                "email": "budi@example.com",
                "externalIdentity": {"source": "line", "id": "U9"},
            },
            "channel": "CHAT",
            "kind": "MESSAGE",
        },
    )
    assert attached["interaction"]["contact"]["id"] == known
    via_line = await api.mutate(
        TRACK,
        input={
            "contact": {"externalIdentity": {"source": "line", "id": "U9"}},
            "channel": "CHAT",
            "kind": "MESSAGE",
        },
    )
    assert via_line["interaction"]["contact"]["id"] == known


async def test_concurrent_first_touches_of_one_person_create_one_contact(api):
    body = {"contact": {"email": "new@example.com"}, "channel": "WEB", "kind": "FORM_SUBMIT"}
    results = await asyncio.gather(*(api.raw(TRACK, input=body) for _ in range(8)))
    payloads = [r["data"]["trackInteraction"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert len({p["interaction"]["contact"]["id"] for p in payloads}) == 1
    assert await _count(api, "contacts") == 1
    assert await _count(api) == 8
    # a request that lost the race to create the person leaves no trace in the change log:
    # partners must never hear of a contact that nobody can read
    created = await api(
        '{ changes(first: 50, filter: {types: ["contact.created"]}) { edges { node { recordId } } } }'
    )
    ids = {e["node"]["recordId"] for e in created["changes"]["edges"]}
    assert len(ids) == 1, ids


async def test_identity_refusals_write_nothing(api):
    await _contact(api, emails=[{"address": "a@example.com"}])
    await _contact(api, phones=[{"number": "+6281299990000"}])
    contact = await _contact(api)
    cases = [
        ({"email": "a@example.com", "phone": "+6281299990000"}, ["input", "contact"], "CONFLICT"),
        ({"email": "not-an-email"}, ["input", "contact", "email"], "BAD_USER_INPUT"),
        ({"phone": "0812"}, ["input", "contact", "phone"], "BAD_USER_INPUT"),
        ({"firstName": "Nobody"}, ["input", "contact", "email"], "BAD_USER_INPUT"),
        (
            {"externalIdentity": {"source": " ", "id": "x"}},
            ["input", "contact", "externalIdentity", "source"],
            "BAD_USER_INPUT",
        ),
    ]
    for ref, field, code in cases:
        body = await api.raw(TRACK, input={"contact": ref, "channel": "WEB", "kind": "PAGE_VIEW"})
        errors = body["data"]["trackInteraction"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], (ref, errors)
    both = await api.raw(
        TRACK,
        input={
            "contactId": contact,
            "contact": {"email": "z@example.com"},
            "channel": "WEB",
            "kind": "PAGE_VIEW",
        },
    )
    assert both["data"]["trackInteraction"]["userErrors"][0]["field"] == ["input", "contact"]
    assert await _count(api) == 0 and await _count(api, "contacts") == 3


async def test_deleted_contacts_identity_is_a_conflict_not_a_new_profile(api):
    contact = await _contact(api, emails=[{"address": "gone@example.com"}])
    await api.mutate(
        f"mutation($id: ID!) {{ deleteContact(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}",
        id=contact,
    )
    body = await api.raw(
        TRACK,
        input={"contact": {"email": "gone@example.com"}, "channel": "EMAIL", "kind": "EMAIL_OPEN"},
    )
    error = body["data"]["trackInteraction"]["userErrors"][0]
    assert error["code"] == "CONFLICT" and contact in error["message"]
    assert await _count(api, "contacts") == 0


async def test_batch_records_good_items_and_reports_bad_ones(api):
    contact = await _contact(api)
    inputs = [
        {
            "contactId": contact,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "source": "web",
            "externalId": "1",
        },
        {"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "sentiment": "3"},
        {"contact": {"email": "batch@example.com"}, "channel": "EMAIL", "kind": "EMAIL_OPEN"},
        {"contactId": "not-an-id", "channel": "WEB", "kind": "PAGE_VIEW"},
        {
            "contactId": contact,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "source": "web",
            "externalId": "1",
        },
    ]
    payload = await api.mutate(BATCH, inputs=inputs)
    results = payload["results"]
    assert [r["created"] for r in results] == [True, False, True, False, False]
    assert results[1]["userErrors"][0]["field"] == ["inputs", "1", "sentiment"]
    assert results[1]["interaction"] is None
    assert results[3]["userErrors"][0]["field"] == ["inputs", "3", "contactId"]
    # the repeat inside the batch returns the first one
    assert results[4]["interaction"]["id"] == results[0]["interaction"]["id"]
    assert results[4]["userErrors"] == []
    assert await _count(api) == 2
    assert await _count(api, "contacts") == 2


async def test_batch_limit(api):
    contact = await _contact(api)
    inputs = [{"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW"}] * 1001
    payload = (await api(BATCH, inputs=inputs))["trackInteractions"]
    assert payload["userErrors"][0]["field"] == ["inputs"]
    assert payload["userErrors"][0]["code"] == "BAD_USER_INPUT"
    assert payload["results"] == []
    assert await _count(api) == 0
    full = await api.mutate(BATCH, inputs=inputs[:1000])
    assert sum(r["created"] for r in full["results"]) == 1000


async def test_journey_moves_forward_only_unless_flagged_as_regression(api):
    contact = await _contact(api)

    async def touch(stage: str, **extra) -> str:
        payload = await api.mutate(
            TRACK,
            input={
                "contactId": contact,
                "channel": "WEB",
                "kind": "PAGE_VIEW",
                "journeyStage": stage,
                **extra,
            },
        )
        return payload["interaction"]["id"]

    to_decision = await touch("DECISION")
    await touch("CONSIDERATION")  # an earlier stage: the contact stays in DECISION
    data = await api(JOURNEY, c=contact)
    assert data["contact"]["journeyStage"] == "DECISION"
    steps = data["contact"]["journey"]["transitions"]
    assert [(s["fromStage"], s["toStage"]) for s in steps] == [
        (None, "AWARENESS"),
        ("AWARENESS", "DECISION"),
    ]
    assert steps[1]["interaction"]["id"] == to_decision and not steps[1]["regression"]

    churn = await touch("RETENTION")
    back = await touch("CONSIDERATION", regression=True)
    data = await api(JOURNEY, c=contact)
    assert data["contact"]["journeyStage"] == "CONSIDERATION"
    last = data["contact"]["journey"]["transitions"][-1]
    assert (last["fromStage"], last["toStage"], last["regression"]) == (
        "RETENTION",
        "CONSIDERATION",
        True,
    )
    assert last["interaction"]["id"] == back and churn != back

    refused = await api.raw(
        TRACK,
        input={"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "regression": True},
    )
    assert refused["data"]["trackInteraction"]["userErrors"][0]["field"] == ["input", "regression"]


async def test_a_retried_touch_moves_nothing_twice(api):
    contact = await _contact(api)
    body = {
        "contactId": contact,
        "channel": "EMAIL",
        "kind": "EMAIL_CLICK",
        "journeyStage": "CONSIDERATION",
        "source": "mailer",
        "externalId": "click-1",
    }
    await asyncio.gather(*(api.raw(TRACK, input=body) for _ in range(5)))
    data = await api(JOURNEY, c=contact)
    assert [s["toStage"] for s in data["contact"]["journey"]["transitions"]] == [
        "AWARENESS",
        "CONSIDERATION",
    ]


async def test_batch_statements_do_not_grow_with_its_size(api, database):
    contacts = [await _contact(api) for _ in range(3)]

    async def statements(n: int, start: int) -> int:
        inputs = [
            {
                "contactId": contacts[i % 3],
                "channel": "WEB",
                "kind": "PAGE_VIEW",
                "source": "web",
                "externalId": f"pv-{start + i}",
            }
            for i in range(n)
        ]
        with database.capture_statements() as captured:
            payload = await api.mutate(BATCH, inputs=inputs)
        assert all(r["created"] for r in payload["results"])
        return [" ".join(s.split())[:120] for s in captured]

    await statements(1, 1000)  # first-use look-ups (the request role, ...) out of the way
    small, large = await statements(10, 0), await statements(200, 10)
    assert len(small) == len(large), "\n".join(difflib.unified_diff(small, large, lineterm=""))
    assert await _count(api) == 211


async def test_batch_moves_journeys_in_time_order_and_finds_people_by_identity(api):
    contact = await _contact(api)
    inputs = [
        # listed out of order: applied in the order they happened
        {
            "contactId": contact,
            "channel": "EMAIL",
            "kind": "EMAIL_CLICK",
            "journeyStage": "DECISION",
            "occurredAt": "2030-01-03T00:00:00Z",
        },
        {
            "contactId": contact,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "journeyStage": "CONSIDERATION",
            "occurredAt": "2030-01-02T00:00:00Z",
        },
        {"contact": {"email": "new.person@example.com"}, "channel": "CHAT", "kind": "MESSAGE"},
        {"contact": {"email": "NEW.person@example.com"}, "channel": "CHAT", "kind": "MESSAGE"},
        {"contact": {"email": "broken@"}, "channel": "CHAT", "kind": "MESSAGE"},
    ]
    payload = await api.mutate(BATCH, inputs=inputs)
    results = payload["results"]
    assert [r["created"] for r in results] == [True, True, True, True, False]
    assert results[2]["interaction"]["contact"]["id"] == results[3]["interaction"]["contact"]["id"]
    assert results[4]["userErrors"][0]["field"] == ["inputs", "4", "contact", "email"]
    data = await api(JOURNEY, c=contact)
    assert data["contact"]["journeyStage"] == "DECISION"
    assert [s["toStage"] for s in data["contact"]["journey"]["transitions"]] == [
        "AWARENESS",
        "CONSIDERATION",
        "DECISION",
    ]


async def test_concurrent_batches_over_the_same_contacts(api):
    contacts = [await _contact(api) for _ in range(4)]

    def batch(order: list[str], tag: str) -> list[dict]:
        return [
            {
                "contactId": c,
                "channel": "WEB",
                "kind": "PAGE_VIEW",
                "journeyStage": "CONSIDERATION",
                "source": tag,
                "externalId": f"{tag}-{i}",
            }
            for i, c in enumerate(order)
        ]

    for round_ in range(3):  # locks taken in opposite orders must never deadlock
        bodies = await asyncio.gather(
            api.raw(BATCH, inputs=batch(contacts, f"a{round_}")),
            api.raw(BATCH, inputs=batch(list(reversed(contacts)), f"b{round_}")),
            api.raw(BATCH, inputs=batch(contacts, f"a{round_}")),  # a retry of the first
            api.raw(BATCH, inputs=batch(contacts[1:] + contacts[:1], f"c{round_}")),
        )
        for body in bodies:
            assert "errors" not in body, body
            assert all(not r["userErrors"] for r in body["data"]["trackInteractions"]["results"])
    assert await _count(api) == 3 * 12
    for c in contacts:
        assert (await api(JOURNEY, c=c))["contact"]["journeyStage"] == "CONSIDERATION"
