"""The hook every write path calls once, after it wrote: `changed(session, entity, row, old)`.

It finds the segments whose rules read rows of the changed entity (the paths recorded with each
rule) and, for each, the contacts the change can affect: it walks the relation paths the rule
reads back from the changed row (and, for a row that moved, from its old parent). Then it locks
those contacts and re-evaluates every (segment, contact) pair in one statement
(`membership.reevaluate`), followed by the segments that read the changed ones.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from uuid import UUID

from relasi.resolvers.model import Relation, entity
from relasi.resolvers.predicates import Params
from relasi.resolvers.segments import rules
from relasi.resolvers.segments.membership import (
    Db,
    Definition,
    Row,
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


async def changed(
    db: Db, entity_name: str, row: Row, old: Row | None = None, *, linked: Iterable[UUID] = ()
) -> None:
    """A write changed `row` of `entity_name` (`old`: the row before, when the caller has it;
    `linked`: contacts linked to or unlinked from it). Re-evaluates the contacts this can
    affect, in the segments whose rules read it."""
    await changed_rows(db, entity_name, [row], old, linked=linked)


async def changed_rows(
    db: Db,
    entity_name: str,
    changed: list[Row],
    old: Row | None = None,
    *,
    linked: Iterable[UUID] = (),
) -> None:
    """`changed` for many rows of one entity written together (batch ingest): one
    re-evaluation for all the contacts they can affect."""
    if entity_name not in _readable() or not changed:
        return
    segs = await definitions(db)
    if not segs:
        return
    reason = REASONS.get(entity_name, "CONTACT")
    pending: dict[UUID, set[UUID]] = collections.defaultdict(set)
    contacts: set[UUID] = set()
    for row in changed:
        _pending_for(entity_name, row, segs, pending)
        if entity_name != "Contact":
            # no SQL where the row names its contact (a touch, a case) and the path is one hop
            walks = await _walk_back(db, entity_name, row, old, list(linked), segs)
            for seg in segs.values():
                for path in seg.reads_at(entity_name):
                    pending[seg.id] |= walks[path]
        if entity_name == "Interaction" and row["contact_id"] is not None:
            contacts.add(row["contact_id"])  # to learn whether the touch created it
    contacts |= set().union(*pending.values()) if pending else set()
    if not contacts:
        return
    locked = await lock_contacts(db, contacts)
    new = {r["id"] for r in locked if r["new"]}
    if new:  # a contact created in this transaction: every segment decides about it
        for seg in segs.values():
            pending[seg.id] |= new
    await reevaluate(db, {s: dict.fromkeys(c, reason) for s, c in pending.items() if c}, segs)


def _pending_for(
    entity_name: str, row: Row, segs: dict[UUID, Definition], pending: dict[UUID, set[UUID]]
) -> None:
    """The (segment, contact) pairs a row's own fields make pending."""
    if entity_name == "Contact":  # its own fields, or whether it is live at all
        for seg in segs.values():
            pending[seg.id].add(row["id"])
    elif entity_name == "Interaction" and row["contact_id"] is not None:
        # a touch may add identities to its contact (ingest by identity) and move its
        # journey stage (a touch with a stage): those of its fields count as changed too;
        # a contact it created is caught below, as new
        touched = {"email", "phone", "search"}
        if row["journey_stage"] is not None:
            touched.add("journey_stage")
        for seg in segs.values():
            if seg.rule is not None and seg.rule.contact_fields & touched:
                pending[seg.id].add(row["contact_id"])


async def _walk_back(
    db: Db,
    entity_name: str,
    row: Row,
    old: Row | None,
    linked: list[UUID],
    segs: dict[UUID, Definition],
) -> dict[tuple[str, ...], set[UUID]]:
    """For each path (read by some segment) ending at `entity_name`: the contacts from which
    the changed row is (or, by `old` and `linked`, was) reached. One statement for all paths
    that need SQL; a row that names its contact directly (a touch, a case) needs none."""
    paths = {p for seg in segs.values() for p in seg.reads_at(entity_name)}
    found: dict[tuple[str, ...], set[UUID]] = {p: set() for p in paths}
    params = Params(db.workspace_id)
    queries = []
    for i, path in enumerate(sorted(paths)):
        hops = _hops(path)
        last = hops[-1]
        if last.cardinality == "many" and last.through is None and _has(row, last.remote):
            # the row holds its parent's id: start one hop back, from the old parent too
            start = {r[last.remote] for r in (row, old) if r is not None and r[last.remote]}
            hops = hops[:-1]
        else:
            start = {row["id"]}
        if len(path) == 1 and last.through is not None:
            found[path] |= set(linked)
        if not hops:
            found[path] |= start
            continue
        sql = f"SELECT unnest({params(list(start), 'uuid[]')})"
        for j in range(len(hops) - 1, -1, -1):
            sql = _parents(hops[j], path, j, sql)
        queries.append(f"SELECT {i} AS path, x FROM ({sql}) q(x)")
    if queries:
        ordered = sorted(paths)
        for r in await db.fetch(" UNION ALL ".join(queries), *params.values):
            if r["x"] is not None:
                found[ordered[r["path"]]].add(r["x"])
    return found


def _has(row: Row, column: str) -> bool:
    try:
        row[column]
    except KeyError:
        return False
    return True


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
