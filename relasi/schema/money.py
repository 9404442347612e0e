"""Money: an exact decimal amount with its ISO 4217 currency (never a float)."""

from decimal import Decimal

import strawberry
from babel.numbers import get_currency_precision


@strawberry.type(description="An exact amount of money.")
class Money:
    amount: Decimal = strawberry.field(description="Exact decimal, sent as a string.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD, IDR.")


@strawberry.input(description="An amount with its currency; amounts are exact decimals.")
class MoneyInput:
    amount: Decimal
    currency: str


def money(amount: Decimal | None, currency: str | None) -> Money | None:
    """Amounts are stored with 4 decimals; clients get the currency's own (12.50 USD, 1200 JPY).
    Input never has more decimals than the currency allows, so this never rounds."""
    if amount is None:
        return None
    exponent = Decimal(1).scaleb(-get_currency_precision(currency))
    return Money(amount=amount.quantize(exponent), currency=currency)
