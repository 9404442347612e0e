"""Creating, changing and deleting segments, and their static overrides."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.auth.pii import PII_READ
from relasi.errors import AppError, Conflict, ErrorCode, FieldError, UserInputError
from relasi.resolvers import global_ids, rows
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.segments import membership, rules
from relasi.resolvers.segments.mapping import SEGMENT
from relasi.resolvers.session import Session
from relasi.resolvers.validation import MEDIUM_TEXT, Checker

MAX_IDS = 10_000  # contacts per addToSegment / removeFromSegment call
MAX_CHAIN = 5  # segments reading segments reading segments ...
MAX_REPORTED = 50  # unknown contact ids reported one by one
UNIQUE = {"segments_name": ("input.name", "A segment with this name exists.")}
RESTORE_UNIQUE = {"segments_name": ("input.id", "A live segment has this name now.")}


async def _lock_definitions(session: Session) -> None:
    """Serialise rule changes of one workspace, so two concurrent edits cannot close a cycle
    of segments reading each other (each check would miss the other's edit)."""
    await session.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('relasi.segments:' || $1::uuid::text, 0))",
        session.workspace_id,
    )


def _check_readable(session: Session, rule: rules.Rule) -> None:
    """Compile once with the caller's rights: a rule on personal data needs pii:read."""
    compile_filter(entity("Contact"), rule.filter, "c", Params(pii=session.principal.has(PII_READ)))


async def reference_errors(
    session: Session, rule: rules.Rule, self_id: UUID | None
) -> list[FieldError]:
    """Every segment the rule reads exists here, none leads back to this one, and the chain of
    segments reading segments stays short."""
    if not rule.refs:
        return []
    found = await session.fetch(
        "SELECT id, refs FROM segments WHERE workspace_id = $1 AND deleted_at IS NULL",
        session.workspace_id,
    )
    graph = {r["id"]: list(r["refs"]) for r in found}
    depth: dict[UUID, int] = {}

    def chain(s: UUID, seen: frozenset[UUID]) -> int:  # the longest chain below s
        if s not in depth:
            below = [r for r in graph.get(s, ()) if r in graph and r not in seen]
            depth[s] = 1 + max((chain(r, seen | {s}) for r in below), default=0)
        return depth[s]

    def reaches(s: UUID, goal: UUID, seen: set[UUID]) -> bool:
        if s == goal:
            return True
        seen.add(s)
        return any(reaches(r, goal, seen) for r in graph.get(s, ()) if r not in seen)

    errors = []
    for ref, places in rule.refs.items():
        for path, _ in places:
            if ref not in graph:
                message = f"No Segment with id {global_ids.encode('Segment', ref)!r}."
                errors.append(FieldError(path, message, ErrorCode.NOT_FOUND))
            elif self_id is not None and reaches(ref, self_id, set()):
                message = "This segment would read itself (directly or through other segments)."
                errors.append(FieldError(path, message))
            elif chain(ref, frozenset()) >= MAX_CHAIN:
                message = f"Segments may read segments at most {MAX_CHAIN} levels deep."
                errors.append(FieldError(path, message))
    return errors


async def parsed_rule(
    session: Session, value: Any, prefix: list[str], self_id: UUID | None
) -> rules.Rule:
    """A rule checked in full: its keys and values, the segments it reads, the caller's
    right to read what it filters on. All problems are reported together, in path order."""
    rule, errors = rules.parse_all(value, prefix)
    errors += await reference_errors(session, rule, self_id)
    if errors:
        raise UserInputError(sorted(errors, key=lambda e: e.field))
    _check_readable(session, rule)
    return rule


async def _rule(session: Session, data: dict[str, Any], self_id: UUID | None) -> rules.Rule:
    return await parsed_rule(session, data["rule"], ["input", data["rule_field"]], self_id)


def _rule_values(data: dict[str, Any], rule: rules.Rule) -> dict[str, Any]:
    return {
        "rule": data["rule"],
        "paths": sorted(list(p) for p in rule.paths),
        "refs": list(rule.refs),
        "scheduled": rule.clock or rule.deep,
        # writes racing with this change evaluated the old definition: the scheduler
        # re-checks the segment once they are all over (see scheduler.py)
        "needs_settle": True,
        "settle_xid": None,
    }


async def contact_ids(session: Session, given: list[str], field: str) -> list[UUID]:
    """The live contacts `given` names; every unknown one is NOT_FOUND at its index."""
    if len(given) > MAX_IDS:
        raise UserInputError.single(field, f"At most {MAX_IDS:,} contacts per call.")
    errors, pks = [], []
    for i, value in enumerate(given):
        try:
            pks.append((i, global_ids.decode(value, "Contact", field=f"{field}.{i}")))
        except AppError as e:
            errors.append(FieldError(e.field.split("."), e.message, e.code))
    found = await session.fetch(
        "SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])"
        " AND deleted_at IS NULL",
        session.workspace_id,
        [pk for _, pk in pks],
    )
    live = {r["id"] for r in found}
    for i, pk in pks:
        if pk not in live:
            message = f"No Contact with id {given[i]!r}."
            errors.append(FieldError([*field.split("."), str(i)], message, ErrorCode.NOT_FOUND))
    if errors:
        raise UserInputError(errors[:MAX_REPORTED])
    return list(dict.fromkeys(pk for _, pk in pks))


async def _set_overrides(session: Session, segment_id: UUID, ids: list[UUID], mode: str) -> None:
    """mode INCLUDE or EXCLUDE puts the contacts on that list (and off the other); CLEAR takes
    them off both."""
    for table, wanted in (("segment_includes", "INCLUDE"), ("segment_excludes", "EXCLUDE")):
        if mode == wanted:
            await session.execute(
                f"INSERT INTO {table} (workspace_id, segment_id, contact_id)"
                " SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING",
                session.workspace_id,
                segment_id,
                ids,
            )
        else:
            await session.execute(
                f"DELETE FROM {table} WHERE workspace_id = $1 AND segment_id = $2"
                " AND contact_id = ANY($3::uuid[])",
                session.workspace_id,
                segment_id,
                ids,
            )


def _names(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values = {}
    if "name" in data:
        values["name"] = check.text("name", data["name"], required=True)
    if "description" in data:
        values["description"] = check.text("description", data["description"], MEDIUM_TEXT)
    return values


async def create_segment(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _names(check, {"name": None, **data})
    kind = data.get("kind") or ("DYNAMIC" if data.get("rule") is not None else "STATIC")
    if kind == "DYNAMIC" and data.get("rule") is None:
        check.error("rule", "A dynamic segment needs a rule.")
    if kind == "STATIC" and data.get("rule") is not None:
        check.error(data["rule_field"], "A static segment has no rule: give its members.")
    if kind == "STATIC" and data.get("exclude"):
        check.error("exclude", "A static segment has only the members it is given.")
    check.raise_if_any()
    include = await contact_ids(session, data.get("include") or [], "input.include")
    exclude = await contact_ids(session, data.get("exclude") or [], "input.exclude")
    both = set(include) & set(exclude)
    if both:
        index = next(i for i, pk in enumerate(exclude) if pk in both)
        raise UserInputError.single(f"input.exclude.{index}", "This contact is also included.")
    await _lock_definitions(session)
    values["kind"] = kind
    rule = None
    if kind == "DYNAMIC":
        rule = await _rule(session, data, None)
        values.update(_rule_values(data, rule))
    row = await rows.insert(session, SEGMENT, values, UNIQUE)
    await _set_overrides(session, row["id"], include, "INCLUDE")
    await _set_overrides(session, row["id"], exclude, "EXCLUDE")
    seg = membership.Definition(row["id"], kind, rule, [])
    await membership.build(session, seg)
    return row


async def update_segment(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _names(check, data)
    check.raise_if_any()
    current = await rows.require(session, "Segment", global_ids.encode("Segment", pk), "input.id")
    if data.get("rule") is not None:
        if current["kind"] == "STATIC":
            raise UserInputError.single(
                f"input.{data['rule_field']}", "A static segment has no rule: give its members."
            )
        await _lock_definitions(session)
        values.update(_rule_values(data, await _rule(session, data, pk)))
    row = await rows.update(session, SEGMENT, pk, data.get("version"), values, UNIQUE)
    if data.get("rule") is not None:
        await membership.refresh(session, pk, "REFRESH")
    return row


async def delete_segment(session: Session, pk: UUID) -> asyncpg.Record:
    await _lock_definitions(session)
    readers = await session.fetch(
        "SELECT name FROM segments WHERE workspace_id = $1 AND deleted_at IS NULL"
        " AND $2 = ANY(refs) AND id <> $2 ORDER BY lower(name)",
        session.workspace_id,
        pk,
    )
    if readers:
        names = ", ".join(repr(r["name"]) for r in readers)
        raise Conflict(
            f"Segments {names} read this one (inSegment): change them first.", field="input.id"
        )
    return await rows.soft_delete(session, SEGMENT, pk)


async def restore_segment(session: Session, pk: UUID) -> asyncpg.Record:
    await _lock_definitions(session)
    row = await rows.restore(session, SEGMENT, pk, RESTORE_UNIQUE)
    gone = await session.fetchval(
        "SELECT count(*) FROM unnest($2::uuid[]) AS r(id) WHERE NOT EXISTS (SELECT 1 FROM"
        " segments s WHERE s.workspace_id = $1 AND s.id = r.id AND s.deleted_at IS NULL)",
        session.workspace_id,
        list(row["refs"]),
    )
    if gone:
        raise Conflict(
            "Its rule reads a deleted segment: restore that one first.", field="input.id"
        )
    # its membership was not kept current while it was deleted
    row = await session.fetchrow(
        "UPDATE segments SET needs_settle = true, settle_xid = NULL, refreshed_at = now()"
        " WHERE workspace_id = $1 AND id = $2 RETURNING *",
        session.workspace_id,
        pk,
    )
    await membership.refresh(session, pk, "BUILD")
    return row


async def live_segment(session: Session, global_id: str, field: str) -> asyncpg.Record:
    return await rows.require(session, "Segment", global_id, field)


async def set_overrides(session: Session, data: dict[str, Any], action: str) -> asyncpg.Record:
    """addToSegment (action INCLUDE), removeFromSegment (EXCLUDE), clearSegmentOverrides
    (CLEAR). A static segment's members are its inclusions: removing just drops them."""
    seg = await live_segment(session, data["segment_id"], "input.segmentId")
    ids = await contact_ids(session, data["contact_ids"], "input.contactIds")
    if action == "EXCLUDE" and seg["kind"] == "STATIC":
        action = "CLEAR"
    await _set_overrides(session, seg["id"], ids, action)
    await membership.contacts_changed(session, seg["id"], ids, "OVERRIDE")
    return seg


async def refresh_segment(session: Session, pk: UUID) -> tuple[asyncpg.Record, int, int]:
    """Recompute a segment's membership from its rule (safe under traffic, see membership)."""
    # the row lock serialises this with the scheduler and with edits of the segment
    row = await session.fetchrow(
        "SELECT * FROM segments WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        session.workspace_id,
        pk,
    )
    if row is None:
        raise rows.not_found(SEGMENT, pk)
    entered, exited, _ = await membership.refresh(session, pk, "REFRESH")
    row = await session.fetchrow(
        "UPDATE segments SET refreshed_at = now() WHERE workspace_id = $1 AND id = $2 RETURNING *",
        session.workspace_id,
        pk,
    )
    return row, entered, exited


async def parse_preview(session: Session, rule: Any, field: str) -> rules.Rule:
    return await parsed_rule(session, rule, [field], None)
