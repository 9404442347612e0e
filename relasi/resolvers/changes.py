"""The change log (dbschema/0008_change_log.sql): reading it in order, and its events as
clients see them.

Triggers write the events in the writer's transaction; this module only reads. Events are
read in the order their transactions committed (each transaction's per-workspace, gapless
commit number), then in the order each transaction made them, so a poller resuming after its
last cursor never misses an event committed later (the migration explains why).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.pii import PII_READ, mask_email, mask_phone
from relasi.auth.principal import Principal
from relasi.currencies import for_output
from relasi.errors import AppError
from relasi.resolvers import global_ids, pagination
from relasi.resolvers.model import camel
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session

_RECORDS = ("contact", "account", "deal", "case", "segment", "task")
# every event type, in the order the README lists them
EVENT_TYPES: tuple[str, ...] = (
    *(f"{r}.{what}" for r in _RECORDS for what in ("created", "updated", "deleted", "restored")),
    "interaction.tracked",
    "deal.stage_changed",
    "case.status_changed",
    "contact.journey_stage_changed",
    "segment.member_entered",
    "segment.member_exited",
    "note.added",
    "task.completed",
    "task.overdue",
)
# events of a new record: all its fields are "after" values
CREATIONS = frozenset(t for t in EVENT_TYPES if t.endswith(".created")) | {
    "interaction.tracked",
    "note.added",
}
MAX_FILTER_VALUES = 100

FINGERPRINT = pagination.list_fingerprint("changes")
_SELECT = (
    "SELECT c.sequence, e.seq, e.occurred_at, e.type, e.record_type, e.record_id,"
    " e.changes::text AS changes, e.actor_api_key_id, e.actor_member_id, e.request_id,"
    " e.actor_workflow_id"
    " FROM change_commits c JOIN change_events e"
    " ON e.workspace_id = c.workspace_id AND e.xid = c.xid"
)

# stored id columns -> the type their global ids name
ID_TARGETS = {
    "contact_id": "Contact",
    "account_id": "Account",
    "parent_id": "Account",
    "owner_id": "Member",
    "deal_id": "Deal",
    "case_id": "Case",
    "pipeline_id": "Pipeline",
    "stage_id": "PipelineStage",
    "segment_id": "Segment",
    "assignee_id": "Member",
    "completed_by_member_id": "Member",
    "completed_by_api_key_id": "ApiKey",
    "task_id": "Task",
}
# stored columns that are bookkeeping of the writer, not fields of the record
_HIDDEN = frozenset({"idempotency_key"})
# an amount column -> its currency column and the API field showing both as Money
MONEY = {"amount": ("currency", "amount"), "annual_revenue": ("annual_revenue_currency", None)}
UTM = "utm_"
# JSON the client wrote: its keys and numbers stay as they are
CLIENT_JSON = ("custom_attributes", "properties", "rule")


def cursor_of(row: asyncpg.Record) -> str:
    return pagination.cursor(FINGERPRINT, [str(row["sequence"]), str(row["seq"])])


def _position(after: str) -> tuple[int, int]:
    sequence, seq = pagination.cursor_values(after, FINGERPRINT, 2, "after")
    if not (sequence and seq and sequence.isdigit() and seq.isdigit()):
        raise AppError(f"{after!r} is not a valid cursor.", field="after")
    return int(sequence), int(seq)


async def page(
    session: Session,
    first: int | None,
    after: str | None,
    types: list[str] | None,
    record_ids: list[str] | None,
) -> tuple[list[asyncpg.Record], bool]:
    """Up to `first` events after the cursor, oldest first, and whether more are readable."""
    size = pagination.page_size(first, session.max_page_size)
    params = Params(session.workspace_id)
    where = conditions(params, after, types, record_ids)
    found = await session.fetch(
        f"{_SELECT} WHERE {where} ORDER BY c.sequence, e.seq LIMIT {params(size + 1)}",
        *params.values,
    )
    return found[:size], len(found) > size


def conditions(
    params: Params, after: str | None, types: list[str] | None, record_ids: list[str] | None
) -> str:
    """Which events a page reads (`c`: change_commits, `e`: change_events; $1 the workspace):
    committed ones after the cursor, of these types and records."""
    found = ["c.workspace_id = $1", "c.sequence IS NOT NULL"]
    if after is not None:
        sequence, seq = (params(n) for n in _position(after))
        found.append(f"c.sequence >= {sequence} AND (c.sequence > {sequence} OR e.seq > {seq})")
    if types is not None:
        found.append(f"e.type = ANY({params(_checked_types(types), 'text[]')})")
    if record_ids is not None:
        found.append(f"e.record_id = ANY({params(_record_pks(record_ids), 'uuid[]')})")
    return " AND ".join(found)


def _checked_types(types: list[str]) -> list[str]:
    if len(types) > MAX_FILTER_VALUES:
        raise AppError(f"At most {MAX_FILTER_VALUES} types.", field="filter.types")
    for i, name in enumerate(types):
        if name not in EVENT_TYPES:
            raise AppError(
                f"{name!r} is not an event type (e.g. 'contact.updated'; see the README).",
                field=f"filter.types.{i}",
            )
    return types


def _record_pks(record_ids: list[str]) -> list[UUID]:
    if len(record_ids) > MAX_FILTER_VALUES:
        raise AppError(f"At most {MAX_FILTER_VALUES} record ids.", field="filter.recordIds")
    return [
        global_ids.decode_any(gid, field=f"filter.recordIds.{i}")[1]
        for i, gid in enumerate(record_ids)
    ]


# --- what clients see -----------------------------------------------------------------------


def render(row: asyncpg.Record, principal: Principal) -> dict[str, Any]:
    """The stored changes ({"column": {"before", "after"}}) with the API's field names and
    values: global ids, Money, `utm`, identities masked without pii:read, deal amounts left out
    without deals:amounts."""
    stored: dict[str, Any] = json.loads(row["changes"], parse_float=Decimal)
    if row["type"] in CREATIONS:  # stored as the new row's values
        stored = {k: {"before": None, "after": v} for k, v in stored.items() if v is not None}
    out: dict[str, Any] = {}
    utm: dict[str, dict[str, Any]] = {"before": {}, "after": {}}
    for column, change in stored.items():
        if column in _HIDDEN:
            continue
        if column in ("currency", "annual_revenue_currency"):
            continue  # shown within its amount
        if column.startswith(UTM):
            for side in ("before", "after"):
                if change[side] is not None:
                    utm[side][column.removeprefix(UTM)] = change[side]
            continue
        if column in MONEY:
            currency_column, name = MONEY[column]
            if row["record_type"] == "Deal" and not principal.has("deals:amounts"):
                continue
            currency = stored.get(currency_column, {"before": None, "after": None})
            out[camel(name or column)] = {
                side: _money(change[side], currency[side]) for side in ("before", "after")
            }
            continue
        out[camel(column)] = {
            side: _value(column, change[side], principal) for side in ("before", "after")
        }
    if utm["before"] or utm["after"]:
        out["utm"] = {side: utm[side] or None for side in ("before", "after")}
    return out


def _money(amount: Any, currency: str | None) -> dict[str, str] | None:
    if amount is None or currency is None:
        return None
    return {"amount": str(for_output(Decimal(str(amount)), currency)), "currency": currency}


def _value(column: str, value: Any, principal: Principal) -> Any:
    if value is None:
        return None
    target = ID_TARGETS.get(column)
    if target is not None:
        return global_ids.encode(target, UUID(value))
    if column == "emails" and not principal.has(PII_READ):
        return [mask_email(v) for v in value]
    if column == "phones" and not principal.has(PII_READ):
        return [mask_phone(v) for v in value]
    if column == "contacts":  # a deal's contacts
        return [
            {"contactId": global_ids.encode("Contact", UUID(c["contact_id"])), "role": c["role"]}
            for c in value
        ]
    if isinstance(value, Decimal):  # a decimal field (sentiment): a string, as the API sends it
        return str(value)
    if column in CLIENT_JSON:
        return _plain(value)
    if isinstance(value, dict | list):  # identities: stored names
        return _camel_keys(value)
    return value


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """A client's own JSON as it sent it (numbers were read exactly, as Decimals)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return float(value) if isinstance(value, Decimal) else value
