"""Checking and normalising mutation input. A `Checker` collects every problem of one input
(a form can show them all at once) and raises them together as a `UserInputError`."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email

from relasi.currencies import decimals_of, minor_units
from relasi.errors import ErrorCode, FieldError, UserInputError

# Length limits of stored text, in characters (README: Authorization -> Limits). Every text
# input passes `Checker.text` with one of these, before any statement runs.
NAME = 200  # names, external ids, UTM values
SHORT_TEXT = 100  # industry, city, sources
SUBJECT = 300  # a case's subject
MEDIUM_TEXT = 1_000  # summaries, lost reasons, segment descriptions
LONG_TEXT = 10_000  # note bodies, case descriptions
MAX_JSON_BYTES = 16_384  # customAttributes, properties (as JSON)
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_PHONE = 64  # longer than any number written with spaces and an extension
MAX_AMOUNT = Decimal("1e15")
NUL = "\x00"
NUL_MESSAGE = "Must not contain NUL (\\u0000) characters."

_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}
COUNTRIES = (
    frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())
    - _NOT_COUNTRIES
)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Checker:
    """Validates the fields of one input, each under its path (e.g. input.emails.1.address)."""

    def __init__(self, *prefix: str) -> None:
        self.prefix = list(prefix)
        self.errors: list[FieldError] = []

    def error(self, field: str, message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT) -> None:
        self.errors.append(FieldError([*self.prefix, *field.split(".")], message, code))

    def raise_if_any(self) -> None:
        if self.errors:
            raise UserInputError(self.errors)

    def text(
        self, field: str, value: str | None, max_length: int = NAME, *, required: bool = False
    ) -> str | None:
        """Trimmed text; empty becomes None (or an error when required)."""
        if value is not None:
            value = value.strip() or None
        if value is None:
            if required:
                self.error(field, f"{field.split('.')[-1]} is required.")
            return None
        if len(value) > max_length:
            self.error(field, f"Must be at most {max_length} characters (got {len(value)}).")
        if NUL in value:
            self.error(field, NUL_MESSAGE)
        return value

    def email(self, field: str, value: str) -> str | None:
        if len(value) > MAX_EMAIL:
            self.error(field, f"Must be at most {MAX_EMAIL} characters (got {len(value)}).")
            return None
        try:
            address = validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as e:
            self.error(field, f"{value!r} is not a valid email address: {e}")
            return None
        return address.lower()

    def phone(self, field: str, value: str, region: str | None = None) -> str | None:
        """E.164; numbers without +country code are read in `region` (the contact's country)."""
        if len(value) > MAX_PHONE:
            self.error(field, f"Must be at most {MAX_PHONE} characters (got {len(value)}).")
            return None
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            hint = "" if region else " (give it in international form, e.g. +6281234567890)"
            self.error(field, f"{value!r} is not a valid phone number{hint}.")
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def country(self, field: str, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in COUNTRIES:
            self.error(field, f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. ID, SG).")
            return None
        return code

    def currency(self, field: str, value: str) -> str | None:
        code = value.strip().upper()
        if minor_units(code) is None:  # relasi/currencies.py: ISO 4217 with minor units
            self.error(field, f"{value!r} is not an ISO 4217 currency code (e.g. USD, IDR).")
            return None
        return code

    def money(self, field: str, money: dict[str, Any] | None) -> tuple[Decimal | None, str | None]:
        """A {amount, currency} input: non-negative, no more decimals than the currency has."""
        if money is None:
            return None, None
        currency = self.currency(f"{field}.currency", money["currency"])
        amount: Decimal = money["amount"]
        if not amount.is_finite() or amount < 0:
            self.error(f"{field}.amount", "Must be zero or more.")
        elif amount >= MAX_AMOUNT:
            self.error(f"{field}.amount", f"Must be less than {MAX_AMOUNT:,.0f}.")
        elif currency is not None:
            digits = minor_units(currency)
            if decimals_of(amount) > digits:
                self.error(f"{field}.amount", f"{currency} amounts have at most {digits} decimals.")
        return amount, currency

    def domain(self, field: str, value: str | None) -> str | None:
        """A bare host name: scheme, path and a leading www. are dropped, case is folded."""
        if value is None:
            return None
        host = value.strip().lower()
        host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host).split("/")[0].split(":")[0]
        host = host.removeprefix("www.")
        if not _DOMAIN.match(host):
            self.error(field, f"{value!r} is not a domain name (e.g. example.com).")
            return None
        return host

    def int_range(self, field: str, value: int | None, low: int, high: int) -> int | None:
        if value is not None and not low <= value <= high:
            self.error(field, f"Must be between {low} and {high}.")
        return value

    def json_object(self, field: str, value: Any) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(field, "Must be a JSON object.")
            return None
        text = json.dumps(value)
        if len(text) > MAX_JSON_BYTES:
            self.error(field, f"Must be at most {MAX_JSON_BYTES} bytes as JSON.")
        if "\\u0000" in text:  # PostgreSQL's jsonb cannot hold it
            self.error(field, NUL_MESSAGE)
        return value
