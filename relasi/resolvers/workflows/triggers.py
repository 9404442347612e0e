"""Triggers: what starts a workflow. Checked when a workflow is saved (every problem at its
input path), stored as the client wrote them plus a matcher for the change log's events.

Kinds (`WorkflowTriggerInput`, one per trigger):
- `recordEvent {event}`: the record was CREATED, UPDATED, DELETED or RESTORED;
- `fieldChanged {field, from, to}`: an update changed `field` (a field or to-one relation of the
  record: `stage`, `leadRating`, `status`, `owner` - assigned), optionally from / to values
  (one or a list; a deal's `stage` by PipelineStage id or by name);
- `touchpointTracked {channels, kinds}`: a touchpoint of the contact was tracked;
- `journeyStageChanged {from, to}`: the contact's journey stage moved;
- `segmentMembership {segmentId, change}`: the contact ENTERED or EXITED a segment;
- `taskOverdue: true`: the task is due and not done (the `task.overdue` event);
- time-based, run by the scheduler (relasi/resolvers/workflows/ of the time-based work):
  `schedule {cron, timeZone}`, `relativeTime {field, offsetMinutes}`, `caseSla {event,
  withinMinutes}` - checked and stored here, matched there.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from relasi.errors import AppError
from relasi.resolvers import global_ids
from relasi.resolvers.enums import Channel, InteractionKind, JourneyStage
from relasi.resolvers.model import Kind, camel, entity
from relasi.resolvers.validation import Checker
from relasi.resolvers.workflows import schedules

# record type -> the prefix of its change events
EVENT_PREFIX = {"Contact": "contact", "Account": "account", "Deal": "deal", "Case": "case"}
RECORD_TYPES = ("Contact", "Account", "Deal", "Case", "Task")  # what workflows act on
RECORD_EVENTS = ("CREATED", "UPDATED", "DELETED", "RESTORED")
SLA_EVENTS = ("DUE_SOON", "BREACHED")
CHANGE_KINDS = (
    "recordEvent",
    "fieldChanged",
    "touchpointTracked",
    "journeyStageChanged",
    "segmentMembership",
    "taskOverdue",
)
TIME_KINDS = ("schedule", "relativeTime", "caseSla")
KINDS = CHANGE_KINDS + TIME_KINDS
# kinds about one record type only
ONLY_FOR = {
    "touchpointTracked": "Contact",
    "journeyStageChanged": "Contact",
    "segmentMembership": "Contact",
    "taskOverdue": "Task",
    "caseSla": "Case",
}
MAX_VALUES = 20
MAX_SLA_MINUTES = 7 * 24 * 60
MAX_OFFSET_MINUTES = 366 * 24 * 60
_COMPARABLE = (Kind.ENUM, Kind.ID, Kind.STRING, Kind.INT, Kind.DECIMAL, Kind.FLOAT, Kind.BOOLEAN)


def record_types() -> dict[str, str]:
    """WorkflowRecordType name -> GraphQL type: the record types workflows act on (Task once
    tasks exist)."""
    from relasi.resolvers.model import ENTITIES

    return {n.upper(): n for n in RECORD_TYPES if n in ENTITIES}


def changeable(record_type: str) -> dict[str, tuple[str, Kind, Any]]:
    """`fieldChanged` fields: GraphQL name -> (stored column, kind, enum class or id target)."""
    ent = entity(record_type)
    out: dict[str, tuple[str, Kind, Any]] = {}
    for f in ent.fields:
        if f.name in ("id", "created_at", "updated_at") or f.exists or f.kind is Kind.ID:
            continue
        out[camel(f.name)] = (f.name, f.kind, f.enum)
    for r in ent.relations:
        if r.cardinality == "one":
            out[r.name] = (r.local, Kind.ID, r.target)
    return out


class TriggerChecker:
    """Checks a workflow's triggers; `stages` are the workspace's pipeline stages
    (id, name), for a deal's stage named in from/to."""

    def __init__(self, check: Checker, record_type: str, stages: list[Any]) -> None:
        self.check = check
        self.record_type = record_type
        self.stages = stages

    def all(self, triggers: Any) -> list[dict[str, Any] | None]:
        """One matcher per trigger (None for the time-based kinds)."""
        if not isinstance(triggers, list) or not triggers:
            self.check.error("triggers", "Give at least one trigger.")
            return []
        if len(triggers) > MAX_VALUES:
            self.check.error("triggers", f"At most {MAX_VALUES} triggers.")
            return []
        return [self.one(f"triggers.{i}", t) for i, t in enumerate(triggers)]

    def one(self, at: str, trigger: Any) -> dict[str, Any] | None:
        if not isinstance(trigger, dict) or len(trigger) != 1 or next(iter(trigger)) not in KINDS:
            self.check.error(at, f"Give exactly one of {', '.join(KINDS)}.")
            return None
        kind, spec = next(iter(trigger.items()))
        at = f"{at}.{kind}"
        only = ONLY_FOR.get(kind)
        if only is not None and only != self.record_type:
            self.check.error(at, f"{kind} triggers workflows of {only.upper()} records.")
            return None
        if kind not in ("taskOverdue",) and not isinstance(spec, dict):
            self.check.error(at, "Expected an object.")
            return None
        return getattr(self, "_" + kind)(at, spec)

    # --- change-log kinds ---------------------------------------------------------------------

    def _prefix(self) -> str:
        return EVENT_PREFIX.get(self.record_type) or self.record_type.lower()

    def _recordEvent(self, at: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        event = spec.get("event")
        if event not in RECORD_EVENTS:
            self.check.error(f"{at}.event", f"One of {', '.join(RECORD_EVENTS)}.")
            return None
        return {"events": [f"{self._prefix()}.{event.lower()}"]}

    def _fieldChanged(self, at: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        fields = changeable(self.record_type)
        name = spec.get("field")
        if name not in fields:
            shown = str(name)[:100]
            self.check.error(
                f"{at}.field",
                f"{self.record_type} has no field {shown!r} a trigger can watch (one of: "
                f"{', '.join(sorted(fields))}).",
            )
            return None
        column, kind, extra = fields[name]
        if kind not in _COMPARABLE and ("from" in spec or "to" in spec):
            self.check.error(
                f"{at}.field", f"{name} changes can be watched, but not from / to values."
            )
            return None
        before = self._values(f"{at}.from", spec.get("from"), kind, extra, name)
        after = self._values(f"{at}.to", spec.get("to"), kind, extra, name)
        if before is not None and after is not None and set(before) == set(after) == {before[0]}:
            self.check.error(f"{at}.to", "from and to are the same value: no change is both.")
            return None
        return {
            "events": [f"{self._prefix()}.updated"],
            "column": column,
            "from": before,
            "to": after,
        }

    def _values(self, at: str, given: Any, kind: Kind, extra: Any, name: str) -> list | None:
        if given is None:
            return None
        items = given if isinstance(given, list) else [given]
        if not items or len(items) > MAX_VALUES:
            self.check.error(at, f"Give 1 to {MAX_VALUES} values.")
            return None
        out: list = []
        ok = True
        for i, item in enumerate(items):
            where = f"{at}.{i}" if isinstance(given, list) else at
            value = self._value(where, item, kind, extra, name)
            if value is None:
                ok = False
            elif isinstance(value, list):  # a stage name: every stage of that name
                out.extend(value)
            else:
                out.append(value)
        return out if ok else None

    def _value(self, at: str, item: Any, kind: Kind, extra: Any, name: str) -> Any:
        if kind is Kind.ENUM:
            names = [e.value for e in extra]
            if item not in names:
                self.check.error(
                    at, f"{str(item)[:100]!r} is not a {name} (one of: {', '.join(names)})."
                )
                return None
            return item
        if kind is Kind.ID:
            return self._id(at, item, extra)
        if kind is Kind.BOOLEAN:
            if not isinstance(item, bool):
                self.check.error(at, "Expected true or false.")
                return None
            return item
        if kind in (Kind.INT, Kind.DECIMAL, Kind.FLOAT):
            try:
                if isinstance(item, bool):
                    raise InvalidOperation
                number = Decimal(str(item))
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                self.check.error(at, f"Expected a number (got {str(item)[:100]!r}).")
                return None
            return str(number)
        if not isinstance(item, str) or len(item) > 256 or "\x00" in item:
            self.check.error(at, "Expected a text of at most 256 characters.")
            return None
        return item

    def _id(self, at: str, item: Any, target: str) -> str | None:
        if not isinstance(item, str):
            self.check.error(at, f"Expected a {target} id.")
            return None
        if target == "PipelineStage":  # by id, or by name (every stage of that name)
            named = [s for s in self.stages if s["name"].lower() == item.strip().lower()]
            if named:
                return [str(s["id"]) for s in named]
        try:
            pk = global_ids.decode(item, target, field=at)
        except AppError:
            hint = " or a stage name" if target == "PipelineStage" else ""
            self.check.error(at, f"{item[:100]!r} is not a {target} id{hint}.")
            return None
        if target == "PipelineStage" and all(s["id"] != pk for s in self.stages):
            self.check.error(at, f"No PipelineStage with id {item!r}.")
            return None
        return str(pk)

    def _touchpointTracked(self, at: str, spec: dict[str, Any]) -> dict[str, Any]:
        channels = self._enum_list(f"{at}.channels", spec.get("channels"), Channel)
        kinds = self._enum_list(f"{at}.kinds", spec.get("kinds"), InteractionKind)
        return {"events": ["interaction.tracked"], "channels": channels, "kinds": kinds}

    def _enum_list(self, at: str, given: Any, enum: Any) -> list[str] | None:
        if not given:
            return None
        names = [e.value for e in enum]
        bad = [v for v in given if v not in names]
        if bad:
            self.check.error(at, f"Not a {enum.__name__}: {str(bad[0])[:100]!r}.")
        return sorted(set(given) - set(bad))

    def _journeyStageChanged(self, at: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        before = self._values(
            f"{at}.from", spec.get("from"), Kind.ENUM, JourneyStage, "JourneyStage"
        )
        after = self._values(f"{at}.to", spec.get("to"), Kind.ENUM, JourneyStage, "JourneyStage")
        if before and after and before == after:
            self.check.error(f"{at}.to", "from and to are the same stage: no change is both.")
            return None
        return {
            "events": ["contact.journey_stage_changed"],
            "column": "journey_stage",
            "from": before,
            "to": after,
        }

    def _segmentMembership(self, at: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        change = spec.get("change")
        if change not in ("ENTERED", "EXITED"):
            self.check.error(f"{at}.change", "ENTERED or EXITED.")
            return None
        try:
            pk = global_ids.decode(spec.get("segmentId") or "", "Segment", field=f"{at}.segmentId")
        except AppError as e:
            self.check.error(f"{at}.segmentId", e.message)
            return None
        return {"events": [f"segment.member_{change.lower()}"], "segment": str(pk)}

    def _taskOverdue(self, at: str, spec: Any) -> dict[str, Any] | None:
        if spec is not True:
            self.check.error(at, "Give taskOverdue: true.")
            return None
        return {"events": ["task.overdue"]}

    # --- time-based kinds (matched by the scheduler) ------------------------------------------

    def _schedule(self, at: str, spec: dict[str, Any]) -> None:
        cron = spec.get("cron")
        if not isinstance(cron, str):
            self.check.error(f"{at}.cron", "Give the cron expression as text.")
        elif problem := schedules.cron_problem(cron):  # fields, aliases, days that never come
            self.check.error(f"{at}.cron", problem)
        zone = spec.get("timeZone")
        if zone is not None:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self.check.error(
                    f"{at}.timeZone",
                    f"{str(zone)[:100]!r} is not an IANA time zone (e.g. Asia/Jakarta).",
                )
        return None

    def _relativeTime(self, at: str, spec: dict[str, Any]) -> None:
        ent = entity(self.record_type)
        times = [camel(f.name) for f in ent.fields if f.kind in (Kind.DATE, Kind.DATETIME)]
        if spec.get("field") not in times:
            self.check.error(
                f"{at}.field",
                f"{self.record_type} has no date or time field {str(spec.get('field'))[:100]!r} "
                f"(one of: {', '.join(times)}).",
            )
        offset = spec.get("offsetMinutes")
        if not isinstance(offset, int) or abs(offset) > MAX_OFFSET_MINUTES:
            self.check.error(
                f"{at}.offsetMinutes", f"Between -{MAX_OFFSET_MINUTES} and {MAX_OFFSET_MINUTES}."
            )
        return None

    def _caseSla(self, at: str, spec: dict[str, Any]) -> None:
        event = spec.get("event")
        within = spec.get("withinMinutes")
        if event not in SLA_EVENTS:
            self.check.error(f"{at}.event", f"One of {', '.join(SLA_EVENTS)}.")
        elif event == "DUE_SOON" and not (
            isinstance(within, int) and 1 <= within <= MAX_SLA_MINUTES
        ):
            self.check.error(
                f"{at}.withinMinutes", f"DUE_SOON needs withinMinutes, 1 to {MAX_SLA_MINUTES}."
            )
        elif event == "BREACHED" and within is not None:
            self.check.error(f"{at}.withinMinutes", "Only DUE_SOON takes withinMinutes.")
        return None


# --- matching events ----------------------------------------------------------------------------


def _side(change: Any, side: str) -> Any:
    return change.get(side) if isinstance(change, dict) else None


def _same(stored: Any, wanted: list) -> bool:
    if stored is None:
        return False
    if isinstance(stored, bool) or not isinstance(stored, int | float | Decimal):
        return stored in wanted
    return Decimal(str(stored)) in {Decimal(w) for w in wanted}


def record_of(matcher: dict[str, Any], event: Any, changes: dict[str, Any]) -> UUID | None:
    """The id of the record a run acts on if `event` fires this trigger, else None.
    `changes`: the event's stored changes (decoded)."""
    if event["type"] not in matcher["events"]:
        return None
    if event["type"] == "interaction.tracked":
        if matcher.get("channels") and changes.get("channel") not in matcher["channels"]:
            return None
        if matcher.get("kinds") and changes.get("kind") not in matcher["kinds"]:
            return None
        contact = changes.get("contact_id")
        return UUID(contact) if contact else None
    if event["type"].startswith("segment.member_"):
        if str(event["record_id"]) != matcher["segment"]:
            return None
        change = changes.get("contact_id", {})
        contact = _side(change, "after") or _side(change, "before")
        return UUID(contact) if contact else None
    column = matcher.get("column")
    if column is not None:
        if column not in changes:
            return None
        change = changes[column]
        wanted_from, wanted_to = matcher.get("from"), matcher.get("to")
        if wanted_from is not None and not _same(_side(change, "before"), wanted_from):
            return None
        if wanted_to is not None and not _same(_side(change, "after"), wanted_to):
            return None
    return event["record_id"]
