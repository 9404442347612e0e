"""The records whose moment falls in a window of time: relative-time triggers ("2 days before
a deal's expected close date") and case SLA triggers ("SLA due within 30 minutes", "SLA
breached"). Each is one statement per workspace and trigger over an index of the field, and
returns the (record, value) pairs whose moment is in (after, until]; the value goes into the
run's dedupe key, so a record runs once per value: a moved date is a new moment, and a moment
found by two scans (their windows overlap) still starts one run.

A date field's day starts at midnight in the workspace's time zone; a date-time field is an
instant already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from relasi.resolvers.cases import OPEN_STATUSES
from relasi.resolvers.model import Field, Kind, camel, entity
from relasi.resolvers.predicates import Params

TIME_KINDS = (Kind.DATETIME, Kind.DATE)
MAX_OFFSET = timedelta(days=3_650)


@dataclass(frozen=True)
class Moment:
    """Records of `record_type` are due `offset` after the value of `field` (negative:
    before); `open_cases` keeps only cases still open (SLA triggers)."""

    record_type: str
    field: str  # the mapping's (stored) name, e.g. expected_close_date
    offset: timedelta
    open_cases: bool = False


def time_fields(record_type: str) -> dict[str, Field]:
    """The date and date-time fields of a record type, by GraphQL name (expectedCloseDate)."""
    return {camel(f.name): f for f in entity(record_type).fields if f.kind in TIME_KINDS}


def sla_moment(within_minutes: int | None) -> Moment:
    """A case SLA trigger: due within `within_minutes`, or breached (None)."""
    offset = -timedelta(minutes=within_minutes) if within_minutes else timedelta(0)
    return Moment("Case", "sla_due_at", offset, open_cases=True)


async def due(
    conn: asyncpg.Connection,
    workspace_id: UUID,
    time_zone: str,
    moment: Moment,
    after: datetime,
    until: datetime,
) -> list[tuple[UUID, Any]]:
    """(id, value) of the live records of `workspace_id` whose moment is in (after, until]."""
    ent = entity(moment.record_type)
    f = ent.field(moment.field)
    if f.kind not in TIME_KINDS:
        raise ValueError(f"{moment.record_type}.{moment.field} is no date or date-time field")
    params = Params(workspace_id)
    value = f.expr("t")
    conditions = ["t.workspace_id = $1", ent.live("t")]
    # the window, shifted by the offset, bounds the value itself (so its index serves)
    low, high = params(after - moment.offset), params(until - moment.offset)
    if f.kind is Kind.DATE:  # the day starts at midnight in the workspace's zone
        zone = params(time_zone, "text")
        instant = f"(({value})::timestamp AT TIME ZONE {zone})"
        conditions.append(
            f"{value} BETWEEN ({low}::timestamptz AT TIME ZONE {zone})::date - 1"
            f" AND ({high}::timestamptz AT TIME ZONE {zone})::date + 1"
        )
    else:
        instant = value
    if moment.open_cases:  # SLA: open cases; one born within the warning is due at once
        conditions.append(f"t.status = ANY({params(list(OPEN_STATUSES), 'text[]')})")
        # (its moment is at most its due time: a cheap bound over the SLA index first)
        conditions.append(f"{value} > {params(after)}::timestamptz")
        instant = f"greatest({instant}, t.created_at - {params(moment.offset, 'interval')})"
    conditions.append(f"{instant} > {low}::timestamptz AND {instant} <= {high}::timestamptz")
    rows = await conn.fetch(
        f"SELECT t.id, {value} AS value FROM {ent.table} t WHERE {' AND '.join(conditions)}",
        *params.values,
    )
    return [(r["id"], r["value"]) for r in rows]
