"""Timelines through the API: one stream of every event, filters, pages, notes."""

ERRORS = "userErrors { field message code }"
EVENT = """id occurredAt kind contact { id } account { id }
  ... on InteractionEvent { channel interactionKind journeyStage summary interaction { id } }
  ... on JourneyStageChangedEvent { fromStage toStage regression }
  ... on DealStageChangedEvent { deal { name } fromPipelineStage { name } toPipelineStage { name }
        changedBy { apiKeyName } }
  ... on CaseOpenedEvent { case { subject } }
  ... on CaseStatusChangedEvent { fromStatus toStatus case { subject } }
  ... on NoteEvent { body author { apiKeyName } deal { name } case { subject } }"""
TIMELINE = f"""query($id: ID!, $filter: TimelineFilter, $order: TimelineOrder, $first: Int,
      $after: String, $last: Int, $before: String) {{
  node(id: $id) {{
    ... on Contact {{ timeline(filter: $filter, order: $order, first: $first, after: $after,
        last: $last, before: $before) {{ ...page }} }}
    ... on Account {{ timeline(filter: $filter, order: $order, first: $first, after: $after,
        last: $last, before: $before) {{ ...page }} }}
  }}
}}
fragment page on TimelineEventConnection {{
  totalCount edges {{ cursor node {{ {EVENT} }} }}
  pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
}}"""
TRACK = f"""mutation($input: TrackInteractionInput!) {{ trackInteraction(input: $input) {{
    interaction {{ id }} {ERRORS} }} }}"""
NOTE = f"""mutation($input: AddNoteInput!) {{ addNote(input: $input) {{
    note {{ id body kind occurredAt contact {{ id }} account {{ id }} }} {ERRORS} }} }}"""


async def timeline(api, node_id: str, **args) -> dict:
    data = await api(TIMELINE, id=node_id, **args)
    return data["node"]["timeline"]


async def _create(api, mutation: str, input: dict) -> dict:
    name = mutation[len("create") :].lower()
    payload = await api.mutate(
        f"mutation($i: {mutation[0].upper()}{mutation[1:]}Input!) {{ {mutation}(input: $i)"
        f" {{ {name} {{ id version }} {ERRORS} }} }}",
        i=input,
    )
    return payload[name]


async def _track(api, contact: str, at: str | None, **extra) -> str:
    payload = await api.mutate(
        TRACK,
        input={
            "contactId": contact,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "occurredAt": at,
            **extra,
        },
    )
    return payload["interaction"]["id"]


async def test_contact_timeline_merges_every_kind_of_event_newest_first(api):
    account = await _create(api, "createAccount", {"name": "Toko Maju"})
    contact = await _create(api, "createContact", {"firstName": "Sari", "accountId": account["id"]})
    touch = await _track(api, contact["id"], "2020-01-01T00:00:00Z", journeyStage="CONSIDERATION")
    deal = await _create(
        api,
        "createDeal",
        {"name": "Renewal", "accountId": account["id"], "contacts": [{"contactId": contact["id"]}]},
    )
    stages = await api("{ pipelines { nodes { stages { id name } } } }")
    proposal = next(
        s["id"] for s in stages["pipelines"]["nodes"][0]["stages"] if s["name"] == "Proposal"
    )
    await api.mutate(
        f"mutation($i: MoveDealStageInput!) {{ moveDealStage(input: $i) {{ {ERRORS} }} }}",
        i={"id": deal["id"], "stageId": proposal},
    )
    case = await _create(api, "createCase", {"subject": "Login broken", "contactId": contact["id"]})
    await api.mutate(
        f"mutation($i: UpdateCaseInput!) {{ updateCase(input: $i) {{ {ERRORS} }} }}",
        i={"id": case["id"], "version": case["version"], "status": "OPEN"},
    )
    await api.mutate(NOTE, input={"contactId": contact["id"], "body": "Prefers WhatsApp"})
    await api.mutate(NOTE, input={"dealId": deal["id"], "body": "Budget approved"})

    page = await timeline(api, contact["id"], first=50)
    events = [edge["node"] for edge in page["edges"]]
    times = [e["occurredAt"] for e in events]
    assert times == sorted(times, reverse=True)
    kinds = [e["kind"] for e in events]
    assert sorted(kinds) == sorted(
        [
            "JOURNEY_STAGE_CHANGED",  # created: AWARENESS
            "INTERACTION",
            "JOURNEY_STAGE_CHANGED",  # moved by the touch
            "DEAL_STAGE_CHANGED",  # created in Prospecting
            "DEAL_STAGE_CHANGED",  # moved to Proposal
            "CASE_OPENED",
            "CASE_STATUS_CHANGED",
            "NOTE",
            "NOTE",
        ]
    )
    assert page["totalCount"] == 9
    by_kind = {}
    for e in events:
        by_kind.setdefault(e["kind"], []).append(e)
    interaction = by_kind["INTERACTION"][0]
    assert interaction["interaction"]["id"] == touch and interaction["channel"] == "WEB"
    assert interaction["account"]["id"] == account["id"]
    moved = next(e for e in by_kind["JOURNEY_STAGE_CHANGED"] if e["fromStage"])
    assert (moved["fromStage"], moved["toStage"]) == ("AWARENESS", "CONSIDERATION")
    deal_moves = {
        (e["fromPipelineStage"] or {}).get("name"): e for e in by_kind["DEAL_STAGE_CHANGED"]
    }
    assert deal_moves["Prospecting"]["toPipelineStage"]["name"] == "Proposal"
    assert deal_moves["Prospecting"]["deal"]["name"] == "Renewal"
    assert deal_moves["Prospecting"]["changedBy"]["apiKeyName"]
    status = by_kind["CASE_STATUS_CHANGED"][0]
    assert (status["fromStatus"], status["toStatus"]) == ("NEW", "OPEN")
    assert status["case"]["subject"] == "Login broken"
    notes = {e["body"]: e for e in by_kind["NOTE"]}
    assert notes["Budget approved"]["deal"]["name"] == "Renewal"
    assert notes["Prefers WhatsApp"]["contact"]["id"] == contact["id"]

    # the account's timeline has its contacts' events and its deal's, once each
    account_page = await timeline(api, account["id"], first=50)
    assert account_page["totalCount"] == 9
    assert len({e["node"]["id"] for e in account_page["edges"]}) == 9


async def test_filters(api):
    contact = await _create(api, "createContact", {"firstName": "Ayu"})
    await _track(api, contact["id"], "2024-01-01T00:00:00Z", channel="AD", kind="AD_CLICK")
    await _track(
        api,
        contact["id"],
        "2024-02-01T00:00:00Z",
        channel="EMAIL",
        kind="EMAIL_OPEN",
        journeyStage="CONSIDERATION",
    )
    await _track(api, contact["id"], "2024-03-01T00:00:00Z", channel="CHAT", kind="MESSAGE")
    await api.mutate(NOTE, input={"contactId": contact["id"], "body": "Called back"})

    async def kinds(flt: dict) -> list[str]:
        page = await timeline(api, contact["id"], filter=flt)
        assert page["totalCount"] == len(page["edges"])
        return [e["node"].get("interactionKind") or e["node"]["kind"] for e in page["edges"]]

    assert await kinds({"channels": ["AD", "CHAT"]}) == ["MESSAGE", "AD_CLICK"]
    assert await kinds({"interactionKinds": ["EMAIL_OPEN"]}) == ["EMAIL_OPEN"]
    assert await kinds({"kinds": ["NOTE"]}) == ["NOTE"]
    assert await kinds({"kinds": ["NOTE", "INTERACTION"], "channels": ["CHAT"]}) == ["MESSAGE"]
    # touches in the stage, and the move into it
    assert sorted(await kinds({"journeyStages": ["CONSIDERATION"]})) == [
        "EMAIL_OPEN",
        "JOURNEY_STAGE_CHANGED",
    ]
    assert await kinds(
        {
            "kinds": ["INTERACTION"],
            "occurredFrom": "2024-02-01T00:00:00Z",
            "occurredBefore": "2024-03-01T00:00:00Z",
        }
    ) == ["EMAIL_OPEN"]
    bad = await api.raw(TIMELINE, id=contact["id"], filter={"channels": ["FAX"]})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_pages_stay_exact_while_events_arrive(api):
    contact = await _create(api, "createContact", {"firstName": "Putri"})
    for day in range(1, 13):
        await _track(
            api, contact["id"], f"2025-01-{day:02d}T00:00:00Z", externalId=f"d{day}", source="t"
        )
    all_events = await timeline(api, contact["id"], first=100)
    expected = [e["node"]["id"] for e in all_events["edges"]]
    assert len(expected) == 13  # 12 touches + the journey's start

    seen, after = [], None
    while True:
        page = await timeline(api, contact["id"], first=5, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        # new events arrive between page reads: they are newer, so never shift later pages
        await _track(api, contact["id"], "2026-06-01T00:00:00Z")
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected  # no duplicates, no gaps

    # backwards from the end gives the same events
    back, before = [], None
    while True:
        page = await timeline(api, contact["id"], last=4, before=before)
        back = [e["node"]["id"] for e in page["edges"]] + back
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    now = await timeline(api, contact["id"], first=100)
    assert back == [e["node"]["id"] for e in now["edges"]]
    assert len(back) == 13 + 3


async def test_catching_up_after_a_cursor_oldest_first(api):
    contact = await _create(api, "createContact", {"firstName": "Intan"})
    await _track(api, contact["id"], "2025-05-01T00:00:00Z")
    newest = await timeline(api, contact["id"], first=1)
    cursor = newest["edges"][0]["cursor"]
    later = [await _track(api, contact["id"], None) for _ in range(3)]  # occurring now
    caught_up = await timeline(api, contact["id"], order="OLDEST_FIRST", after=cursor, first=10)
    assert [e["node"]["interaction"]["id"] for e in caught_up["edges"]] == later
    assert caught_up["pageInfo"]["hasNextPage"] is False
    # and the same cursor pages on into the past, newest first
    older = await timeline(api, contact["id"], after=cursor)
    assert [e["node"]["kind"] for e in older["edges"]] == ["INTERACTION"]  # of 2025-05-01


async def test_history_joins_the_account_a_contact_is_first_linked_to(api):
    first = await _create(api, "createAccount", {"name": "First Co"})
    second = await _create(api, "createAccount", {"name": "Second Co"})
    contact = await _create(api, "createContact", {"firstName": "Eka"})
    await _track(api, contact["id"], "2025-01-01T00:00:00Z")
    update = f"mutation($i: UpdateContactInput!) {{ updateContact(input: $i) {{ contact {{ version }} {ERRORS} }} }}"
    linked = await api.mutate(
        update, i={"id": contact["id"], "version": contact["version"], "accountId": first["id"]}
    )
    assert (await timeline(api, first["id"]))["totalCount"] == 2  # journey start + touch
    await api.mutate(
        update,
        i={"id": contact["id"], "version": linked["contact"]["version"], "accountId": second["id"]},
    )
    await _track(api, contact["id"], "2025-02-01T00:00:00Z")
    # a move keeps the old history with the old account
    assert (await timeline(api, first["id"]))["totalCount"] == 2
    assert (await timeline(api, second["id"]))["totalCount"] == 1
    assert (await timeline(api, contact["id"]))["totalCount"] == 3


async def test_add_note_targets_and_bad_input(api, other_api):
    account = await _create(api, "createAccount", {"name": "PT Sejahtera"})
    contact = await _create(api, "createContact", {"firstName": "Wati", "accountId": account["id"]})
    case = await _create(api, "createCase", {"subject": "Refund", "contactId": contact["id"]})
    note = await api.mutate(NOTE, input={"caseId": case["id"], "body": "  Refund sent  "})
    assert note["note"]["body"] == "Refund sent" and note["note"]["kind"] == "NOTE"
    assert note["note"]["contact"]["id"] == contact["id"]
    assert note["note"]["account"]["id"] == account["id"]
    foreign = await _create(other_api, "createContact", {"firstName": "Stranger"})
    cases = [
        ({"body": "x"}, ["input"], "BAD_USER_INPUT"),
        (
            {"contactId": contact["id"], "accountId": account["id"], "body": "x"},
            ["input"],
            "BAD_USER_INPUT",
        ),
        ({"contactId": contact["id"], "body": "   "}, ["input", "body"], "BAD_USER_INPUT"),
        ({"contactId": contact["id"], "body": "x" * 10_001}, ["input", "body"], "BAD_USER_INPUT"),
        ({"contactId": foreign["id"], "body": "x"}, ["input", "contactId"], "NOT_FOUND"),
        ({"dealId": contact["id"], "body": "x"}, ["input", "dealId"], "NOT_FOUND"),
    ]
    for body, field, code in cases:
        errors = (await api(NOTE, input=body))["addNote"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], (body, errors)
    assert (await timeline(api, contact["id"], filter={"kinds": ["NOTE"]}))["totalCount"] == 1
    assert (await timeline(other_api, foreign["id"], filter={"kinds": ["NOTE"]}))["totalCount"] == 0


async def test_timeline_arguments_are_checked(api, other_api):
    contact = await _create(api, "createContact", {"firstName": "Lina"})
    too_many = await api.raw(TIMELINE, id=contact["id"], first=101)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await api.raw(TIMELINE, id=contact["id"], after="garbage")
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    contacts = await api("{ contacts(first: 1) { pageInfo { endCursor } } }")
    other_list = await api.raw(
        TIMELINE, id=contact["id"], after=contacts["contacts"]["pageInfo"]["endCursor"]
    )
    assert other_list["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # another workspace's contact is simply not there
    foreign = await other_api.raw(TIMELINE, id=contact["id"])
    assert foreign["data"]["node"] is None
