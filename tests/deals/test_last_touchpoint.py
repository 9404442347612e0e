"""`DealFilter.lastTouchpoint`: deals whose contacts and account went quiet, through the list
(compiled and resolver read paths) — the filter workflow schedules use."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Api

SETUP = """mutation($a: String!) {
  account: createAccount(input: {name: $a}) { account { id } }
}"""
CONTACT = """mutation($a: ID) {
  createContact(input: {firstName: "Dewi", accountId: $a}) { contact { id } }
}"""
DEAL = """mutation($n: String!, $c: [DealContactInput!], $a: ID) {
  createDeal(input: {name: $n, contacts: $c, accountId: $a}) { deal { id } }
}"""
TRACK = """mutation($c: ID, $a: ID, $at: DateTime!, $ch: Channel!) {
  trackInteraction(input: {contactId: $c, accountId: $a, channel: $ch, kind: MESSAGE,
                           occurredAt: $at}) { created }
}"""
QUIET = """query($f: DealFilter) { deals(filter: $f, first: 50) { nodes { name } } }"""


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.mark.parametrize("path", ["compiled", "resolvers"])
async def test_deals_without_a_recent_touchpoint(api: Api, path: str):
    async def contact(account=None):
        return (await api(CONTACT, a=account))["createContact"]["contact"]["id"]

    async def deal(name, contacts=(), account=None):
        c = [{"contactId": x} for x in contacts]
        return (await api(DEAL, n=name, c=c, a=account))["createDeal"]["deal"]["id"]

    account = (await api(SETUP, a="Quiet Co"))["account"]["account"]["id"]
    busy, stale, silent = await contact(), await contact(), await contact()
    await api(TRACK, c=busy, at=ago(2), ch="WHATSAPP")
    await api(TRACK, c=stale, at=ago(30), ch="WHATSAPP")
    await api(TRACK, a=account, at=ago(3), ch="EMAIL")
    await deal("busy contact", [busy, stale])
    await deal("stale contact", [stale])
    await deal("never touched", [silent])
    await deal("busy account", account=account)
    await deal("no one at all")

    async def names(flt):
        r = await api.post(QUIET, {"f": flt}, **{"X-Relasi-Read-Path": path})
        assert "errors" not in r.json(), r.json()
        return sorted(n["name"] for n in r.json()["data"]["deals"]["nodes"])

    assert await names({"lastTouchpoint": {"olderThanDays": 14}}) == ["stale contact"]
    assert await names({"lastTouchpoint": {"olderThanDays": 14, "orNever": True}}) == [
        "never touched",
        "no one at all",
        "stale contact",
    ]
    # only WhatsApp counts: the account's e-mail does not keep its deal busy
    whatsapp = {"olderThanDays": 14, "orNever": True, "matching": {"channel": {"eq": "WHATSAPP"}}}
    assert await names({"lastTouchpoint": whatsapp}) == [
        "busy account",
        "never touched",
        "no one at all",
        "stale contact",
    ]


async def test_bad_values_are_refused_at_their_path(api: Api):
    body = await api.raw(QUIET, f={"lastTouchpoint": {"olderThanDays": 0}})
    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "filter.lastTouchpoint.olderThanDays",
    }
