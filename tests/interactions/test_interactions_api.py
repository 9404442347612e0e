"""Touchpoints through the API: recording, idempotent ingest (also concurrent), reading."""

import asyncio

ERRORS = "userErrors { field message code }"
TRACK = f"""mutation($input: TrackInteractionInput!) {{ trackInteraction(input: $input) {{
    created interaction {{ id channel kind occurredAt journeyStage sentiment summary source externalId
      properties utm {{ source medium campaign }} contact {{ id }} account {{ name }} }} {ERRORS} }} }}"""


async def _contact(api, account: str | None = "Kopi Kenangan") -> str:
    account_id = None
    if account:
        payload = await api.mutate(
            f'mutation {{ createAccount(input: {{name: "{account}"}}) {{ account {{ id }} {ERRORS} }} }}'
        )
        account_id = payload["account"]["id"]
    payload = await api.mutate(
        f'mutation($a: ID) {{ createContact(input: {{firstName: "Rani", accountId: $a}}) {{ contact {{ id }} {ERRORS} }} }}',
        a=account_id,
    )
    return payload["contact"]["id"]


async def test_track_interaction_records_every_field(api):
    contact = await _contact(api)
    payload = await api.mutate(
        TRACK,
        input={
            "contactId": contact,
            "channel": "WEB",
            "kind": "PAGE_VIEW",
            "journeyStage": "CONSIDERATION",
            "occurredAt": "2026-03-01T09:30:00+07:00",
            "sentiment": "0.25",
            "summary": "Viewed /pricing",
            "source": "web-tracker",
            "externalId": "pv-1",
            "properties": {"url": "/pricing", "ms": 5400},
            "utm": {"source": "google", "medium": "cpc", "campaign": "ramadan-sale"},
        },
    )
    interaction = payload["interaction"]
    assert payload["created"] is True
    assert interaction["occurredAt"] == "2026-03-01T02:30:00+00:00"  # stored and returned in UTC
    assert interaction["account"]["name"] == "Kopi Kenangan"  # defaults to the contact's account
    assert interaction["properties"] == {"url": "/pricing", "ms": 5400}
    assert interaction["utm"] == {"source": "google", "medium": "cpc", "campaign": "ramadan-sale"}
    assert (interaction["sentiment"], interaction["journeyStage"]) == ("0.250", "CONSIDERATION")


async def test_same_source_and_external_id_is_recorded_once(api):
    contact = await _contact(api)
    body = {
        "contactId": contact,
        "channel": "WHATSAPP",
        "kind": "MESSAGE",
        "source": "wa",
        "externalId": "msg-1",
    }
    first = await api.mutate(TRACK, input=body)
    again = await api.mutate(TRACK, input={**body, "summary": "retried"})
    assert first["created"] is True and again["created"] is False
    assert again["interaction"]["id"] == first["interaction"]["id"]
    other_source = await api.mutate(TRACK, input={**body, "source": "sms"})
    assert other_source["created"] is True
    data = await api(
        "query($c: ID!) { contact(id: $c) { interactions { totalCount } } }", c=contact
    )
    assert data["contact"]["interactions"]["totalCount"] == 2


async def test_concurrent_retries_record_one_interaction(api):
    contact = await _contact(api)
    body = {
        "contactId": contact,
        "channel": "CHAT",
        "kind": "MESSAGE",
        "source": "intercom",
        "externalId": "c-9",
    }
    results = await asyncio.gather(*(api.raw(TRACK, input=body) for _ in range(10)))
    payloads = [r["data"]["trackInteraction"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert len({p["interaction"]["id"] for p in payloads}) == 1
    assert sum(p["created"] for p in payloads) == 1
    assert (await api("{ interactions { totalCount } }"))["interactions"]["totalCount"] == 1


async def test_account_level_touch_and_bad_input(api):
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "PT Abadi"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    touch = await api.mutate(
        TRACK,
        input={"accountId": account["account"]["id"], "channel": "IN_PERSON", "kind": "MEETING"},
    )
    assert (
        touch["interaction"]["contact"] is None
        and touch["interaction"]["account"]["name"] == "PT Abadi"
    )

    contact = await _contact(api, account=None)
    cases = [
        ({"channel": "WEB", "kind": "PAGE_VIEW"}, ["input", "contactId"], "BAD_USER_INPUT"),
        (
            {"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "sentiment": "1.5"},
            ["input", "sentiment"],
            "BAD_USER_INPUT",
        ),
        (
            {"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "properties": [1, 2]},
            ["input", "properties"],
            "BAD_USER_INPUT",
        ),
        (
            {"contactId": contact, "channel": "WEB", "kind": "PAGE_VIEW", "summary": "x" * 1001},
            ["input", "summary"],
            "BAD_USER_INPUT",
        ),
        (
            {
                "contactId": contact,
                "channel": "WEB",
                "kind": "PAGE_VIEW",
                "occurredAt": "2026-03-01T09:30:00",
            },
            ["input", "occurredAt"],
            "BAD_USER_INPUT",
        ),
        (
            {"contactId": account["account"]["id"], "channel": "WEB", "kind": "PAGE_VIEW"},
            ["input", "contactId"],
            "NOT_FOUND",
        ),
    ]
    for body, field, code in cases:
        response = await api.raw(TRACK, input=body)
        errors = response["data"]["trackInteraction"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], (body, errors)
    bad_enum = await api.raw(
        TRACK, input={"contactId": contact, "channel": "FAX", "kind": "PAGE_VIEW"}
    )
    assert bad_enum["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await api("{ interactions { totalCount } }"))["interactions"]["totalCount"] == 1


async def test_reading_touchpoints_newest_first_with_filters(api):
    contact = await _contact(api)
    touches = [
        ("AD", "AD_CLICK", "2026-01-01T00:00:00Z", "AWARENESS", "ramadan-sale"),
        ("WEB", "PAGE_VIEW", "2026-01-02T00:00:00Z", "CONSIDERATION", "ramadan-sale"),
        ("PHONE", "CALL", "2026-01-03T00:00:00Z", "DECISION", None),
    ]
    for channel, kind, at, stage, campaign in touches:
        body = {
            "contactId": contact,
            "channel": channel,
            "kind": kind,
            "occurredAt": at,
            "journeyStage": stage,
        }
        if campaign:
            body["utm"] = {"campaign": campaign}
        await api.mutate(TRACK, input=body)
    data = await api(
        """query($c: ID!) { contact(id: $c) { interactions(first: 2) { nodes { kind } pageInfo { hasNextPage } } }
             campaign: interactions(filter: {utmCampaign: {eq: "ramadan-sale"}}) { totalCount }
             early: interactions(filter: {occurredAt: {lt: "2026-01-02T12:00:00Z"}, channel: {in: [AD, WEB]}}) { totalCount }
             decided: interactions(filter: {journeyStage: {eq: DECISION}}) { nodes { kind } } }""",
        c=contact,
    )
    assert [n["kind"] for n in data["contact"]["interactions"]["nodes"]] == ["CALL", "PAGE_VIEW"]
    assert data["contact"]["interactions"]["pageInfo"]["hasNextPage"] is True
    assert data["campaign"]["totalCount"] == 2 and data["early"]["totalCount"] == 2
    assert data["decided"]["nodes"] == [{"kind": "CALL"}]
