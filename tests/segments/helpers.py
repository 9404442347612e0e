"""GraphQL helpers for the segment tests: writes and reads through the public API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ERRORS = "userErrors { field message code }"
SEGMENT_FIELDS = "id name kind rule version size"


async def contact(api: Api, first_name: str, **fields: Any) -> str:
    payload = await api.mutate(
        "mutation($input: CreateContactInput!) { createContact(input: $input) "
        f"{{ contact {{ id }} {ERRORS} }} }}",
        input={"firstName": first_name, **fields},
    )
    return payload["contact"]["id"]


async def update_contact(api: Api, contact_id: str, **fields: Any) -> None:
    data = await api("query($id: ID!) { contact(id: $id) { version } }", id=contact_id)
    await api.mutate(
        "mutation($input: UpdateContactInput!) { updateContact(input: $input) "
        f"{{ contact {{ id }} {ERRORS} }} }}",
        input={"id": contact_id, "version": data["contact"]["version"], **fields},
    )


async def account(api: Api, name: str, **fields: Any) -> str:
    payload = await api.mutate(
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) "
        f"{{ account {{ id }} {ERRORS} }} }}",
        input={"name": name, **fields},
    )
    return payload["account"]["id"]


async def update_account(api: Api, account_id: str, **fields: Any) -> None:
    data = await api("query($id: ID!) { account(id: $id) { version } }", id=account_id)
    await api.mutate(
        "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) "
        f"{{ account {{ id }} {ERRORS} }} }}",
        input={"id": account_id, "version": data["account"]["version"], **fields},
    )


async def track(api: Api, contact_id: str, **fields: Any) -> str:
    payload = await api.mutate(
        "mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) "
        f"{{ interaction {{ id }} {ERRORS} }} }}",
        input={"contactId": contact_id, "channel": "WEB", "kind": "PAGE_VIEW", **fields},
    )
    return payload["interaction"]["id"]


async def stages(api: Api) -> dict[str, str]:
    data = await api("{ pipelines { nodes { id stages { id name } } } }")
    pipeline = data["pipelines"]["nodes"][0]
    return {"pipeline": pipeline["id"], **{s["name"]: s["id"] for s in pipeline["stages"]}}


async def deal(api: Api, name: str, contacts: list[str], **fields: Any) -> dict[str, Any]:
    payload = await api.mutate(
        "mutation($input: CreateDealInput!) { createDeal(input: $input) "
        f"{{ deal {{ id version }} {ERRORS} }} }}",
        input={"name": name, "contacts": [{"contactId": c} for c in contacts], **fields},
    )
    return payload["deal"]


async def case(api: Api, contact_id: str, **fields: Any) -> dict[str, Any]:
    payload = await api.mutate(
        "mutation($input: CreateCaseInput!) { createCase(input: $input) "
        f"{{ case {{ id version }} {ERRORS} }} }}",
        input={"subject": "Help", "contactId": contact_id, **fields},
    )
    return payload["case"]


async def update_case(api: Api, case_id: str, **fields: Any) -> None:
    data = await api("query($id: ID!) { case(id: $id) { version } }", id=case_id)
    await api.mutate(
        "mutation($input: UpdateCaseInput!) { updateCase(input: $input) "
        f"{{ case {{ id }} {ERRORS} }} }}",
        input={"id": case_id, "version": data["case"]["version"], **fields},
    )


async def create_segment(api: Api, name: str, rule: Any = None, **fields: Any) -> dict[str, Any]:
    """createSegment with a typed rule (a ContactFilter variable); asserts no userErrors."""
    payload = await api.mutate(
        "mutation($input: CreateSegmentInput!) { createSegment(input: $input) "
        f"{{ segment {{ {SEGMENT_FIELDS} }} {ERRORS} }} }}",
        input={"name": name, **({"rule": rule} if rule is not None else {}), **fields},
    )
    return payload["segment"]


async def create_segment_errors(api: Api, **input: Any) -> list[dict[str, Any]]:
    data = await api(
        "mutation($input: CreateSegmentInput!) { createSegment(input: $input) "
        f"{{ segment {{ id }} {ERRORS} }} }}",
        input={"name": "Bad", **input},
    )
    assert data["createSegment"]["segment"] is None
    return data["createSegment"]["userErrors"]


async def members(api: Api, segment_id: str) -> set[str]:
    """The ids of the segment's members (all pages)."""
    found: set[str] = set()
    after = None
    while True:
        data = await api(
            "query($id: ID!, $after: String) { segment(id: $id) { size members(first: 100, "
            "after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }",
            id=segment_id,
            after=after,
        )
        page = data["segment"]["members"]
        found |= {n["id"] for n in page["nodes"]}
        if not page["pageInfo"]["hasNextPage"]:
            assert data["segment"]["size"] == len(found)
            return found
        after = page["pageInfo"]["endCursor"]


async def matching(api: Api, rule: Any) -> set[str]:
    """Direct evaluation: the ids `contacts(filter: rule)` lists."""
    data = await api(
        "query($f: ContactFilter) { contacts(filter: $f, first: 100) { nodes { id } } }", f=rule
    )
    return {n["id"] for n in data["contacts"]["nodes"]}


async def add(api: Api, segment_id: str, contact_ids: list[str], mutation: str = "addToSegment"):
    return await api.mutate(
        f"mutation($input: SegmentContactsInput!) {{ {mutation}(input: $input) "
        f"{{ segment {{ id size }} {ERRORS} }} }}",
        input={"segmentId": segment_id, "contactIds": contact_ids},
    )
