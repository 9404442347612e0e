"""Writes that make every event type once or more (as tests/changes/test_event_types.py)."""

from tests.conftest import Api
from tests.webhooks.conftest import ERRORS

_INPUTS = {"addToSegment": "SegmentContactsInput", "removeFromSegment": "SegmentContactsInput"}


async def mutate(api: Api, field: str, input: dict, select: str = "") -> dict:
    input_type = _INPUTS.get(field, f"{field[0].upper()}{field[1:]}Input")
    query = f"mutation($i: {input_type}!) {{ {field}(input: $i) {{ {select} {ERRORS} }} }}"
    return await api.mutate(query, i=input)


async def every_event_type(api: Api) -> None:
    c = (await mutate(api, "createContact", {"firstName": "Sari"}, "contact { id version }"))[
        "contact"
    ]
    await mutate(api, "updateContact", {"id": c["id"], "version": 1, "lastName": "Wijaya"})
    a = (await mutate(api, "createAccount", {"name": "Toko"}, "account { id }"))["account"]
    await mutate(api, "updateAccount", {"id": a["id"], "version": 1, "industry": "Retail"})
    d = (
        await mutate(
            api,
            "createDeal",
            {"name": "Big", "amount": {"amount": "1500.5", "currency": "USD"}},
            "deal { id pipeline { stages { id } } }",
        )
    )["deal"]
    await mutate(api, "moveDealStage", {"id": d["id"], "stageId": d["pipeline"]["stages"][1]["id"]})
    k = (await mutate(api, "createCase", {"subject": "Broken"}, "case { id }"))["case"]
    await mutate(api, "updateCase", {"id": k["id"], "version": 1, "status": "OPEN"})
    s = (await mutate(api, "createSegment", {"name": "VIP"}, "segment { id }"))["segment"]
    await mutate(api, "updateSegment", {"id": s["id"], "version": 1, "name": "VIPs"})
    await mutate(api, "addToSegment", {"segmentId": s["id"], "contactIds": [c["id"]]})
    await mutate(api, "removeFromSegment", {"segmentId": s["id"], "contactIds": [c["id"]]})
    await mutate(
        api,
        "trackInteraction",
        {
            "contactId": c["id"],
            "channel": "WHATSAPP",
            "kind": "MESSAGE",
            "journeyStage": "CONSIDERATION",
        },
    )
    await mutate(api, "addNote", {"contactId": c["id"], "body": "Called"})
    t = (await mutate(api, "createTask", {"title": "Call", "contactId": c["id"]}, "task { id }"))[
        "task"
    ]
    await mutate(api, "updateTask", {"id": t["id"], "version": 1, "status": "DONE"})
    for record, gid in (
        ("Contact", c["id"]),
        ("Account", a["id"]),
        ("Deal", d["id"]),
        ("Case", k["id"]),
        ("Segment", s["id"]),
        ("Task", t["id"]),
    ):
        for action in ("delete", "restore"):
            await api.mutate(
                f'mutation {{ {action}{record}(input: {{id: "{gid}"}}) {{ {ERRORS} }} }}'
            )
