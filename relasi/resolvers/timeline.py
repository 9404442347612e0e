"""Journey timelines: everything that happened with a customer, in one chronological stream.

A timeline merges touchpoints (table `interactions`) with the other events (`timeline_events`:
deal stage moves, cases, journey transitions, notes). A page is one statement: for each parent
a UNION ALL of keyset scans, one per source, each on an index ordered by (occurred_at, id) and
cut at the page size, then merged and cut again. So a page deep in a history of 100,000 events
costs what the first page costs, and 50 contacts' timelines cost one statement, not 50.

Every event comes out in one shape (`EVENT_COLUMNS`), whichever table holds it, so a page
row and a row pushed to a subscriber build the same GraphQL object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from relasi.errors import UserInputError
from relasi.resolvers import rows
from relasi.resolvers.enums import TimelineEventKind
from relasi.resolvers.pagination import (
    Page,
    PageArgs,
    SortKey,
    cursor,
    key_columns,
    list_fingerprint,
    make_page,
    outer_order,
    plan_page,
)
from relasi.resolvers.predicates import Params
from relasi.resolvers.session import Session
from relasi.resolvers.validation import LONG_TEXT, Checker

INTERACTION = TimelineEventKind.INTERACTION.value
# one cursor format for both directions, so a cursor from a newest-first page (or from a
# subscription) can be used to read onward in time with order: OLDEST_FIRST
FINGERPRINT = list_fingerprint("timeline")

# The common shape of an event, selected from each table (alias e).
_FROM_INTERACTIONS = (
    "'INTERACTION' AS kind, e.contact_id, e.account_id, NULL::uuid AS deal_id,"
    " NULL::uuid AS case_id, e.id AS interaction_id, e.channel, e.kind AS interaction_kind,"
    " e.journey_stage, NULL::text AS from_value, NULL::text AS to_value, false AS regression,"
    " e.summary AS body, NULL::uuid AS actor_api_key_id, NULL::uuid AS actor_member_id,"
    " NULL::uuid AS task_id"
)
_FROM_EVENTS = (
    "e.kind, e.contact_id, e.account_id, e.deal_id, e.case_id, e.interaction_id,"
    " NULL::text AS channel, NULL::text AS interaction_kind, NULL::text AS journey_stage,"
    " e.from_value, e.to_value, e.regression, e.body, e.actor_api_key_id, e.actor_member_id,"
    " e.task_id"
)
EVENT_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "contact_id",
    "account_id",
    "deal_id",
    "case_id",
    "interaction_id",
    "channel",
    "interaction_kind",
    "journey_stage",
    "from_value",
    "to_value",
    "regression",
    "body",
    "actor_api_key_id",
    "actor_member_id",
    "task_id",
)

# A read of no source (a filter no event can match): no rows, in the common shape.
NO_EVENTS = (_FROM_EVENTS, "FROM timeline_events e WHERE false")
# Each table's columns of the common shape, by table: live subscriptions read single events in
# it too (compiler/subscriptions.py).
EVENT_COLUMNS_OF = {"interactions": _FROM_INTERACTIONS, "timeline_events": _FROM_EVENTS}

# How each event type's own fields come from the common shape, by kind: (field, column).
# The schema builds its objects from it (`schema/timeline.event_node`), the compiler its JSON.
EVENT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "INTERACTION": (
        ("channel", "channel"),
        ("interaction_kind", "interaction_kind"),
        ("journey_stage", "journey_stage"),
        ("summary", "body"),
    ),
    "CASE_STATUS_CHANGED": (("from_status", "from_value"), ("to_status", "to_value")),
    "JOURNEY_STAGE_CHANGED": (
        ("from_stage", "from_value"),
        ("to_stage", "to_value"),
        ("regression", "regression"),
    ),
    "NOTE": (("body", "body"),),
    "TASK_CREATED": (("title", "body"),),  # the task's title when it happened
    "TASK_COMPLETED": (("title", "body"),),
    # what a workflow run did, its workflow's name then and how it ended
    "WORKFLOW_RUN": (("summary", "body"), ("workflow_name", "from_value"), ("status", "to_value")),
}
# The records an event links to, by field: (entity type, the column holding its id; stage
# moves keep the stages' ids as text in from_value / to_value).
EVENT_LINKS: dict[str, tuple[str, str]] = {
    "contact": ("Contact", "contact_id"),
    "account": ("Account", "account_id"),
    "deal": ("Deal", "deal_id"),
    "case": ("Case", "case_id"),
    "interaction": ("Interaction", "interaction_id"),
    "task": ("Task", "task_id"),
    "from_pipeline_stage": ("PipelineStage", "from_value"),
    "to_pipeline_stage": ("PipelineStage", "to_value"),
}


def linked_id(event: Mapping[str, Any], link: str) -> UUID | None:
    """The id of the record `event` links to by field `link` (see EVENT_LINKS)."""
    value = event[EVENT_LINKS[link][1]]
    if isinstance(value, str):
        return UUID(value) if value else None
    return value


Owner = Literal["contact", "account"]


@dataclass(frozen=True)
class TimelineQuery:
    """What a timeline shows; every list is "any of", and None means no condition."""

    kinds: tuple[str, ...] | None = None  # TimelineEventKind values
    channels: tuple[str, ...] | None = None  # touchpoints on these channels
    interaction_kinds: tuple[str, ...] | None = None
    journey_stages: tuple[str, ...] | None = None  # touches in, or moves into, these stages
    occurred_from: datetime | None = None  # inclusive
    occurred_until: datetime | None = None  # exclusive
    oldest_first: bool = False


def sources_of(
    owner: Owner, parent: str, q: TimelineQuery, params: Params
) -> list[tuple[str, str]]:
    """(event columns, `FROM ... WHERE ...`) of each source the query can match, for one parent
    (alias e).

    A condition on a property only touchpoints have (channel, interaction kind) keeps the other
    events out; journey stages match touches in the stage and moves into it.
    """
    common = []
    if q.occurred_from is not None:
        common.append(f"e.occurred_at >= {params(q.occurred_from, 'timestamptz')}")
    if q.occurred_until is not None:
        common.append(f"e.occurred_at < {params(q.occurred_until, 'timestamptz')}")
    sources = []

    if q.kinds is None or INTERACTION in q.kinds:
        cond = [f"e.{owner}_id = {parent}", *common]
        if q.channels is not None:
            cond.append(f"e.channel = ANY({params(list(q.channels), 'text[]')})")
        if q.interaction_kinds is not None:
            cond.append(f"e.kind = ANY({params(list(q.interaction_kinds), 'text[]')})")
        if q.journey_stages is not None:
            cond.append(f"e.journey_stage = ANY({params(list(q.journey_stages), 'text[]')})")
        sources.append(
            (
                _FROM_INTERACTIONS,
                f"FROM interactions e WHERE e.workspace_id = $1 AND {' AND '.join(cond)}",
            )
        )

    other = [k for k in (q.kinds or [k.value for k in TimelineEventKind]) if k != INTERACTION]
    if q.journey_stages is not None:
        other = [k for k in other if k == TimelineEventKind.JOURNEY_STAGE_CHANGED.value]
    if other and q.channels is None and q.interaction_kinds is None:
        cond = [f"e.kind = ANY({params(other, 'text[]')})", *common]
        if q.journey_stages is not None:
            cond.append(f"e.to_value = ANY({params(list(q.journey_stages), 'text[]')})")
        where = " AND ".join(cond)
        table = "FROM timeline_events e WHERE e.workspace_id = $1"
        sources.append((_FROM_EVENTS, f"{table} AND e.{owner}_id = {parent} AND {where}"))
        if owner == "contact":
            # deal events are on the timeline of every contact on the deal
            deals = (
                "SELECT dc.deal_id FROM deal_contacts dc"
                f" WHERE dc.workspace_id = $1 AND dc.contact_id = {parent}"
            )
            sources.append(
                (
                    _FROM_EVENTS,
                    f"{table} AND e.contact_id IS NULL AND e.deal_id IN ({deals}) AND {where}",
                )
            )
    return sources


def sort_keys_of(q: TimelineQuery) -> list[SortKey]:
    desc = not q.oldest_first
    return [
        SortKey("e.occurred_at", "timestamptz", desc, False, False),
        SortKey("e.id", "uuid", desc, False, False),
    ]


async def page(
    session: Session, owner: Owner, parent_pk: UUID, q: TimelineQuery, args: PageArgs
) -> Page:
    """One parent's page of its timeline, batched with its siblings into one statement."""

    async def batch(parent_ids: list[UUID]) -> list[Page]:
        params = Params(session.workspace_id, parent_ids)
        keys = sort_keys_of(q)
        plan = plan_page(keys, args, params, session.max_page_size, FINGERPRINT)
        sources = sources_of(owner, "p.parent_id", q, params)
        if not sources:
            return [make_page(plan, []) for _ in parent_ids]
        branches = " UNION ALL ".join(
            f"(SELECT {columns}, {key_columns(keys)} {source} AND {plan.where}"
            f" ORDER BY {plan.order_sql} LIMIT {plan.limit})"
            for columns, source in sources
        )
        found = await session.fetch(
            "SELECT p.parent_id AS _parent, x.* FROM unnest($2::uuid[]) AS p(parent_id)"
            f" CROSS JOIN LATERAL (SELECT * FROM ({branches}) u"
            f" ORDER BY {outer_order(plan)} LIMIT {plan.limit}) x",
            *params.values,
        )
        grouped: dict[UUID, list] = {pid: [] for pid in parent_ids}
        for row in found:
            grouped[row["_parent"]].append(_renamed(row))
        return [make_page(plan, grouped[pid]) for pid in parent_ids]

    return await session.loader(("timeline", owner, q, args), batch).load(parent_pk)


def _renamed(row: asyncpg.Record) -> dict[str, Any]:
    """A page row as an event: the key columns double as its id and time."""
    event = dict(row)
    event["occurred_at"], event["id"] = row["_k0"], row["_k1"]
    return event


async def count(session: Session, owner: Owner, parent_pk: UUID, q: TimelineQuery) -> int:
    async def batch(parent_ids: list[UUID]) -> list[int]:
        params = Params(session.workspace_id, parent_ids)
        sources = sources_of(owner, "p.parent_id", q, params)
        if not sources:  # no event can match (e.g. notes on a channel)
            return [0 for _ in parent_ids]
        total = " + ".join(f"(SELECT count(*) {source})" for _, source in sources)
        found = await session.fetch(
            f"SELECT p.parent_id, {total} AS n FROM unnest($2::uuid[]) AS p(parent_id)",
            *params.values,
        )
        counts = {r["parent_id"]: r["n"] for r in found}
        return [counts.get(pid, 0) for pid in parent_ids]

    return await session.loader(("timeline_count", owner, q), batch).load(parent_pk)


def event_of(topic: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """An `interactions` or `timeline_events` row in the common event shape."""
    if topic == "interaction":
        return {
            **{c: None for c in EVENT_COLUMNS},
            "id": row["id"],
            "occurred_at": row["occurred_at"],
            "kind": INTERACTION,
            "contact_id": row["contact_id"],
            "account_id": row["account_id"],
            "interaction_id": row["id"],
            "channel": row["channel"],
            "interaction_kind": row["kind"],
            "journey_stage": row["journey_stage"],
            "regression": False,
            "body": row["summary"],
        }
    return {c: row.get(c) for c in EVENT_COLUMNS}  # touch-only columns are None


def cursor_of(event: Mapping[str, Any]) -> str:
    """The event's cursor: `timeline(after:)` or `before:` it read on from there."""
    return cursor(FINGERPRINT, [event["occurred_at"], event["id"]])


async def record(
    session: Session,
    kind: TimelineEventKind,
    *,
    occurred_at: datetime | None = None,
    contact_id: UUID | None = None,
    account_id: UUID | None = None,
    deal_id: UUID | None = None,
    case_id: UUID | None = None,
    interaction_id: UUID | None = None,
    from_value: str | None = None,
    to_value: str | None = None,
    regression: bool = False,
    body: str | None = None,
) -> asyncpg.Record:
    """Append an event to the timelines it belongs on (the change log announces it)."""
    row = await session.fetchrow(
        """INSERT INTO timeline_events
               (workspace_id, kind, occurred_at, contact_id, account_id, deal_id, case_id,
                interaction_id, from_value, to_value, regression, body, actor_api_key_id,
                actor_member_id)
           VALUES ($1, $2, coalesce($3, now()), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           RETURNING *""",
        session.workspace_id,
        kind.value,
        occurred_at,
        contact_id,
        account_id,
        deal_id,
        case_id,
        interaction_id,
        from_value,
        to_value,
        regression,
        body,
        session.principal.api_key_id,
        session.principal.member_id,
    )
    return row


async def attach_to_account(session: Session, contact_pk: UUID, account_pk: UUID) -> None:
    """A contact linked to an account for the first time brings its history along: events
    recorded while it had no account join the account's timeline (events from its time at
    another account stay there)."""
    for table in ("interactions", "timeline_events"):
        await session.execute(
            f"UPDATE {table} SET account_id = $3"
            " WHERE workspace_id = $1 AND contact_id = $2 AND account_id IS NULL",
            session.workspace_id,
            contact_pk,
            account_pk,
        )


NOTE_TARGETS = (
    ("contact_id", "Contact"),
    ("account_id", "Account"),
    ("deal_id", "Deal"),
    ("case_id", "Case"),
)


async def add_note(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    """A note on a contact, account, deal or case: on the timelines that record belongs on."""
    check = Checker("input")
    body = check.text("body", data.get("body"), LONG_TEXT, required=True)
    check.raise_if_any()
    given = [(column, name) for column, name in NOTE_TARGETS if data.get(column) is not None]
    if len(given) != 1:
        raise UserInputError.single(
            "input", "Give exactly one of contactId, accountId, dealId or caseId."
        )
    column, name = given[0]
    target = await rows.require(session, name, data[column], f"input.{column.replace('_id', 'Id')}")
    links: dict[str, Any] = {column: target["id"]}
    if name in ("Contact", "Deal"):
        links["account_id"] = target["account_id"]
    elif name == "Case":
        links["contact_id"], links["account_id"] = target["contact_id"], target["account_id"]
    return await record(session, TimelineEventKind.NOTE, body=body, **links)


async def load_actor_name(session: Session, api_key_id: UUID | None) -> str | None:
    """The name of the API key that caused an event (batched)."""
    if api_key_id is None:
        return None

    async def batch(ids: list[UUID]) -> list[str | None]:
        found = await session.fetch(
            "SELECT id, name FROM api_keys WHERE workspace_id = $1 AND id = ANY($2::uuid[])",
            session.workspace_id,
            ids,
        )
        names = {r["id"]: r["name"] for r in found}
        return [names.get(i) for i in ids]

    return await session.loader(("api_key_name",), batch).load(api_key_id)
