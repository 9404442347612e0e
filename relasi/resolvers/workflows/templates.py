"""Templates in action inputs: `Hello {{contact.firstName}}`, `{{deal.owner.email}}`,
`{{steps.0.task.id}}`.

A template names the triggering record (by its type: `contact`, `deal`, ...) and a field,
following to-one relations (`deal.account.name`, at most 3 hops), or an earlier step's output
(`steps.<path>.<key>`, the keys each action kind declares in actions.py). Paths are checked
against the storage mapping when the workflow is saved; at run time they are read in one
statement per record (names from the mapping, the record's id a parameter), and rendered as
text. Templates only ever produce values: nothing of them reaches SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from relasi.auth.pii import PII_READ, mask_email, mask_phone
from relasi.auth.principal import Principal
from relasi.resolvers import global_ids
from relasi.resolvers.model import Entity, Kind, camel, entity

_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
MAX_HOPS = 3
MAX_TEMPLATES = 50  # per text


def var_name(record_type: str) -> str:
    """The template root naming the triggering record: Deal -> deal."""
    return record_type[:1].lower() + record_type[1:]


@dataclass(frozen=True)
class Ref:
    """A checked template path: a record path (relations..., field) or a step output."""

    text: str
    record_path: tuple[str, ...] = ()
    step: str | None = None
    key: str | None = None


def fields_of(ent: Entity) -> dict[str, tuple[str, Kind | None, str | None, str | None]]:
    """Readable scalars of a record: GraphQL name -> (SQL over {t}, kind, id target, mask)."""
    out: dict[str, tuple[str, Kind | None, str | None, str | None]] = {}
    for f in ent.fields:
        if f.exists is None:
            out[camel(f.name)] = (f.sql or "{t}." + f.name, f.kind, f.target, None)
    for o in ent.outputs:
        if o.sql:
            out[o.name] = (o.sql, None, None, o.mask)
    return out


def to_one(ent: Entity) -> dict[str, Any]:
    return {r.name: r for r in ent.relations if r.cardinality == "one"}


def _check_record_path(record_type: str, parts: list[str]) -> str | None:
    """Why a record path names nothing (None: it names a field)."""
    ent = entity(record_type)
    for hop, name in enumerate(parts):
        last = hop == len(parts) - 1
        if not _NAME.match(name):
            return f"{name!r} is not a field name."
        if last:
            if name in fields_of(ent):
                return None
            if name in to_one(ent):
                return f"{ent.name}.{name} is a record: name one of its fields ({name}.id, ...)."
            return f"{ent.name} has no field {name!r}."
        rel = to_one(ent).get(name)
        if rel is None:
            return f"{ent.name} has no to-one relation {name!r} (lists cannot be templated)."
        if hop + 1 > MAX_HOPS:
            return f"Templates follow at most {MAX_HOPS} relations."
        ent = entity(rel.target)
    return f"Name a field of the record, e.g. {{{{{var_name(record_type)}.id}}}}."


def parse(
    text: str,
    record_type: str,
    earlier_steps: dict[str, frozenset[str]],
    error: Callable[[str], None],
) -> list[Ref]:
    """The templates in `text`; each one that names nothing is reported through `error`.
    `earlier_steps`: the path of every step that runs before this one -> its output keys."""
    refs: list[Ref] = []
    found = _TEMPLATE.findall(text)
    if len(found) > MAX_TEMPLATES:
        error(f"At most {MAX_TEMPLATES} templates in one value.")
        return refs
    if ("{{" in text or "}}" in text) and not found:
        error("An unclosed template: write {{record.field}}.")
    root = var_name(record_type)
    for inner in found:
        parts = inner.split(".")
        if parts[0] == root:
            problem = _check_record_path(record_type, parts[1:])
            if problem:
                error(f"{{{{{inner}}}}}: {problem}")
            else:
                refs.append(Ref(inner, record_path=tuple(parts[1:])))
        elif parts[0] == "steps":
            ref = _step_ref(inner, parts[1:], earlier_steps, error)
            if ref is not None:
                refs.append(ref)
        else:
            error(
                f"{{{{{inner}}}}} names nothing: templates start with {root!r} (the "
                "triggering record) or 'steps' (an earlier step's output)."
            )
    return refs


def _step_ref(
    inner: str, parts: list[str], earlier: dict[str, frozenset[str]], error: Callable[[str], None]
) -> Ref | None:
    # the longest prefix naming an earlier step: '2.then.0' is one path
    for cut in range(len(parts) - 1, 0, -1):
        path = ".".join(parts[:cut])
        if path in earlier:
            key = ".".join(parts[cut:])
            if key not in earlier[path]:
                keys = ", ".join(sorted(earlier[path])) or "none"
                error(f"{{{{{inner}}}}}: step {path} has no output {key!r} (it has: {keys}).")
                return None
            return Ref(inner, step=path, key=key)
    error(f"{{{{{inner}}}}}: no step before this one is at that path (steps.<index>.<output>).")
    return None


def has_templates(text: str) -> bool:
    return bool(_TEMPLATE.search(text))


# --- run time ---------------------------------------------------------------------------------


def _path_sql(record_type: str, path: tuple[str, ...], alias: str = "t0") -> tuple[str, Any]:
    """A scalar expression over the record `alias` for `path`, and the leaf's (kind, target,
    mask)."""
    ent = entity(record_type)
    if len(path) == 1:
        sql, kind, target, mask = fields_of(ent)[path[0]]
        return sql.format(t=alias), (kind, target, mask)
    rel = to_one(ent)[path[0]]
    child = f"t{int(alias[1:]) + 1}"
    inner, leaf = _path_sql(rel.target, path[1:], child)
    target = entity(rel.target)
    return (
        f"(SELECT {inner} FROM {target.table} {child} WHERE {child}.workspace_id ="
        f" {alias}.workspace_id AND {child}.id = {alias}.{rel.local})"
    ), leaf


async def record_values(
    conn: Any,
    principal: Principal,
    record_type: str,
    record_id: UUID,
    paths: list[tuple[str, ...]],
) -> dict[tuple[str, ...], str]:
    """The rendered text of each record path (empty for a value that is null)."""
    paths = list(dict.fromkeys(paths))
    if not paths:
        return {}
    parts = [_path_sql(record_type, p) for p in paths]
    table = entity(record_type).table
    row = await conn.fetchrow(
        f"SELECT {', '.join(sql for sql, _ in parts)} FROM {table} t0"
        " WHERE t0.workspace_id = $1 AND t0.id = $2",
        principal.workspace_id,
        record_id,
    )
    out = {}
    for i, (path, (_, (kind, target, mask))) in enumerate(zip(paths, parts, strict=True)):
        value = row[i] if row is not None else None
        out[path] = _text(value, kind, target, mask, principal, path, record_type)
    return out


def _text(value, kind, target, mask, principal, path, record_type) -> str:
    if value is None:
        return ""
    if isinstance(value, UUID):
        if kind is Kind.ID and path[-1] == "id":
            # the record's own id (or a related record's): its type is the hop's target
            ent = entity(record_type)
            for hop in path[:-1]:
                ent = entity(to_one(ent)[hop].target)
            return global_ids.encode(ent.name, value)
        return global_ids.encode(target, value) if target else str(value)
    if mask and not principal.has(PII_READ):
        return mask_email(value) if mask == "email" else mask_phone(value)
    if isinstance(value, Decimal):  # stored with 4 decimals: 12.5, not 12.5000
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def render(text: str, values: dict[str, str]) -> str:
    """`text` with every template replaced by its value (`values`: template text -> value)."""
    return _TEMPLATE.sub(lambda m: values.get(m.group(1).strip(), ""), text)


def texts_in(value: Any) -> list[str]:
    """Every string inside a JSON value (where templates may be)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts_in(v)]
    return []


def render_json(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: render_json(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render_json(v, values) for v in value]
    return value
