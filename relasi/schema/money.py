"""Money: an exact decimal amount with its ISO 4217 currency (never a float)."""

from decimal import Decimal

import strawberry

from relasi.currencies import for_output


@strawberry.type(description="An exact amount of money.")
class Money:
    amount: Decimal = strawberry.field(description="Exact decimal, sent as a string.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD, IDR.")


@strawberry.input(description="An amount with its currency; amounts are exact decimals.")
class MoneyInput:
    amount: Decimal
    currency: str


def money(amount: Decimal | None, currency: str | None) -> Money | None:
    if amount is None:
        return None
    return Money(amount=for_output(amount, currency), currency=currency)
