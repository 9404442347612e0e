"""Which currencies money may be in, and how many decimals each takes: ISO 4217's own rule.

A currency is one of ISO 4217 list one (the `iso4217` package's copy of it, pinned in the
lock) that has minor units: that admits every currency and fund code in use (IDR 2, JPY 0,
KWD 3, CLF 4, ...) and refuses the testing (XTS) and "no currency" codes, precious metals
(XAU, XAG, XPD, XPT) and accounting units (XDR, XSU, XUA, XBA-XBD): their minor units are
"N.A.". The rule is ours, not a display library's: if an update of the table ever changes a
currency's decimals, tests/deals/test_money.py fails, and a migration must say what happens to
amounts already stored.
"""

from __future__ import annotations

from decimal import Decimal

from iso4217 import Currency

# what a stored amount whose currency has left the table is shown with (most currencies')
LEGACY_MINOR_UNITS = 2
MINOR_UNITS: dict[str, int] = {c.code: c.exponent for c in Currency if c.exponent is not None}


def minor_units(code: str) -> int | None:
    """The decimals an amount in `code` may have; None when it is not a money currency."""
    return MINOR_UNITS.get(code)


def decimals_of(amount: Decimal) -> int:
    """How many decimals `amount` is written with (trailing zeros count)."""
    return max(0, -amount.as_tuple().exponent)


def for_output(amount: Decimal, code: str) -> Decimal:
    """An amount with its currency's decimals (12.50 USD, 1200 JPY). Amounts are stored with 4
    decimals; input never has more than its currency allows, so this drops only zeros. A stored
    amount whose currency has since left the table, or has fewer decimals now, is shown with the
    digits it has: output never rounds what was stored."""
    digits = MINOR_UNITS.get(code, LEGACY_MINOR_UNITS)
    exact = amount.normalize()
    if decimals_of(exact) > digits:
        return exact
    return amount.quantize(Decimal(1).scaleb(-digits))
