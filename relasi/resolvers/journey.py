"""Journey stages: AWARENESS -> CONSIDERATION -> DECISION -> RETENTION -> ADVOCACY.

A contact's stage only moves forward when a touchpoint shows a later stage; it moves back only
when the touchpoint is flagged as a regression (a churn signal, say). Every move is a
JOURNEY_STAGE_CHANGED timeline event with its time and the touchpoint that caused it, and the
journey view (`Contact.journey`, also as of a past moment) is read off those events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from relasi.resolvers import timeline
from relasi.resolvers.enums import JourneyStage, TimelineEventKind
from relasi.resolvers.session import Session

ORDER = [stage.value for stage in JourneyStage]
STAGES_SQL = "ARRAY['AWARENESS','CONSIDERATION','DECISION','RETENTION','ADVOCACY']"


def is_later(stage: str, than: str) -> bool:
    return ORDER.index(stage) > ORDER.index(than)


async def record_transition(
    session: Session,
    contact: asyncpg.Record,
    from_stage: str | None,
    to_stage: str,
    at: datetime | None,
    *,
    interaction_id: UUID | None = None,
) -> None:
    await timeline.record(
        session,
        TimelineEventKind.JOURNEY_STAGE_CHANGED,
        occurred_at=at,
        contact_id=contact["id"],
        account_id=contact["account_id"],
        interaction_id=interaction_id,
        from_value=from_stage,
        to_value=to_stage,
        regression=from_stage is not None and not is_later(to_stage, from_stage),
    )


async def apply_touch(
    session: Session, contact: asyncpg.Record, interaction: asyncpg.Record, regression: bool
) -> bool:
    """Move the contact to the touchpoint's stage if it is later (or a flagged regression).

    Returns whether the stage changed. The contact row is locked first, so concurrent touches
    of one contact apply one after the other against its current stage.
    """
    stage = interaction["journey_stage"]
    if stage is None:
        return False
    current = await session.fetchrow(
        # NO KEY: the touch's insert already holds KEY SHARE on the contact (its foreign key),
        # and FOR UPDATE would deadlock two concurrent touches of one contact over it
        "SELECT * FROM contacts WHERE workspace_id = $1 AND id = $2 FOR NO KEY UPDATE",
        session.workspace_id,
        contact["id"],
    )
    before = current["journey_stage"]
    if stage == before or not (is_later(stage, before) or regression):
        return False
    await session.execute(
        """UPDATE contacts SET journey_stage = $3, updated_at = now(), version = version + 1
           WHERE workspace_id = $1 AND id = $2""",
        session.workspace_id,
        contact["id"],
        stage,
    )
    await record_transition(
        session,
        current,
        before,
        stage,
        interaction["occurred_at"],
        interaction_id=interaction["id"],
    )
    return True


# --- the journey view -------------------------------------------------------------------------

# The view's SQL, written once over {contact} (a contact id expression, or `ANY(...)` of a
# batch's ids) and {as_of} (a timestamptz expression; NULL: now): the loaders below batch it,
# the query compiler (`compiler/journeys.py`) correlates it to each contact row.
TRANSITIONS = (
    "FROM timeline_events e WHERE e.workspace_id = $1 AND e.contact_id = {contact}"
    " AND e.kind = 'JOURNEY_STAGE_CHANGED' AND ({as_of} IS NULL OR e.occurred_at <= {as_of})"
)
TRANSITIONS_ORDER = "e.occurred_at, e.id"
# touchpoints per stage the contact was in (by_channel = 0) and per channel (by_channel = 1)
COUNTS = (
    "WITH stages AS ("
    " SELECT e.contact_id, e.to_value AS stage, e.occurred_at AS entered_at,"
    " lead(e.occurred_at) OVER w AS exited_at, row_number() OVER w AS n"
    " "
    + TRANSITIONS
    + " WINDOW w AS (PARTITION BY e.contact_id ORDER BY "
    + TRANSITIONS_ORDER
    + "))"
    " SELECT s.contact_id, s.stage, i.channel, grouping(s.stage) AS by_channel, count(*) AS n"
    " FROM stages s JOIN interactions i"
    " ON i.workspace_id = $1 AND i.contact_id = s.contact_id"
    " AND (s.n = 1 OR i.occurred_at >= s.entered_at)"
    " AND (s.exited_at IS NULL OR i.occurred_at < s.exited_at)"
    " AND ({as_of} IS NULL OR i.occurred_at <= {as_of})"
    " GROUP BY GROUPING SETS ((s.contact_id, s.stage), (s.contact_id, i.channel))"
)
# the id of the first / last touch up to {as_of}
_TOUCH = (
    "(SELECT i.id FROM interactions i WHERE i.workspace_id = $1 AND i.contact_id = {contact}"
    " AND ({as_of} IS NULL OR i.occurred_at <= {as_of}) ORDER BY i.occurred_at{desc}, i.id{desc}"
    " LIMIT 1)"
)
FIRST_TOUCH = _TOUCH.replace("{desc}", "")
LAST_TOUCH = _TOUCH.replace("{desc}", " DESC")
# a touch's attribution fields: (field, interactions column)
ATTRIBUTION = (
    ("occurred_at", "occurred_at"),
    ("channel", "channel"),
    ("source", "source"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("campaign", "utm_campaign"),
)


@dataclass
class Transition:
    from_stage: str | None
    to_stage: str
    entered_at: datetime
    exited_at: datetime | None
    regression: bool
    interaction_id: UUID | None


@dataclass
class JourneyCounts:
    by_stage: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)


async def transitions(
    session: Session, contact_pk: UUID, as_of: datetime | None
) -> list[Transition]:
    """The contact's stage transitions up to `as_of`, oldest first; the last one is open."""

    async def batch(ids: list[UUID]) -> list[list[Transition]]:
        found = await session.fetch(
            "SELECT e.contact_id, e.from_value, e.to_value, e.occurred_at, e.regression,"
            " e.interaction_id "
            + TRANSITIONS.format(contact="ANY($2::uuid[])", as_of="$3::timestamptz")
            + f" ORDER BY e.contact_id, {TRANSITIONS_ORDER}",
            session.workspace_id,
            ids,
            as_of,
        )
        grouped: dict[UUID, list[Transition]] = defaultdict(list)
        for r in found:
            steps = grouped[r["contact_id"]]
            if steps:
                steps[-1].exited_at = r["occurred_at"]
            steps.append(
                Transition(
                    r["from_value"],
                    r["to_value"],
                    r["occurred_at"],
                    None,
                    r["regression"],
                    r["interaction_id"],
                )
            )
        return [grouped.get(i, []) for i in ids]

    return await session.loader(("journey_transitions", as_of), batch).load(contact_pk)


async def counts(session: Session, contact_pk: UUID, as_of: datetime | None) -> JourneyCounts:
    """Touchpoints per stage (the stage the contact was in when the touch happened) and per
    channel, up to `as_of`. Touches before the first transition count in the first stage."""

    async def batch(ids: list[UUID]) -> list[JourneyCounts]:
        found = await session.fetch(
            COUNTS.format(contact="ANY($2::uuid[])", as_of="$3::timestamptz"),
            session.workspace_id,
            ids,
            as_of,
        )
        result = {i: JourneyCounts() for i in ids}
        for r in found:
            target = result[r["contact_id"]]
            if r["by_channel"]:
                target.by_channel[r["channel"]] = r["n"]
            else:
                target.by_stage[r["stage"]] = target.by_stage.get(r["stage"], 0) + r["n"]
        return [result[i] for i in ids]

    return await session.loader(("journey_counts", as_of), batch).load(contact_pk)


async def touches(
    session: Session, contact_pk: UUID, as_of: datetime | None
) -> tuple[UUID | None, UUID | None]:
    """(first touch, last touch) of the contact up to `as_of`: two index probes per contact."""

    async def batch(ids: list[UUID]) -> list[tuple[UUID | None, UUID | None]]:
        touch = {"contact": "p.id", "as_of": "$3::timestamptz"}
        found = await session.fetch(
            f"SELECT p.id, {FIRST_TOUCH.format(**touch)} AS first_id,"
            f" {LAST_TOUCH.format(**touch)} AS last_id"
            " FROM unnest($2::uuid[]) AS p(id)",
            session.workspace_id,
            ids,
            as_of,
        )
        by_id = {r["id"]: (r["first_id"], r["last_id"]) for r in found}
        return [by_id.get(i, (None, None)) for i in ids]

    return await session.loader(("journey_touches", as_of), batch).load(contact_pk)


# per stage, an account's live contacts in it now (n) and the furthest stage (its position in
# STAGES_SQL) any of them ever reached, over {account}
ACCOUNT = (
    "SELECT c.account_id, c.journey_stage, count(*) AS n,"
    f" max(greatest(array_position({STAGES_SQL}, c.journey_stage),"
    f" (SELECT max(array_position({STAGES_SQL}, e.to_value)) FROM timeline_events e"
    " WHERE e.workspace_id = c.workspace_id AND e.contact_id = c.id"
    " AND e.kind = 'JOURNEY_STAGE_CHANGED'))) AS furthest"
    " FROM contacts c WHERE c.workspace_id = $1 AND c.account_id = {account}"
    " AND c.deleted_at IS NULL GROUP BY c.account_id, c.journey_stage"
)


@dataclass
class AccountJourney:
    furthest_stage: str | None
    contacts_by_stage: dict[str, int]


async def account_journey(session: Session, account_pk: UUID) -> AccountJourney:
    """The furthest stage any of the account's contacts ever reached, and how many of its
    contacts are in each stage now."""

    async def batch(ids: list[UUID]) -> list[AccountJourney]:
        found = await session.fetch(
            ACCOUNT.format(account="ANY($2::uuid[])"),
            session.workspace_id,
            ids,
        )
        result: dict[UUID, Any] = {i: AccountJourney(None, {}) for i in ids}
        for r in found:
            journey = result[r["account_id"]]
            journey.contacts_by_stage[r["journey_stage"]] = r["n"]
            furthest = ORDER[r["furthest"] - 1]
            if journey.furthest_stage is None or is_later(furthest, journey.furthest_stage):
                journey.furthest_stage = furthest
        return [result[i] for i in ids]

    return await session.loader(("account_journey",), batch).load(account_pk)
