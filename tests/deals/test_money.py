"""Money follows ISO 4217's minor units (README: Money), whatever display library is installed:
each currency takes exactly its decimals, one more is refused at the exact input path, and
codes that are not money are refused."""

import pytest

from relasi.currencies import MINOR_UNITS

ERRORS = "userErrors { field message code }"
CREATE_DEAL = f"""mutation($input: CreateDealInput!) {{
  createDeal(input: $input) {{ deal {{ amount {{ amount currency }} }} {ERRORS} }} }}"""
CREATE_ACCOUNT = f"""mutation($input: CreateAccountInput!) {{
  createAccount(input: $input) {{ account {{ annualRevenue {{ amount currency }} }} {ERRORS} }} }}"""

# currency, the largest-precision amount it takes, the same with one decimal too many
RULE = [
    ("IDR", "99999999999999.99", "1500000.125"),
    ("JPY", "1200", "1200.5"),
    ("KWD", "12.345", "12.3456"),
    ("BHD", "0.125", "0.1255"),
    ("USD", "12345.67", "12345.678"),
    ("CLF", "1.2345", "1.23456"),
]


@pytest.mark.parametrize("currency, exact, too_precise", RULE)
async def test_each_currency_takes_its_iso_4217_decimals(api, currency, exact, too_precise):
    ok = await api.raw(
        CREATE_DEAL, input={"name": "D", "amount": {"amount": exact, "currency": currency}}
    )
    assert ok["data"]["createDeal"]["deal"]["amount"] == {"amount": exact, "currency": currency}

    refused = await api.raw(
        CREATE_DEAL, input={"name": "D", "amount": {"amount": too_precise, "currency": currency}}
    )
    payload = refused["data"]["createDeal"]
    assert payload["deal"] is None
    (error,) = payload["userErrors"]
    assert (error["field"], error["code"]) == (["input", "amount", "amount"], "BAD_USER_INPUT")
    assert currency in error["message"]
    assert (await api("{ deals { totalCount } }"))["deals"]["totalCount"] == 1


@pytest.mark.parametrize(
    "amount, shown",
    [("1200", "1200"), ("1200.0", None), ("7", "7.000")],
    ids=["jpy-whole", "jpy-no-decimal-point", "kwd-padded"],
)
async def test_amounts_are_shown_with_their_currency_decimals(api, amount, shown):
    currency = "KWD" if shown == "7.000" else "JPY"
    body = await api.raw(
        CREATE_ACCOUNT,
        input={"name": "A", "annualRevenue": {"amount": amount, "currency": currency}},
    )
    payload = body["data"]["createAccount"]
    if shown is None:  # "1200.0" has a decimal JPY does not have
        assert [e["field"] for e in payload["userErrors"]] == [["input", "annualRevenue", "amount"]]
    else:
        assert payload["account"]["annualRevenue"] == {"amount": shown, "currency": currency}


@pytest.mark.parametrize("code", ["XTS", "XXX", "XAU", "XAG", "XPT", "XDR", "HRK", "ABC"])
async def test_codes_that_are_not_money_are_refused(api, code):
    body = await api.raw(
        CREATE_DEAL, input={"name": "D", "amount": {"amount": "10", "currency": code}}
    )
    payload = body["data"]["createDeal"]
    assert payload["deal"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "amount", "currency"], "BAD_USER_INPUT")
    ]


async def test_a_stored_amount_is_never_rounded_on_output(api, database):
    """Amounts already stored keep every digit, even if a currency's rule ever drops decimals
    (here: a JPY amount written with decimals behind the API's back)."""
    body = await api.raw(
        CREATE_DEAL, input={"name": "D", "amount": {"amount": "1200", "currency": "JPY"}}
    )
    assert body["data"]["createDeal"]["userErrors"] == []
    async with database.pool.acquire() as conn:
        await conn.execute(
            "UPDATE deals SET amount = 1200.5 WHERE workspace_id = $1", api.workspace_id
        )
    data = await api("{ deals { nodes { amount { amount currency } } } }")
    assert data["deals"]["nodes"] == [{"amount": {"amount": "1200.5", "currency": "JPY"}}]


# ISO 4217 list one as published 2026-01-01, by minor units: the documented rule (README: Money).
# An update of the table that changes any of it fails here; a changed currency needs a
# migration note on what happens to amounts already stored (they are never rounded on output).
PUBLISHED = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: (
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN "
        "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
        "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW "
        "KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR "
        "MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG "
        "SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD "
        "USN UYU UZS VED VES WST XAD XCD XCG YER ZAR ZMW ZWG"
    ),
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}


def test_the_currency_table_is_the_documented_one():
    documented = {code: units for units, codes in PUBLISHED.items() for code in codes.split()}
    assert documented == MINOR_UNITS
