"""A stored workflow condition (`{"deal": {...DealFilter...}}`, the one plain filter form)
compiled for many records at once: the set a schedule runs over, the waiting runs whose
condition now holds. Seen with the rights of whoever saved the workflow (its owner scopes),
as the engine reads it for one record."""

from __future__ import annotations

from typing import Any

from relasi.auth.pii import PII_READ
from relasi.auth.scopes import ADMIN
from relasi.resolvers import filter_form
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter


def may_read_pii(owner_scopes: list[str]) -> bool:
    return PII_READ in owner_scopes or ADMIN in owner_scopes


def compiled(
    record_type: str, condition: dict[str, Any] | None, owner_scopes: list[str], params: Params
) -> str:
    """The SQL condition over rows of `record_type` aliased `t` ("TRUE" without one); values
    go to `params`. Raises what `filter_form.parse` or `compile_filter` raise for a condition
    that no longer compiles (a segment it names was deleted, ...)."""
    if not condition:
        return "TRUE"
    plain = next(iter(condition.values()))
    parsed = filter_form.parse(record_type, plain, ["condition"])
    params.pii = may_read_pii(owner_scopes)
    return compile_filter(entity(record_type), parsed, "t", params)
