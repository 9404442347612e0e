"""`DealFilter.lastTouchpoint`: a deal whose people went quiet, for lists, webhooks and workflow
schedules alike ("every Monday 08:00, each open deal with no touchpoint in 14 days").

A deal's touchpoints are those of its contacts (deal_contacts) and of its account: touchpoints
name a contact or an account, not a deal. Added to the one predicate language with
`model.extend`, so every filter path (lists, the query compiler, webhook and workflow filters)
has it at once. Each side is an EXISTS over the (workspace_id, contact_id | account_id,
occurred_at) indexes.
"""

from __future__ import annotations

from typing import Any

from relasi.resolvers.model import Kind, Param, Predicate, entity, extend
from relasi.resolvers.predicates import Params, compile_filter

MAX_DAYS = 3_650


def _touches(value: Any, alias: str, params: Params, depth: int, days: int | None) -> str:
    """Whether the deal `alias` has a (matching) touchpoint (in the last `days` days)."""
    sides = []
    for key, source in (
        (
            "contact_id",
            f"(SELECT dc.contact_id FROM deal_contacts dc WHERE dc.workspace_id ="
            f" {alias}.workspace_id AND dc.deal_id = {alias}.id)",
        ),
        ("account_id", f"({alias}.account_id)"),
    ):
        t = params.alias("dtp")
        cond = [f"{t}.workspace_id = {alias}.workspace_id", f"{t}.{key} IN {source}"]
        if days is not None:
            cond.append(
                f"{t}.occurred_at >= now() - make_interval(days => {params(days, 'integer')})"
            )
        matching = getattr(value, "matching", None)
        if matching is not None:
            cond.append(compile_filter(entity("Interaction"), matching, t, params, depth + 1))
        sides.append(f"EXISTS (SELECT 1 FROM interactions {t} WHERE {' AND '.join(cond)})")
    return "(" + " OR ".join(sides) + ")"


def _last_touchpoint(value: Any, alias: str, params: Params, depth: int) -> str:
    recent = _touches(value, alias, params, depth, value.older_than_days)
    if value.or_never:
        return f"NOT {recent}"
    return f"({_touches(value, alias, params, depth, None)} AND NOT {recent})"


LAST_TOUCHPOINT = Predicate(
    name="last_touchpoint",
    type_name="DealLastTouchpointFilter",
    description="The latest (matching) touchpoint of the deal's contacts and account is older "
    "than some days: a deal going quiet.",
    params=(
        Param(
            "older_than_days",
            Kind.INT,
            required=True,
            minimum=1,
            maximum=MAX_DAYS,
            description="No touchpoint in the last this many days (relative to now).",
        ),
        Param(
            "matching",
            filter="Interaction",
            description="Only touchpoints matching this filter (channel, kind, ...).",
        ),
        Param(
            "or_never",
            Kind.BOOLEAN,
            description="Also deals that never had one (default: they do not match).",
        ),
    ),
    compile=_last_touchpoint,
)

extend("Deal", predicates=(LAST_TOUCHPOINT,))
