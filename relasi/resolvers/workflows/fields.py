"""The fields `updateRecord` may set, per record type, and how their values are checked:
GraphQL field -> (the key the record's update resolver takes, the value's kind).

Kinds: text, enum:<Enum>, int, date, id:<Type>; `money` ({amount, currency}, as the deal and
account mutations take it, checked by the same Checker.money); `attributes` (custom
attributes: the keys given are set, a null removes its key, the others stay; the whole object
is checked by the record's own mutation)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from relasi.errors import AppError
from relasi.resolvers import global_ids
from relasi.resolvers.enums import (
    CasePriority,
    CaseStatus,
    Channel,
    JourneyStage,
    LeadRating,
    LifecycleStage,
    TaskPriority,
    TaskStatus,
)
from relasi.resolvers.validation import MEDIUM_TEXT, Checker

_ENUMS = {
    "LifecycleStage": LifecycleStage,
    "LeadRating": LeadRating,
    "JourneyStage": JourneyStage,
    "CaseStatus": CaseStatus,
    "CasePriority": CasePriority,
    "Channel": Channel,
    "TaskPriority": TaskPriority,
    "TaskStatus": TaskStatus,
}
UPDATABLE: dict[str, dict[str, tuple[str, str]]] = {
    "Contact": {
        "firstName": ("first_name", "text"),
        "lastName": ("last_name", "text"),
        "title": ("title", "text"),
        "city": ("city", "text"),
        "country": ("country", "text"),
        "lifecycleStage": ("lifecycle_stage", "enum:LifecycleStage"),
        "leadRating": ("lead_rating", "enum:LeadRating"),
        "journeyStage": ("journey_stage", "enum:JourneyStage"),
        "ownerId": ("owner_id", "id:Member"),
        "accountId": ("account_id", "id:Account"),
        "customAttributes": ("custom_attributes", "attributes"),
    },
    "Account": {
        "name": ("name", "text"),
        "domain": ("domain", "text"),
        "industry": ("industry", "text"),
        "country": ("country", "text"),
        "employeeCount": ("employee_count", "int"),
        "ownerId": ("owner_id", "id:Member"),
        "parentId": ("parent_id", "id:Account"),
        "annualRevenue": ("annual_revenue", "money"),
        "customAttributes": ("custom_attributes", "attributes"),
    },
    "Deal": {
        "name": ("name", "text"),
        "lostReason": ("lost_reason", "text"),
        "expectedCloseDate": ("expected_close_date", "date"),
        "amount": ("amount", "money"),
        "ownerId": ("owner_id", "id:Member"),
        "accountId": ("account_id", "id:Account"),
    },
    "Case": {
        "subject": ("subject", "text"),
        "description": ("description", "text"),
        "status": ("status", "enum:CaseStatus"),
        "priority": ("priority", "enum:CasePriority"),
        "channel": ("channel", "enum:Channel"),
        "satisfactionScore": ("satisfaction_score", "int"),
        "ownerId": ("owner_id", "id:Member"),
        "contactId": ("contact_id", "id:Contact"),
        "accountId": ("account_id", "id:Account"),
    },
    "Task": {
        "title": ("title", "text"),
        "description": ("description", "text"),
        "priority": ("priority", "enum:TaskPriority"),
        "status": ("status", "enum:TaskStatus"),  # DONE completes it, OPEN reopens it
        "assigneeId": ("assignee_id", "id:Member"),
    },
}


def enum_of(kind: str) -> Any:
    return _ENUMS[kind.split(":", 1)[1]]


def literal_problem(kind: str, value: Any) -> str | None:
    """Why `value` cannot be a field of this kind (None: it can)."""
    if kind == "text":
        if not isinstance(value, str):
            return "Expected text."
        if len(value) > MEDIUM_TEXT * 10 or "\x00" in value:
            return f"At most {MEDIUM_TEXT * 10} characters, no NUL."
        return None
    if kind.startswith("enum:"):
        enum = enum_of(kind)
        if value not in enum.__members__:
            return f"{str(value)[:100]!r} is not a {enum.__name__} (one of: {', '.join(enum.__members__)})."
        return None
    if kind == "int":
        return (
            None
            if isinstance(value, int) and not isinstance(value, bool)
            else "Expected a whole number."
        )
    if kind == "date":
        try:
            datetime.strptime(str(value), "%Y-%m-%d")
        except ValueError:
            return "Expected a date, YYYY-MM-DD."
        return None
    target = kind.split(":", 1)[1]
    try:
        global_ids.decode(value if isinstance(value, str) else "", target)
    except AppError:
        return f"Expected a {target} id."
    return None


def money(check: Checker, at: str, value: Any, *, templated: bool = False) -> dict | None:
    """A JSON {amount, currency} as the mutations' MoneyInput ({amount: Decimal, currency}),
    every problem reported at `at.amount` / `at.currency`; None if it is not one. `templated`
    (when saved): a part holding a template is checked once rendered, when the step runs."""
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        check.error(at, 'Give an amount and its currency: {amount: "50000", currency: "USD"}.')
        return None
    raw, currency = value["amount"], value["currency"]
    if templated and any(isinstance(v, str) and "{{" in v for v in (raw, currency)):
        return None
    amount = None
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        with contextlib.suppress(InvalidOperation):
            amount = Decimal(str(raw).strip())
    if amount is None:
        check.error(f"{at}.amount", 'Expected a decimal amount, e.g. "50000.00".')
    if not isinstance(currency, str):
        check.error(f"{at}.currency", "Expected an ISO 4217 currency code, e.g. USD.")
        return None
    if amount is None:
        check.currency(f"{at}.currency", currency)
        return None
    amount, currency = check.money(at, {"amount": amount, "currency": currency})
    return {"amount": amount, "currency": currency}
