"""The README's Workflows examples are saved as written, and the first one does what the
README says."""

import re
from pathlib import Path

from tests.workflows.conftest import settled_runs
from tests.workflows.writes import account, deal, member, move

README = (Path(__file__).parents[2] / "README.md").read_text()
SECTION = README.split("\n## Workflows\n", 1)[1].split("\n## ", 1)[0]
CREATES = [e for e in re.findall(r"```graphql\n(.*?)```", SECTION, re.S) if "createWorkflow" in e]


async def test_the_examples_save_as_written(fapi):
    assert len(CREATES) == 3
    for example in CREATES:
        payload = (await fapi(example))["createWorkflow"]
        assert payload["userErrors"] == [], (example, payload)
    names = [
        n["name"] for n in (await fapi("{ workflows { nodes { name } } }"))["workflows"]["nodes"]
    ]
    assert names == [
        "Contract when negotiating",
        "Hot WhatsApp leads to sales",
        "Escalate urgent cases",
    ]


async def test_the_negotiation_example_creates_the_owners_task(fapi, worker):
    wf = (await fapi(CREATES[0]))["createWorkflow"]["workflow"]
    owner = await member(fapi, "Dewi")
    retail = await account(fapi, name="Toko Maju", industry="Retail")
    big = await deal(
        fapi,
        name="Kopi",
        accountId=retail["id"],
        ownerId=owner,
        amount={"amount": "75000", "currency": "USD"},
    )
    small = await deal(
        fapi,
        name="Teh",
        accountId=retail["id"],
        ownerId=owner,
        amount={"amount": "500", "currency": "USD"},
    )
    await move(fapi, big, "Negotiation")
    await move(fapi, small, "Negotiation")
    found = await settled_runs(fapi, wf["id"], 2)
    assert sorted(r["status"] for r in found) == ["SKIPPED", "SUCCEEDED"]
    got = await fapi(
        """query($d: ID!) { deal(id: $d) { tasks(first: 5) { nodes { title assignee { name } } } } }""",
        d=big["id"],
    )
    assert got["deal"]["tasks"]["nodes"] == [
        {"title": "Send the contract for Kopi to Toko Maju", "assignee": {"name": "Dewi"}}
    ]
