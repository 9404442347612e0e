"""Property: after any sequence of touches and edits, every segment's materialised membership
equals a direct evaluation of its rule (`contacts(filter: <rule>)`, plus its inclusions, minus
its exclusions), for rules covering every kind of operator and predicate."""

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import new_api
from tests.segments import helpers as h
from tests.segments.conftest import days_ago

CONTACTS = 4
RULES: list[dict[str, Any]] = [
    {"city": {"in": ["Jakarta"]}, "leadRating": {"ne": "COLD"}},
    {"touchpoints": {"matching": {"channel": {"eq": "WHATSAPP"}}, "atLeast": 2, "withinDays": 14}},
    {"touchpoints": {"atMost": 1}},
    {"lastTouchpoint": {"olderThanDays": 7, "orNever": True}},
    {"averageSentiment": {"lt": 0}},
    {"deals": {"some": {"status": {"eq": "OPEN"}, "amount": {"gte": "1000"}}}},
    {"deals": {"none": {}}, "cases": {"some": {"priority": {"eq": "URGENT"}}}},
    {"cases": {"every": {"status": {"notIn": ["NEW", "OPEN"]}}}, "averageSatisfaction": {"lte": 2}},
    {
        "account": {"industry": {"eq": "Retail"}, "employeeCount": {"gt": 100}},
        "customAttributes": [{"key": "plan", "eq": "pro"}],
    },
    {"journeyStage": {"eq": "DECISION"}, "lifecycleStage": {"isNull": False}},
    {"or": [{"city": {"startsWith": "ban"}}, {"not": {"leadRating": {"isNull": False}}}]},
]
# and two reading other segments (by index in the list of segments made)
NESTED = [
    lambda seg: {"or": [{"inSegment": [seg[0]]}, {"not": {"inSegment": [seg[1]]}}]},
    lambda seg: {"inSegment": [seg[11], seg[5]], "touchpoints": {}},
]

STATIC = len(RULES) + len(NESTED)  # the static segment's index
contact_index = st.integers(0, CONTACTS - 1)
ACTIONS = st.one_of(
    st.tuples(
        st.just("touch"),
        contact_index,
        st.sampled_from(["WHATSAPP", "EMAIL", "WEB"]),
        st.sampled_from([0, 3, 30]),
        st.sampled_from([None, "-0.6", "0.4"]),
        st.sampled_from([None, "DECISION"]),
    ),
    st.tuples(
        st.just("contact"),
        contact_index,
        st.sampled_from(["Jakarta", "Bandung", None]),
        st.sampled_from(["HOT", "COLD", None]),
        st.sampled_from(["pro", "free"]),
        st.booleans(),  # with the account
    ),
    st.tuples(
        st.just("account"), st.sampled_from(["Retail", "Finance"]), st.sampled_from([50, 500])
    ),
    st.tuples(st.just("deal"), contact_index, st.sampled_from(["500", "5000"])),
    st.tuples(st.just("move"), st.integers(0, 5), st.sampled_from(["Proposal", "Closed Won"])),
    st.tuples(st.just("link"), st.integers(0, 5), contact_index, st.booleans()),
    st.tuples(st.just("case"), contact_index, st.sampled_from(["URGENT", "LOW"])),
    st.tuples(st.just("resolve"), st.integers(0, 5), st.sampled_from([1, 4])),
    st.tuples(st.just("delete"), contact_index, st.booleans()),
    st.tuples(
        st.just("override"),
        contact_index,
        st.sampled_from(["addToSegment", "removeFromSegment", "clearSegmentOverrides"]),
        st.sampled_from([0, STATIC]),  # the first dynamic segment, or the static one
    ),
)


class World:
    """One workspace, its contacts, deals, cases and segments."""

    def __init__(self, api) -> None:
        self.api = api
        self.contacts: list[str] = []
        self.deleted: set[str] = set()
        self.deals: list[str] = []
        self.cases: list[str] = []
        self.segments: list[dict[str, Any]] = []

    async def setup(self) -> None:
        self.account = await h.account(self.api, "Retail", industry="Retail", employeeCount=500)
        self.stages = await h.stages(self.api)
        for i in range(CONTACTS):
            self.contacts.append(await h.contact(self.api, f"C{i}", city="Jakarta"))
        ids: list[str] = []
        for i, rule in enumerate(RULES):
            ids.append((await h.create_segment(self.api, f"R{i}", rule))["id"])
        for i, make in enumerate(NESTED):
            ids.append((await h.create_segment(self.api, f"N{i}", make(ids)))["id"])
        ids.append((await h.create_segment(self.api, "Static", include=self.contacts[:2]))["id"])
        self.segments = ids

    async def apply(self, action: tuple) -> None:
        api, kind = self.api, action[0]
        if kind == "touch":
            _, i, channel, days, sentiment, stage = action
            if self.contacts[i] in self.deleted:
                return
            await h.track(
                api,
                self.contacts[i],
                channel=channel,
                kind="MESSAGE",
                occurredAt=days_ago(days),
                sentiment=sentiment,
                journeyStage=stage,
            )
        elif kind == "contact":
            _, i, city, rating, plan, with_account = action
            if self.contacts[i] in self.deleted:
                return
            await h.update_contact(
                api,
                self.contacts[i],
                city=city,
                leadRating=rating,
                customAttributes={"plan": plan},
                accountId=self.account if with_account else None,
            )
        elif kind == "account":
            await h.update_account(api, self.account, industry=action[1], employeeCount=action[2])
        elif kind == "deal":
            if self.contacts[action[1]] in self.deleted:
                return
            deal = await h.deal(
                api,
                "D",
                [self.contacts[action[1]]],
                amount={"amount": action[2], "currency": "USD"},
            )
            self.deals.append(deal["id"])
        elif kind == "move" and self.deals:
            await api.mutate(
                "mutation($input: MoveDealStageInput!) { moveDealStage(input: $input) "
                f"{{ deal {{ id }} {h.ERRORS} }} }}",
                input={
                    "id": self.deals[action[1] % len(self.deals)],
                    "stageId": self.stages[action[2]],
                },
            )
        elif kind == "link" and self.deals:
            _, d, i, add = action
            deal, contact = self.deals[d % len(self.deals)], self.contacts[i]
            if contact in self.deleted:
                return
            mutation = "addDealContact" if add else "removeDealContact"
            input_type = "DealContactLinkInput" if add else "RemoveDealContactInput"
            await api(
                f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {h.ERRORS} }} }}",
                input={"dealId": deal, "contactId": contact},
            )
        elif kind == "case":
            if self.contacts[action[1]] in self.deleted:
                return
            case = await h.case(api, self.contacts[action[1]], priority=action[2])
            self.cases.append(case["id"])
        elif kind == "resolve" and self.cases:
            case = self.cases[action[1] % len(self.cases)]
            await h.update_case(api, case, status="RESOLVED", satisfactionScore=action[2])
        elif kind == "delete":
            _, i, delete = action
            contact = self.contacts[i]
            if delete == (contact in self.deleted):
                return
            mutation = "deleteContact" if delete else "restoreContact"
            await api.mutate(
                f"mutation($id: ID!) {{ {mutation}(input: {{id: $id}}) {{ {h.ERRORS} }} }}",
                id=contact,
            )
            (self.deleted.add if delete else self.deleted.discard)(contact)
        elif kind == "override":
            _, i, mutation, segment = action
            if self.contacts[i] in self.deleted:
                return
            await h.add(api, self.segments[segment], [self.contacts[i]], mutation)

    async def check(self) -> None:
        """One request reads every segment's members and overrides and evaluates every rule."""
        parts, variables = [], {}
        for i, segment in enumerate(self.segments):
            parts.append(
                f's{i}: segment(id: "{segment}") {{ rule members(first: 100) {{ nodes {{ id }} }}'
                " included(first: 100) { nodes { id } } excluded(first: 100) { nodes { id } } }"
            )
        data = await self.api("{" + " ".join(parts) + "}")
        for i in range(len(self.segments)):
            rule = data[f"s{i}"]["rule"]
            if rule is not None:
                variables[f"r{i}"] = rule
        declared = ", ".join(f"${name}: ContactFilter" for name in variables)
        fields = " ".join(
            f"{name}: contacts(filter: ${name}, first: 100) {{ nodes {{ id }} }}"
            for name in variables
        )
        direct = await self.api(f"query({declared}) {{ {fields} }}", **variables)
        for i in range(len(self.segments)):
            found = data[f"s{i}"]
            ids = {
                k: {n["id"] for n in found[k]["nodes"]} for k in ("members", "included", "excluded")
            }
            matched = {n["id"] for n in direct[f"r{i}"]["nodes"]} if f"r{i}" in direct else set()
            expected = (matched | ids["included"]) - ids["excluded"]
            assert ids["members"] == expected, (i, found["rule"])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(ACTIONS, min_size=2, max_size=12))
# one sequence that surely takes every kind of step, whatever the random ones draw
@example(
    steps=[
        ("touch", 0, "WHATSAPP", 0, "-0.6", None),
        ("touch", 0, "WHATSAPP", 3, None, "DECISION"),
        ("touch", 1, "EMAIL", 30, "0.4", None),
        ("contact", 1, "Bandung", None, "pro", True),
        ("contact", 0, "Jakarta", "HOT", "pro", True),
        ("account", "Finance", 50),
        ("account", "Retail", 500),
        ("deal", 2, "5000"),
        ("link", 0, 3, True),
        ("link", 0, 2, False),
        ("move", 0, "Closed Won"),
        ("deal", 3, "500"),
        ("case", 1, "URGENT"),
        ("resolve", 0, 1),
        ("case", 1, "LOW"),
        ("override", 2, "removeFromSegment", 0),
        ("override", 3, "addToSegment", 0),
        ("override", 2, "clearSegmentOverrides", 0),
        ("override", 3, "addToSegment", 13),
        ("override", 0, "removeFromSegment", 13),
        ("delete", 1, True),
        ("delete", 3, True),
        ("delete", 1, False),
    ]
)
async def test_membership_equals_direct_evaluation(database, client, steps):
    world = World(await new_api(database, client, "Property"))
    await world.setup()
    await world.check()
    for step in steps:
        await world.apply(step)
        await world.check()
