"""Records for workflow tests, written through the API."""

from tests.conftest import Api
from tests.workflows.conftest import ERRORS

_INPUTS = {
    "addToSegment": "SegmentContactsInput",
    "removeFromSegment": "SegmentContactsInput",
    "enableWorkflow": "WorkflowIdInput",
    "disableWorkflow": "WorkflowIdInput",
    "deleteWorkflow": "WorkflowIdInput",
    "deleteAccount": "AccountIdInput",
    "restoreAccount": "AccountIdInput",
    **{
        f"{verb}{name}": f"{name}IdInput"
        for verb in ("delete", "restore")
        for name in ("Contact", "Deal", "Case", "Task")
    },
    "deleteSegment": "SegmentIdInput",
}


async def mutate(api: Api, field: str, input: dict, select: str = "") -> dict:
    input_type = _INPUTS.get(field, f"{field[0].upper()}{field[1:]}Input")
    query = f"mutation($i: {input_type}!) {{ {field}(input: $i) {{ {select} {ERRORS} }} }}"
    return await api.mutate(query, i=input)


async def contact(api: Api, **fields) -> dict:
    fields.setdefault("firstName", "Sari")
    return (await mutate(api, "createContact", fields, "contact { id version }"))["contact"]


async def account(api: Api, **fields) -> dict:
    fields.setdefault("name", "Toko Maju")
    return (await mutate(api, "createAccount", fields, "account { id version }"))["account"]


async def deal(api: Api, **fields) -> dict:
    fields.setdefault("name", "Big deal")
    select = "deal { id version stage { id name } pipeline { stages { id name } } }"
    return (await mutate(api, "createDeal", fields, select))["deal"]


async def stage_id(d: dict, name: str) -> str:
    return next(s["id"] for s in d["pipeline"]["stages"] if s["name"] == name)


async def move(api: Api, d: dict, name: str) -> None:
    await mutate(api, "moveDealStage", {"id": d["id"], "stageId": await stage_id(d, name)})


async def case(api: Api, **fields) -> dict:
    fields.setdefault("subject", "Printer on fire")
    return (await mutate(api, "createCase", fields, "case { id version status }"))["case"]


async def member(api: Api, name: str, role: str = "SALES") -> str:
    email = f"{name.lower()}@example.com"
    payload = await mutate(
        api, "createMember", {"name": name, "email": email, "role": role}, "member { id }"
    )
    return payload["member"]["id"]


async def update_contact(api: Api, contact_id: str, **fields) -> dict:
    """Update a contact at its current version."""
    got = await api("query($c: ID!) { contact(id: $c) { version } }", c=contact_id)
    payload = await mutate(
        api,
        "updateContact",
        {"id": contact_id, "version": got["contact"]["version"], **fields},
        "contact { id version }",
    )
    return payload["contact"]
