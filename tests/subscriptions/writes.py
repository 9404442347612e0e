"""Writes that produce live events, through the public API."""

from typing import Any

from tests.conftest import Api

ERRORS = "userErrors { field message code }"


async def account(api: Api, name: str) -> str:
    payload = await api.mutate(
        f"mutation($n: String!) {{ createAccount(input: {{name: $n}}) {{ account {{ id }} {ERRORS} }} }}",
        n=name,
    )
    return payload["account"]["id"]


async def contact(api: Api, first_name: str, account_id: str | None = None) -> str:
    payload = await api.mutate(
        "mutation($n: String!, $a: ID) { createContact(input: {firstName: $n, accountId: $a}) "
        f"{{ contact {{ id }} {ERRORS} }} }}",
        n=first_name,
        a=account_id,
    )
    return payload["contact"]["id"]


async def track(api: Api, **input: Any) -> str:
    """trackInteraction; `input` defaults to an EMAIL / EMAIL_OPEN touch."""
    payload = await api.mutate(
        "mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) "
        f"{{ interaction {{ id }} {ERRORS} }} }}",
        input={"channel": "EMAIL", "kind": "EMAIL_OPEN", **input},
    )
    return payload["interaction"]["id"]


async def create_case(api: Api, **input: Any) -> dict[str, Any]:
    payload = await api.mutate(
        "mutation($input: CreateCaseInput!) { createCase(input: $input) "
        f"{{ case {{ id version }} {ERRORS} }} }}",
        input={"subject": "Help", **input},
    )
    return payload["case"]


async def update_case(api: Api, case: dict[str, Any], **input: Any) -> dict[str, Any]:
    payload = await api.mutate(
        "mutation($input: UpdateCaseInput!) { updateCase(input: $input) "
        f"{{ case {{ id version }} {ERRORS} }} }}",
        input={"id": case["id"], "version": case["version"], **input},
    )
    return payload["case"]


async def stages(api: Api, pipeline: str = "Sales") -> dict[str, str]:
    data = await api("{ pipelines { nodes { id name stages { id name } } } }")
    (found,) = [p for p in data["pipelines"]["nodes"] if p["name"] == pipeline]
    return {"pipeline": found["id"], **{s["name"]: s["id"] for s in found["stages"]}}


async def pipeline(api: Api, name: str) -> dict[str, str]:
    payload = await api.mutate(
        f"""mutation($n: String!) {{ createPipeline(input: {{name: $n, stages: [
              {{name: "Due", probability: "0.5", status: OPEN}},
              {{name: "Renewed", probability: "1", status: WON}},
              {{name: "Churned", probability: "0", status: LOST}}]}}) {{
              pipeline {{ id stages {{ id name }} }} {ERRORS} }} }}""",
        n=name,
    )
    found = payload["pipeline"]
    return {"pipeline": found["id"], **{s["name"]: s["id"] for s in found["stages"]}}


async def deal(api: Api, name: str, **input: Any) -> str:
    payload = await api.mutate(
        "mutation($input: CreateDealInput!) { createDeal(input: $input) "
        f"{{ deal {{ id }} {ERRORS} }} }}",
        input={"name": name, **input},
    )
    return payload["deal"]["id"]


async def move_deal(api: Api, deal_id: str, stage_id: str) -> None:
    await api.mutate(
        "mutation($input: MoveDealStageInput!) { moveDealStage(input: $input) "
        f"{{ deal {{ id }} {ERRORS} }} }}",
        input={"id": deal_id, "stageId": stage_id},
    )


async def note(api: Api, body: str, **target: str) -> str:
    payload = await api.mutate(
        "mutation($input: AddNoteInput!) { addNote(input: $input) "
        f"{{ note {{ id body }} {ERRORS} }} }}",
        input={"body": body, **target},
    )
    return payload["note"]["id"]
