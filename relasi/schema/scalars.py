"""strawberry's `Decimal` and `DateTime` scalars, bounded to values Relasi can store.

strawberry's own `Decimal` takes whatever Python's `decimal` parses: `NaN`, `sNaN`,
`Infinity` and `1e999999` as well, which then fail deep inside a resolver or in PostgreSQL
(`numeric` has no signalling NaN, and a million-digit number is no amount). Its `DateTime`
takes `0001-01-01T00:00:00+14:00`, which is before year 1 in UTC. Every such argument and
input field (money, probabilities, sentiments, times, their filters) is checked here, while
the request is read, so a bad value is a BAD_USER_INPUT naming where it was sent, before
anything runs.
"""

from __future__ import annotations

import datetime
import decimal

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateTimeDefinition, DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

MAX_INTEGER_DIGITS = 30
MAX_FRACTION_DIGITS = 30
MAX_TEXT = 100  # characters of the decimal's text; longer ones cannot be within the bounds


def parse_decimal(value: object) -> decimal.Decimal:
    text = value if isinstance(value, str) else str(value)  # JSON numbers are taken too
    if len(text) > MAX_TEXT:
        raise _refused(f"{text[:20]}...", f"at most {MAX_TEXT} characters")
    try:
        number = decimal.Decimal(text.strip())
    except decimal.DecimalException:
        raise _refused(text, "expected a decimal number such as 1234.50") from None
    if not number.is_finite():
        raise _refused(text, "NaN and Infinity are not numbers Relasi stores")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if number.adjusted() >= MAX_INTEGER_DIGITS or -exponent > MAX_FRACTION_DIGITS:
        raise _refused(
            text,
            f"at most {MAX_INTEGER_DIGITS} digits before the decimal point and "
            f"{MAX_FRACTION_DIGITS} after it",
        )
    return number


def _refused(text: str, why: str, kind: str = "Decimal") -> StrawberryInputCoercionError:
    return StrawberryInputCoercionError(f'Value cannot represent a {kind}: "{text}"; {why}.')


def parse_datetime(value: object) -> datetime.datetime:
    """ISO 8601, as strawberry reads it, within years 1 to 9999 once converted to UTC."""
    moment = DateTimeDefinition.parse_value(value)
    assert isinstance(moment, datetime.datetime)
    if moment.tzinfo is not None:
        try:
            moment.astimezone(datetime.UTC)
        except OverflowError:
            raise _refused(str(value), "out of range in UTC", "DateTime") from None
    return moment


BOUNDED_DECIMAL = ScalarDefinition(
    name="Decimal",
    description=(
        'An exact decimal number, sent as a string (e.g. "1234.50"): at most '
        f"{MAX_INTEGER_DIGITS} digits before the decimal point and {MAX_FRACTION_DIGITS} "
        "after it; NaN and Infinity are refused."
    ),
    specified_by_url=None,
    serialize=DecimalDefinition.serialize,
    parse_value=parse_decimal,
    parse_literal=None,
    origin=decimal.Decimal,
)
BOUNDED_DATETIME = ScalarDefinition(
    name="DateTime",
    description=DateTimeDefinition.description,
    specified_by_url=None,
    serialize=DateTimeDefinition.serialize,
    parse_value=parse_datetime,
    parse_literal=None,
    origin=datetime.datetime,
)
