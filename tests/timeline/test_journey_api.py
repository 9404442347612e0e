"""The journey view: stage, transitions, touchpoints per stage and channel, attribution, asOf."""

ERRORS = "userErrors { field message code }"
TRACK = f"""mutation($input: TrackInteractionInput!) {{ trackInteraction(input: $input) {{
    interaction {{ id }} {ERRORS} }} }}"""
JOURNEY = """query($c: ID!, $asOf: DateTime) { contact(id: $c) { journey(asOf: $asOf) {
    asOf stage enteredStageAt touchpointCount
    transitions { fromStage toStage enteredAt exitedAt durationSeconds regression interaction { id } }
    touchpointsByStage { stage count }
    touchpointsByChannel { channel count }
    firstTouch { occurredAt channel source utmSource utmMedium campaign interaction { id } }
    lastTouch { occurredAt channel source campaign interaction { id } }
} } }"""


async def _contact(api, **fields) -> str:
    payload = await api.mutate(
        f"mutation($i: CreateContactInput!) {{ createContact(input: $i) {{ contact {{ id }} {ERRORS} }} }}",
        i={"firstName": "Nia", **fields},
    )
    return payload["contact"]["id"]


async def _track(
    api, contact: str, at: str, channel: str, stage: str | None = None, **extra
) -> str:
    body = {"contactId": contact, "channel": channel, "kind": "OTHER", "occurredAt": at, **extra}
    if stage:
        body["journeyStage"] = stage
    return (await api.mutate(TRACK, input=body))["interaction"]["id"]


async def _journey(api, contact: str, as_of: str | None = None) -> dict:
    return (await api(JOURNEY, c=contact, asOf=as_of))["contact"]["journey"]


async def test_journey_of_a_contact_and_as_it_stood_earlier(api):
    contact = await _contact(api)
    ad = await _track(
        api,
        contact,
        "2030-01-01T00:00:00Z",
        "AD",
        source="meta-ads",
        utm={"source": "instagram", "medium": "paid", "campaign": "launch"},
    )
    await _track(api, contact, "2030-01-05T00:00:00Z", "WEB")
    web = await _track(api, contact, "2030-01-10T00:00:00Z", "WEB", "CONSIDERATION")
    await _track(api, contact, "2030-01-12T00:00:00Z", "EMAIL")
    call = await _track(
        api, contact, "2030-02-01T00:00:00Z", "PHONE", "DECISION", utm={"campaign": "q1-push"}
    )
    await _track(api, contact, "2030-02-02T00:00:00Z", "WEB", "AWARENESS")  # earlier: no move

    now = await _journey(api, contact)
    assert now["asOf"] is None and now["stage"] == "DECISION"
    assert now["enteredStageAt"] == "2030-02-01T00:00:00+00:00"
    steps = now["transitions"]
    assert [(s["fromStage"], s["toStage"]) for s in steps] == [
        (None, "AWARENESS"),
        ("AWARENESS", "CONSIDERATION"),
        ("CONSIDERATION", "DECISION"),
    ]
    assert steps[1]["interaction"]["id"] == web and steps[2]["interaction"]["id"] == call
    assert steps[1]["exitedAt"] == steps[2]["enteredAt"]
    assert steps[1]["durationSeconds"] == 22 * 24 * 3600
    assert steps[2]["exitedAt"] is None and steps[2]["durationSeconds"] is None
    # touches before the journey's first recorded move count in its first stage
    assert now["touchpointsByStage"] == [
        {"stage": "AWARENESS", "count": 2},
        {"stage": "CONSIDERATION", "count": 2},
        {"stage": "DECISION", "count": 2},
        {"stage": "RETENTION", "count": 0},
        {"stage": "ADVOCACY", "count": 0},
    ]
    assert now["touchpointsByChannel"] == [
        {"channel": "WEB", "count": 3},
        {"channel": "AD", "count": 1},
        {"channel": "EMAIL", "count": 1},
        {"channel": "PHONE", "count": 1},
    ]
    assert now["touchpointCount"] == 6
    assert now["firstTouch"] == {
        "occurredAt": "2030-01-01T00:00:00+00:00",
        "channel": "AD",
        "source": "meta-ads",
        "utmSource": "instagram",
        "utmMedium": "paid",
        "campaign": "launch",
        "interaction": {"id": ad},
    }
    assert now["lastTouch"]["channel"] == "WEB"

    then = await _journey(api, contact, "2030-01-20T00:00:00Z")
    assert then["asOf"] == "2030-01-20T00:00:00+00:00"
    assert then["stage"] == "CONSIDERATION"
    assert then["enteredStageAt"] == "2030-01-10T00:00:00+00:00"
    assert [s["toStage"] for s in then["transitions"]] == ["AWARENESS", "CONSIDERATION"]
    assert then["transitions"][-1]["exitedAt"] is None
    assert then["touchpointCount"] == 4
    assert then["lastTouch"]["channel"] == "EMAIL"
    assert {c["stage"]: c["count"] for c in then["touchpointsByStage"]}["DECISION"] == 0

    before_it_existed = await _journey(api, contact, "2000-01-01T00:00:00Z")
    assert before_it_existed["stage"] is None and before_it_existed["transitions"] == []
    assert before_it_existed["firstTouch"] is None and before_it_existed["touchpointCount"] == 0


async def test_account_journey(api):
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Bank Nusantara"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    account_id = account["account"]["id"]
    first = await _contact(api, accountId=account_id)
    second = await _contact(api, accountId=account_id, journeyStage="CONSIDERATION")
    await _contact(api, accountId=account_id)
    await _track(api, first, "2030-01-01T00:00:00Z", "WEB", "ADVOCACY")
    await _track(api, first, "2030-02-01T00:00:00Z", "WEB", "RETENTION", regression=True)
    assert second
    query = """query($a: ID!) { account(id: $a) { journey {
        furthestStage contactsByStage { stage count } } } }"""
    journey = (await api(query, a=account_id))["account"]["journey"]
    # the furthest stage ever reached, although that contact fell back since
    assert journey["furthestStage"] == "ADVOCACY"
    assert journey["contactsByStage"] == [
        {"stage": "AWARENESS", "count": 1},
        {"stage": "CONSIDERATION", "count": 1},
        {"stage": "DECISION", "count": 0},
        {"stage": "RETENTION", "count": 1},
        {"stage": "ADVOCACY", "count": 0},
    ]
    empty = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Empty"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    nothing = (await api(query, a=empty["account"]["id"]))["account"]["journey"]
    assert nothing["furthestStage"] is None
    assert all(s["count"] == 0 for s in nothing["contactsByStage"])


async def test_setting_the_stage_by_hand_is_a_transition_too(api):
    contact = await api.mutate(
        f'mutation {{ createContact(input: {{firstName: "Tono", journeyStage: DECISION}}) {{ contact {{ id version }} {ERRORS} }} }}'
    )
    contact_id = contact["contact"]["id"]
    await api.mutate(
        f"mutation($i: UpdateContactInput!) {{ updateContact(input: $i) {{ {ERRORS} }} }}",
        i={"id": contact_id, "version": contact["contact"]["version"], "journeyStage": "AWARENESS"},
    )
    steps = (await _journey(api, contact_id))["transitions"]
    assert [(s["fromStage"], s["toStage"], s["regression"]) for s in steps] == [
        (None, "DECISION", False),
        ("DECISION", "AWARENESS", True),
    ]
