"""Materialised membership, kept current incrementally.

A contact is a member of a segment when it is live, not excluded, and included or matched by
the rule. `segment_members` holds the members; every entry and exit goes to `segment_changes`
(and is announced to subscribers) in the statement that makes it.

- Build: one INSERT ... SELECT over all contacts (a new segment).
- Writes: just before a writing transaction commits, `affected` reads the change events it
  recorded and finds the segments and contacts they can affect; `reevaluate` re-evaluates all
  those (segment, contact) pairs in one statement. Segments that read other segments (`inSegment`) follow, one statement per level.
- Refresh: the contacts whose membership disagrees with the rule (one read), then the same
  re-evaluation for just those.

Re-evaluation first locks the contacts (FOR NO KEY UPDATE, in id order) and then reads in a new
statement: two transactions touching one contact re-evaluate one after the other, the second
seeing the first's committed writes, so concurrent touches never leave a stale membership. A
refresh applies its diff through the same locked path, so it is safe under traffic.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.segments import rules

Row = Mapping[str, Any]


class Db(Protocol):
    """What membership needs of a Session (the scheduler passes its own connection)."""

    workspace_id: UUID

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...
    async def execute(self, sql: str, *args: Any) -> str: ...


@dataclass
class Definition:
    id: UUID
    kind: str
    rule: rules.Rule | None  # None: static (the rule matches nobody, members are included)
    refs: list[UUID]  # segments it reads at the contact itself (inSegment at the top)

    def reads_at(self, entity_name: str) -> list[tuple[str, ...]]:
        """The paths at whose end the rule reads rows of `entity_name`."""
        if self.rule is None:
            return []
        return [p for p in self.rule.paths if rules.end_entity(p).name == entity_name]


_PARSED: collections.OrderedDict[tuple[UUID, int], rules.Rule] = collections.OrderedDict()
_PARSED_MAX = 4_096


def parsed(segment_id: UUID, version: int, rule: Any) -> rules.Rule:
    """A stored rule, parsed once per version (it was checked when saved)."""
    key = (segment_id, version)
    found = _PARSED.get(key)
    if found is None:
        found = _PARSED[key] = rules.parse(rule, ["rule"], max_text=rules.STORED_MAX_TEXT)
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return found


async def definitions(db: Db) -> dict[UUID, Definition]:
    """The workspace's live segments (read on every write: definitions change at any time,
    in any process)."""
    found = await db.fetch(
        "SELECT id, kind, rule, version FROM segments WHERE workspace_id = $1"
        " AND deleted_at IS NULL ORDER BY id",
        db.workspace_id,
    )
    out = {}
    for row in found:
        rule = parsed(row["id"], row["version"], row["rule"]) if row["rule"] is not None else None
        refs = [
            r for r, places in (rule.refs if rule else {}).items() if any(not p for _, p in places)
        ]
        out[row["id"]] = Definition(row["id"], row["kind"], rule, refs)
    return out


def member_sql(seg: Definition, alias: str, params: Params) -> str:
    """The membership condition of a contact aliased `alias` (may be NULL: use IS TRUE)."""
    s = params(seg.id, "uuid")
    rule = (
        "FALSE"
        if seg.rule is None
        else compile_filter(entity("Contact"), seg.rule.filter, alias, params)
    )
    override = (
        "SELECT 1 FROM {table} o WHERE o.workspace_id = {a}.workspace_id AND o.segment_id = {s}"
        " AND o.contact_id = {a}.id"
    )
    return (
        f"({alias}.deleted_at IS NULL"
        f" AND NOT EXISTS ({override.format(table='segment_excludes', a=alias, s=s)})"
        f" AND (EXISTS ({override.format(table='segment_includes', a=alias, s=s)}) OR ({rule})))"
    )


async def build(db: Db, seg: Definition) -> int:
    """Materialise a new segment in one statement; returns its size. Nobody can subscribe
    to a segment that does not exist yet, so its first members are not announced."""
    params = Params(db.workspace_id, seg.id)
    status = await db.execute(
        "WITH entered AS (INSERT INTO segment_members (workspace_id, segment_id, contact_id)"
        f" SELECT $1, $2, c.id FROM contacts c WHERE c.workspace_id = $1 AND ({member_sql(seg, 'c', params)}) IS TRUE"
        " RETURNING contact_id)"
        " INSERT INTO segment_changes (workspace_id, segment_id, contact_id, change, reason)"
        " SELECT $1, $2, contact_id, 'ENTERED', 'BUILD' FROM entered",
        *params.values,
    )
    return int(status.split()[-1])


async def lock_contacts(
    db: Db, ids: Iterable[UUID], *, skip_locked: bool = False
) -> list[asyncpg.Record]:
    """Lock contacts for re-evaluation, in id order (no deadlock between re-evaluations);
    with `skip_locked`, those another transaction holds are left out. Each row says whether
    the contact was created in this transaction (`new`)."""
    found = await db.fetch(
        "SELECT id, created_at = now() AS new FROM contacts WHERE workspace_id = $1"
        " AND id = ANY($2::uuid[]) ORDER BY id FOR NO KEY UPDATE"
        + (" SKIP LOCKED" if skip_locked else ""),
        db.workspace_id,
        sorted(set(ids)),
    )
    return found


async def reevaluate(
    db: Db, pending: dict[UUID, dict[UUID, str]], segs: dict[UUID, Definition]
) -> list[asyncpg.Record]:
    """Re-evaluate (segment -> {contact: reason}) pairs of locked contacts, then the segments
    that read the changed ones, level by level; returns the changes made."""
    levels = _levels(segs)
    dependents: dict[UUID, list[UUID]] = collections.defaultdict(list)
    for seg in segs.values():
        for ref in seg.refs:
            dependents[ref].append(seg.id)
    made: list[asyncpg.Record] = []
    pending = {s: dict(c) for s, c in pending.items() if s in segs and c}
    while pending:
        level = min(levels[s] for s in pending)
        # in a fixed order: the same segments make the same statement text, which asyncpg
        # keeps prepared (and PostgreSQL may plan once)
        batch = {s: pending[s] for s in sorted(pending) if levels[s] == level}
        for s in batch:
            del pending[s]
        changes = await _apply(db, batch, segs)
        made.extend(changes)
        for change in changes:
            for dependent in dependents.get(change["segment_id"], ()):
                pending.setdefault(dependent, {}).setdefault(change["contact_id"], "SEGMENT")
    return made


def _levels(segs: dict[UUID, Definition]) -> dict[UUID, int]:
    """0 for segments that read no segment, else one more than the deepest they read (rules
    never form cycles: they are refused when saved)."""
    levels: dict[UUID, int] = {}

    def level(s: UUID, seen: frozenset[UUID]) -> int:
        if s not in levels:
            refs = [r for r in segs[s].refs if r in segs and r not in seen]
            levels[s] = 1 + max((level(r, seen | {s}) for r in refs), default=-1)
        return levels[s]

    for s in segs:
        level(s, frozenset())
    return levels


async def _apply(
    db: Db, batch: dict[UUID, dict[UUID, str]], segs: dict[UUID, Definition]
) -> list[asyncpg.Record]:
    params = Params(db.workspace_id)
    branches = []
    for seg_id, contacts in batch.items():
        ids = params(list(contacts), "uuid[]")
        why = params(list(contacts.values()), "text[]")
        member = member_sql(segs[seg_id], "c", params)
        branches.append(
            f"SELECT {params(seg_id, 'uuid')} AS segment_id, c.id AS contact_id, p.reason,"
            f" ({member}) IS TRUE AS member FROM unnest({ids}, {why}) AS p(id, reason)"
            " JOIN contacts c ON c.workspace_id = $1 AND c.id = p.id"
        )
    saved = await db.fetch(
        "SELECT current_setting('plan_cache_mode') AS mode,"
        " set_config('plan_cache_mode', 'force_generic_plan', true)"
    )
    found = await db.fetch(
        f"WITH ev AS ({' UNION ALL '.join(branches)}),"
        " entered AS (INSERT INTO segment_members (workspace_id, segment_id, contact_id)"
        "   SELECT $1, segment_id, contact_id FROM ev WHERE member"
        "   ON CONFLICT DO NOTHING RETURNING segment_id, contact_id),"
        " exited AS (DELETE FROM segment_members m USING ev"
        "   WHERE m.workspace_id = $1 AND m.segment_id = ev.segment_id"
        "   AND m.contact_id = ev.contact_id AND NOT ev.member RETURNING m.segment_id, m.contact_id),"
        " logged AS (INSERT INTO segment_changes (workspace_id, segment_id, contact_id, change, reason)"
        "   SELECT $1, e.segment_id, e.contact_id, 'ENTERED', ev.reason FROM entered e"
        "     JOIN ev ON ev.segment_id = e.segment_id AND ev.contact_id = e.contact_id"
        "   UNION ALL"
        "   SELECT $1, x.segment_id, x.contact_id, 'EXITED', ev.reason FROM exited x"
        "     JOIN ev ON ev.segment_id = x.segment_id AND ev.contact_id = x.contact_id"
        "   RETURNING id, segment_id, contact_id, change)"
        # the change log announces each logged change to subscribers (0011), as it commits
        " SELECT l.id, l.segment_id, l.contact_id, l.change FROM logged l",
        *params.values,
    )
    await db.execute("SELECT set_config('plan_cache_mode', $1, true)", saved[0]["mode"])
    return found


async def refresh(
    db: Db, seg_id: UUID, reason: str, *, skip_locked: bool = False
) -> tuple[int, int, bool]:
    """Bring one segment in line with its rule: (entered, exited, complete). `complete` is
    False when `skip_locked` left out contacts other transactions hold (retry later)."""
    segs = await definitions(db)
    seg = segs[seg_id]
    params = Params(db.workspace_id, seg_id)
    member = member_sql(seg, "c", params)
    member_again = member_sql(seg, "c", params)
    found = await db.fetch(
        f"SELECT c.id FROM contacts c WHERE c.workspace_id = $1 AND ({member}) IS TRUE"
        " AND NOT EXISTS (SELECT 1 FROM segment_members m WHERE m.workspace_id = $1"
        " AND m.segment_id = $2 AND m.contact_id = c.id)"
        " UNION ALL"
        " SELECT c.id FROM segment_members m JOIN contacts c"
        " ON c.workspace_id = m.workspace_id AND c.id = m.contact_id"
        f" WHERE m.workspace_id = $1 AND m.segment_id = $2 AND ({member_again}) IS NOT TRUE",
        *params.values,
    )
    candidates = [r["id"] for r in found]
    if not candidates:
        return 0, 0, True
    locked = [r["id"] for r in await lock_contacts(db, candidates, skip_locked=skip_locked)]
    changes = await reevaluate(db, {seg_id: dict.fromkeys(locked, reason)}, segs)
    mine = [c for c in changes if c["segment_id"] == seg_id]
    entered = sum(1 for c in mine if c["change"] == "ENTERED")
    return entered, len(mine) - entered, len(locked) == len(candidates)


async def contacts_changed(db: Db, segment_id: UUID, contact_ids: list[UUID], reason: str) -> None:
    """Re-evaluate some contacts of one segment (its overrides changed), and what follows."""
    segs = await definitions(db)
    locked = [r["id"] for r in await lock_contacts(db, contact_ids)]
    await reevaluate(db, {segment_id: dict.fromkeys(locked, reason)}, segs)
