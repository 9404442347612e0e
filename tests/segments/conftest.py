"""A small CRM graph every rule test reads: contacts with accounts, deals, cases, touchpoints."""

import datetime

import pytest

from tests.segments import helpers as h
from tests.subscriptions.conftest import live  # noqa: F401 (the WebSocket fixtures)


def days_ago(days: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    return moment.isoformat()


@pytest.fixture
async def graph(api) -> dict[str, str]:
    """Ayu (Jakarta, HOT, Retail, chats on WhatsApp, open deal), Budi (Bandung, HOT, Bank, an
    old email, urgent case, won deal), Citra (Jakarta, no account, a recent page view), Dewi
    (Surabaya, COLD, Retail, unhappy: CSAT 2, no touchpoints). Returns ids by name."""
    ids: dict[str, str] = {}
    retail = await h.account(
        api,
        "Retail Co",
        industry="Retail",
        employeeCount=900,
        country="ID",
        annualRevenue={"amount": "5000000", "currency": "USD"},
    )
    bank = await h.account(api, "Bank Co", industry="Finance", employeeCount=40, country="SG")
    ids.update(retail=retail, bank=bank)
    ids["Ayu"] = await h.contact(
        api,
        "Ayu",
        lastName="Lestari",
        city="Jakarta",
        country="ID",
        leadRating="HOT",
        lifecycleStage="LEAD",
        accountId=retail,
        emails=[{"address": "ayu@retail.co.id"}],
        customAttributes={"plan": "pro", "seats": 10},
    )
    ids["Budi"] = await h.contact(
        api,
        "Budi",
        city="Bandung",
        country="ID",
        leadRating="HOT",
        lifecycleStage="CUSTOMER",
        accountId=bank,
        customAttributes={"plan": "free", "seats": 2},
    )
    ids["Citra"] = await h.contact(api, "Citra", city="Jakarta", lifecycleStage="SUBSCRIBER")
    ids["Dewi"] = await h.contact(
        api, "Dewi", city="Surabaya", leadRating="COLD", lifecycleStage="CUSTOMER", accountId=retail
    )
    for _ in range(3):
        await h.track(
            api,
            ids["Ayu"],
            channel="WHATSAPP",
            kind="MESSAGE",
            sentiment="-0.5",
            utm={"campaign": "ramadan"},
        )
    await h.track(
        api,
        ids["Budi"],
        channel="EMAIL",
        kind="EMAIL_OPEN",
        sentiment="0.8",
        occurredAt=days_ago(30),
    )
    await h.track(api, ids["Citra"], occurredAt=days_ago(2))
    stages = await h.stages(api)
    ids.update(stages)
    await h.deal(
        api,
        "Ayu deal",
        [ids["Ayu"]],
        stageId=stages["Proposal"],
        amount={"amount": "75000", "currency": "USD"},
    )
    await h.deal(api, "Budi deal", [ids["Budi"]], stageId=stages["Closed Won"])
    await h.case(api, ids["Budi"], priority="URGENT")
    for name, score in (("Dewi", 2), ("Ayu", 5)):
        case = await h.case(api, ids[name])
        await h.update_case(api, case["id"], status="RESOLVED", satisfactionScore=score)
    return ids
