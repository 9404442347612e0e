"""Predicates on a contact's behaviour, and on its segment membership, added to the one
predicate language (`model.extend`): they are keys of `ContactFilter`, so lists, segment rules
and subscriptions all use them the same way.

- `touchpoints`: how many touchpoints (optionally `matching` an InteractionFilter, within the
  last `withinDays` days) the contact had: `atLeast` / `atMost`.
- `lastTouchpoint`: the latest (matching) touchpoint is older than `olderThanDays` days.
- `averageSentiment`, `averageSatisfaction`: the average sentiment of its touchpoints, or
  CSAT of its rated cases, compared with `lt` / `lte` / `gt` / `gte`.
- `inSegment`: a member of at least one of these segments (their materialised membership).

Each compiles to a subquery correlated on the contact, on an index keyed by
(workspace_id, contact_id, ...); counts stop at the bound they compare with (LIMIT), so
"at least 3" reads at most 3 rows per contact, whatever its history holds.
"""

from __future__ import annotations

from typing import Any

from relasi.errors import NotFound
from relasi.resolvers import global_ids
from relasi.resolvers.model import Kind, Param, Predicate, entity, extend
from relasi.resolvers.predicates import Params, compile_filter

MAX_DAYS = 3_650
MAX_COUNT = 10_000

_MATCHING = Param(
    "matching",
    filter="Interaction",
    description="Only touchpoints matching this filter (channel, kind, journeyStage, "
    "utmCampaign, occurredAt for a date range, ...).",
)
_WITHIN = Param(
    "within_days",
    Kind.INT,
    minimum=1,
    maximum=MAX_DAYS,
    description="Only the last this many days (relative to now: kept current by the "
    "scheduled refresh of segments).",
)


def _bounds(low: float, high: float, what: str) -> tuple[Param, ...]:
    return tuple(
        Param(op, Kind.FLOAT, minimum=low, maximum=high, description=f"{what} {text}.")
        for op, text in (
            ("lt", "is less than"),
            ("lte", "is at most"),
            ("gt", "is greater than"),
            ("gte", "is at least"),
        )
    )


def _needs_a_bound(value: Any) -> str | None:
    """An average compares with something (the filter parser reports it at the predicate)."""
    if all(getattr(value, op, None) is None for op in ("lt", "lte", "gt", "gte")):
        return "Give lt, lte, gt or gte."
    return None


def _touches(
    value: Any, alias: str, params: Params, depth: int, days: int | None, t: str | None = None
) -> str:
    """`FROM ... WHERE ...` of the contact's (matching) touchpoints, aliased `t`."""
    t = t or params.alias("tp")
    cond = [f"{t}.workspace_id = {alias}.workspace_id", f"{t}.contact_id = {alias}.id"]
    if days is not None:
        cond.append(f"{t}.occurred_at >= now() - make_interval(days => {params(days, 'integer')})")
    matching = getattr(value, "matching", None)
    if matching is not None:
        cond.append(compile_filter(entity("Interaction"), matching, t, params, depth + 1))
    return f"FROM interactions {t} WHERE {' AND '.join(cond)}"


def _touchpoints(value: Any, alias: str, params: Params, depth: int) -> str:
    source = _touches(value, alias, params, depth, value.within_days)
    at_least, at_most = value.at_least, value.at_most
    if at_least is None and at_most is None:
        at_least = 1
    parts = []
    if at_least is not None and at_least > 0:
        if at_least == 1:
            parts.append(f"EXISTS (SELECT 1 {source})")
        else:
            n = params(at_least, "integer")
            parts.append(f"(SELECT count(*) FROM (SELECT 1 {source} LIMIT {n}) n) >= {n}")
    if at_most is not None:
        if at_most == 0:
            parts.append(f"NOT EXISTS (SELECT 1 {source})")
        else:
            n = params(at_most, "integer")
            parts.append(f"(SELECT count(*) FROM (SELECT 1 {source} LIMIT {n} + 1) n) <= {n}")
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _last_touchpoint(value: Any, alias: str, params: Params, depth: int) -> str:
    recent = _touches(value, alias, params, depth, value.older_than_days)
    if value.or_never:
        return f"NOT EXISTS (SELECT 1 {recent})"
    ever = _touches(value, alias, params, depth, None)
    return f"(EXISTS (SELECT 1 {ever}) AND NOT EXISTS (SELECT 1 {recent}))"


def _compare(average: str, value: Any, params: Params) -> str:
    ops = (("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">="))
    return " AND ".join(
        f"{average} {sql} {params(getattr(value, op), 'float8')}"
        for op, sql in ops
        if getattr(value, op, None) is not None
    )


def _average_sentiment(value: Any, alias: str, params: Params, depth: int) -> str:
    tp = params.alias("tp")
    source = _touches(value, alias, params, depth, value.within_days, tp)
    average = f"(SELECT avg({tp}.sentiment) {source} AND {tp}.sentiment IS NOT NULL)"
    return f"({_compare(average, value, params)})"


def _average_satisfaction(value: Any, alias: str, params: Params, depth: int) -> str:
    k = params.alias("cs")
    cond = [
        f"{k}.workspace_id = {alias}.workspace_id",
        f"{k}.contact_id = {alias}.id",
        f"{k}.deleted_at IS NULL",
        f"{k}.satisfaction_score IS NOT NULL",
    ]
    if value.within_days is not None:
        days = params(value.within_days, "integer")
        cond.append(f"{k}.resolved_at >= now() - make_interval(days => {days})")
    average = f"(SELECT avg({k}.satisfaction_score) FROM cases {k} WHERE {' AND '.join(cond)})"
    return f"({_compare(average, value, params)})"


def segment_ids(values: list[str], field: str) -> list[Any]:
    """The uuids of `inSegment` ids; an id of another type names no segment (NOT_FOUND)."""
    found = []
    for i, value in enumerate(values):
        type_name, pk = global_ids.decode_any(value, field=f"{field}.{i}")
        if type_name != "Segment":
            raise NotFound(f"No Segment with id {value!r}.", field=f"{field}.{i}")
        found.append(pk)
    return found


def _in_segment(value: Any, alias: str, params: Params, depth: int) -> str:
    ids = segment_ids(list(value), "filter.inSegment")
    m, s = params.alias("sm"), params.alias("sg")
    return (
        f"EXISTS (SELECT 1 FROM segment_members {m} JOIN segments {s}"
        f" ON {s}.workspace_id = {m}.workspace_id AND {s}.id = {m}.segment_id"
        f" WHERE {m}.workspace_id = {alias}.workspace_id AND {m}.contact_id = {alias}.id"
        f" AND {m}.segment_id = ANY({params(ids, 'uuid[]')}) AND {s}.deleted_at IS NULL)"
    )


TOUCHPOINTS = Predicate(
    name="touchpoints",
    type_name="TouchpointCountFilter",
    description="How many touchpoints the contact had (default: at least one).",
    params=(
        _MATCHING,
        _WITHIN,
        Param("at_least", Kind.INT, minimum=0, maximum=MAX_COUNT, description="At least N."),
        Param("at_most", Kind.INT, minimum=0, maximum=MAX_COUNT, description="At most N."),
    ),
    compile=_touchpoints,
    relation="interactions",
    clock_params=("within_days",),
)
LAST_TOUCHPOINT = Predicate(
    name="last_touchpoint",
    type_name="LastTouchpointFilter",
    description="The contact's latest (matching) touchpoint is older than some days: "
    "inactivity, churn risk.",
    params=(
        Param(
            "older_than_days",
            Kind.INT,
            required=True,
            minimum=1,
            maximum=MAX_DAYS,
            description="No touchpoint in the last this many days.",
        ),
        _MATCHING,
        Param(
            "or_never",
            Kind.BOOLEAN,
            description="Also contacts that never had one (default: they do not match).",
        ),
    ),
    compile=_last_touchpoint,
    relation="interactions",
    clock_params=("older_than_days",),
)
AVERAGE_SENTIMENT = Predicate(
    name="average_sentiment",
    type_name="AverageSentimentFilter",
    description="The average sentiment (-1 to 1) of the contact's touchpoints that have one; "
    "contacts without any do not match.",
    params=(*_bounds(-1, 1, "The average"), _MATCHING, _WITHIN),
    compile=_average_sentiment,
    relation="interactions",
    clock_params=("within_days",),
    check=_needs_a_bound,
)
AVERAGE_SATISFACTION = Predicate(
    name="average_satisfaction",
    type_name="AverageSatisfactionFilter",
    description="The average CSAT (1 to 5) of the contact's rated cases; contacts without "
    "any do not match.",
    params=(
        *_bounds(1, 5, "The average"),
        Param(
            "within_days",
            Kind.INT,
            minimum=1,
            maximum=MAX_DAYS,
            description="Only cases resolved in the last this many days.",
        ),
    ),
    compile=_average_satisfaction,
    relation="cases",
    clock_params=("within_days",),
    check=_needs_a_bound,
)
IN_SEGMENT = Predicate(
    name="in_segment",
    description="A member of at least one of these segments.",
    value=Param("in_segment", Kind.ID, many=True, target="Segment"),
    compile=_in_segment,
)

BEHAVIOUR = (TOUCHPOINTS, LAST_TOUCHPOINT, AVERAGE_SENTIMENT, AVERAGE_SATISFACTION)

extend("Contact", predicates=(*BEHAVIOUR, IN_SEGMENT))
