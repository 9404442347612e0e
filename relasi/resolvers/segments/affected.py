"""Segment membership follows the change log: what a transaction changed, re-evaluated in it.

Every writing transaction, just before it commits (`session.BEFORE_COMMIT`), reads the change
events it recorded (dbschema/0008_change_log.sql: triggers write them, so no write path can
leave one out) and re-evaluates the (segment, contact) pairs they can affect:

- a contact created, deleted or restored: every segment decides about it; a contact updated:
  the segments whose rules read its own fields, its account or its other segments (static
  ones do not care);
- a row of another entity (account, deal, case, touchpoint): for each segment whose rule reads
  that entity, at each relation path the rule reads it through, the contacts the row is (or,
  by its parent ids before the change, was) reached from; a deal's contacts linked or unlinked
  count directly.

Then the contacts are locked and all pairs re-evaluated in one statement
(`membership.reevaluate`), followed by the segments that read the changed ones. A
transaction without events costs one statement (none of its events are read when the
workspace has no segment); a rolled-back write left no events, so it moves nothing.
"""

from __future__ import annotations

import collections
import json
from typing import Any
from uuid import UUID

from relasi.resolvers.changes import CREATIONS
from relasi.resolvers.model import Relation, entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.segments import rules
from relasi.resolvers.segments.membership import (
    Db,
    Definition,
    definitions,
    lock_contacts,
    reevaluate,
)

# which write made a contact enter or leave
REASONS = {
    "Contact": "CONTACT",
    "Account": "ACCOUNT",
    "Deal": "DEAL",
    "Case": "CASE",
    "Interaction": "INTERACTION",
}

# This transaction's events of the records a rule can read, with only what finding the
# affected contacts needs: parent ids (`*_id`) and a deal's contacts, as {"before", "after"}
# (a new record's values are its "after"). Nothing is read when the workspace has no segment.
_EVENTS = r"""
SELECT e.record_type, e.record_id, e.type, (
         SELECT coalesce(jsonb_object_agg(c.k, CASE WHEN e.type = ANY($3::text[])
                                                    THEN jsonb_build_object('after', c.v)
                                                    ELSE c.v END), '{}')
           FROM jsonb_each(e.changes) AS c(k, v)
          WHERE c.k LIKE '%\_id' OR c.k = 'contacts')::text AS keys
  FROM change_events e
 WHERE e.workspace_id = $1 AND e.xid = pg_current_xact_id_if_assigned()
   AND e.record_type = ANY($2::text[])
   AND EXISTS (SELECT 1 FROM segments s WHERE s.workspace_id = $1 AND s.deleted_at IS NULL)
 ORDER BY e.seq
"""
_WHOLE = ("contact.created", "contact.deleted", "contact.restored")


class Event:
    """One change event, as far as segments care."""

    def __init__(self, row: Any) -> None:
        self.record_type: str = row["record_type"]
        self.id: UUID = row["record_id"]
        self.type: str = row["type"]
        self.keys: dict[str, dict[str, Any]] = json.loads(row["keys"])

    def parents(self, column: str) -> set[UUID] | None:
        """The parent ids in `column` before and after the change (None: the event does not
        say, the row's current parent is read instead)."""
        change = self.keys.get(column)
        if change is None:
            return None
        return {UUID(v) for v in (change.get("before"), change.get("after")) if v is not None}

    def linked(self) -> set[UUID]:
        """A deal's contacts linked or unlinked by the change."""
        change = self.keys.get("contacts")
        if change is None:
            return set()
        sides = [{c["contact_id"] for c in change.get(s) or ()} for s in ("before", "after")]
        return {UUID(c) for c in sides[0] ^ sides[1]}


async def before_commit(db: Db) -> None:
    """Re-evaluate what this transaction's change events affect (see the module's doc)."""
    found = await db.fetch(_EVENTS, db.workspace_id, sorted(_readable()), sorted(CREATIONS))
    if not found:
        return
    segs = await definitions(db)
    pending: dict[UUID, dict[UUID, str]] = collections.defaultdict(dict)
    events = [Event(r) for r in found]
    for event in events:  # a contact's own change
        if event.record_type == "Contact":
            for seg in segs.values():
                if _reads_contact(seg, event):
                    pending[seg.id].setdefault(event.id, "CONTACT")
    others = [e for e in events if e.record_type != "Contact"]
    for (seg_id, contact), reason in (await _reached(db, others, segs)).items():
        pending[seg_id][contact] = reason  # a touch or deal says more than "the contact"
    contacts = {c for found in pending.values() for c in found}
    if not contacts:
        return
    await lock_contacts(db, contacts)
    await reevaluate(db, {s: c for s, c in pending.items() if c}, segs)


def _reads_contact(seg: Definition, event: Event) -> bool:
    if event.type in _WHOLE:
        return True  # in or out of every segment
    if seg.rule is None:
        return False  # a static segment's members are its inclusions
    if seg.refs:  # the contact's membership of other segments (reason: this contact's change)
        return True
    contact = entity("Contact")
    return any(not p or contact.relation(p[0]).cardinality == "one" for p in seg.rule.paths)


async def _reached(
    db: Db, events: list[Event], segs: dict[UUID, Definition]
) -> dict[tuple[UUID, UUID], str]:
    """(segment, contact) -> reason for the rows of other entities that changed: for each path
    a rule reads them through, the contacts they are (or were) reached from. One statement for
    all paths that need SQL; a row that names its contact (a touch, a case) needs none."""
    by_path: dict[tuple[str, ...], set[UUID]] = collections.defaultdict(set)
    for seg in segs.values():
        for path in seg.rule.paths if seg.rule else ():
            if path:  # () is the contact's own fields: its own events
                by_path[path].add(seg.id)
    found: dict[tuple[str, ...], set[UUID]] = collections.defaultdict(set)
    params = Params(db.workspace_id)
    queries: list[str] = []
    paths = sorted(by_path)
    for i, path in enumerate(paths):
        hops = _hops(path)
        last = hops[-1]
        rows: set[UUID] = set()  # walked back from the row itself
        parents: set[UUID] = set()  # walked back from the parent the row names (one hop less)
        for event in events:
            if event.record_type != rules.end_entity(path).name:
                continue
            if len(path) == 1 and last.through is not None:
                found[path] |= event.linked()
            named = None
            if last.cardinality == "many" and last.through is None:
                named = event.parents(last.remote)
            if named is None:
                rows.add(event.id)
            else:
                parents |= named
        if len(hops) == 1:
            found[path] |= parents
            parents = set()
        for start, through in ((rows, hops), (parents, hops[:-1])):
            if start:
                sql = f"SELECT unnest({params(sorted(start), 'uuid[]')})"
                for j in range(len(through) - 1, -1, -1):
                    sql = _parents(through[j], path, j, sql)
                queries.append(f"SELECT {i} AS path, x FROM ({sql}) q(x)")
    if queries:
        for r in await db.fetch(" UNION ALL ".join(queries), *params.values):
            if r["x"] is not None:
                found[paths[r["path"]]].add(r["x"])
    out: dict[tuple[UUID, UUID], str] = {}
    for path, contacts in found.items():
        reason = REASONS.get(rules.end_entity(path).name, "CONTACT")
        for seg_id in by_path[path]:
            for contact in contacts:
                out.setdefault((seg_id, contact), reason)
    return out


def _hops(path: tuple[str, ...]) -> list[Relation]:
    hops, ent = [], entity("Contact")
    for name in path:
        rel = ent.relation(name)
        hops.append(rel)
        ent = entity(rel.target)
    return hops


def _parents(rel: Relation, path: tuple[str, ...], j: int, ids_sql: str) -> str:
    """The ids of the rows at hop j of `path` from which `rel` reaches the ids `ids_sql`."""
    parent = rules.end_entity(path[:j])
    target = entity(rel.target)
    if rel.through is not None:
        link = rel.through
        return (
            f"SELECT l.{link.near} FROM {link.table} l WHERE l.workspace_id = $1"
            f" AND l.{link.far} IN ({ids_sql})"
        )
    if rel.cardinality == "one":
        return (
            f"SELECT p.id FROM {parent.table} p WHERE p.workspace_id = $1"
            f" AND p.{rel.local} IN ({ids_sql})"
        )
    return f"SELECT t.{rel.remote} FROM {target.table} t WHERE t.workspace_id = $1 AND t.id IN ({ids_sql})"


_READABLE: set[str] = set()


def _readable() -> set[str]:
    """The entity types a rule can read: those reached from Contact by filterable relations
    (and the relations of its predicates). A write to anything else affects no segment."""
    if not _READABLE:
        pending = ["Contact"]
        while pending:
            name = pending.pop()
            if name in _READABLE:
                continue
            _READABLE.add(name)
            ent = entity(name)
            pending.extend(r.target for r in ent.relations)
            pending.extend(
                entity(name).relation(p.relation).target for p in ent.predicates if p.relation
            )
    return _READABLE
