"""A stored rule as a caller without pii:read may read it: the emails and phones it compares
against are masked the way `Contact.emails` and `Contact.phones` are.

A rule is saved by someone who may filter by personal data; a VIEWER reading it back must not
learn `{"email": {"eq": "dewi@example.com"}}` from it. The walk follows the storage mapping
(fields, relations, predicates' filter params, and/or/not), so a contact filter nested under
`deals: {some: {contacts: ...}}` is masked too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from relasi.auth.pii import mask_email, mask_phone
from relasi.resolvers.model import Entity, camel, entity

_MASKS: dict[str, Callable[[str], str]] = {"email": mask_email, "phone": mask_phone}
_PHONE_LIKE = re.compile(r"(?:\D*\d){5}")  # a search term with five digits may be a phone


def mask_rule(rule: Any, ent: Entity | None = None) -> Any:
    """`rule` (ContactFilter JSON) with every personal value masked; the shape is kept."""
    ent = ent or entity("Contact")
    if not isinstance(rule, dict):
        return rule
    fields = {camel(f.name): f for f in ent.fields}
    relations = {camel(r.name): r for r in ent.relations}
    predicates = {camel(p.name): p for p in ent.predicates}
    out: dict[str, Any] = {}
    for key, item in rule.items():
        if key in fields and fields[key].pii:
            out[key] = _mask_operators(item, _MASKS.get(fields[key].name, mask_phone))
        elif key in relations:
            target = entity(relations[key].target)
            if relations[key].cardinality == "one":
                out[key] = mask_rule(item, target)
            elif isinstance(item, dict):
                out[key] = {k: mask_rule(v, target) for k, v in item.items()}
            else:
                out[key] = item
        elif key in predicates and isinstance(item, dict):
            params = {camel(p.name): p for p in predicates[key].params}
            out[key] = {
                k: mask_rule(v, entity(params[k].filter)) if k in params and params[k].filter else v
                for k, v in item.items()
            }
        elif key in ("and", "or") and isinstance(item, list):
            out[key] = [mask_rule(sub, ent) for sub in item]
        elif key == "not":
            out[key] = mask_rule(item, ent)
        elif key == "search" and ent.pii_search and isinstance(item, str):
            out[key] = _mask_search(item)
        else:
            out[key] = item
    return out


def _mask_operators(ops: Any, mask: Callable[[str], str]) -> Any:
    if not isinstance(ops, dict):
        return ops
    return {
        op: [mask(v) if isinstance(v, str) else v for v in value]
        if isinstance(value, list)
        else mask(value)
        if isinstance(value, str)
        else value
        for op, value in ops.items()
    }


def _mask_search(term: str) -> str:
    """Free text reaches emails and phones too (for callers with pii:read)."""
    if "@" in term:
        return mask_email(term)
    if _PHONE_LIKE.match(term):
        return mask_phone(term)
    return term


@cache
def mask_spec() -> dict[str, Any]:
    """What `mask_rule` reads of the storage mapping, as JSON for the compiled path's
    `relasi_mask_rule` (dbschema/0016): per entity reachable from Contact, its personal fields
    (camel name -> "email" | "phone"), relations by cardinality, predicates' filter params
    (param -> entity), and whether `search` reaches personal data."""
    spec: dict[str, Any] = {}
    pending = ["Contact"]
    while pending:
        ent = entity(pending.pop())
        if ent.name in spec:
            continue
        one = {camel(r.name): r.target for r in ent.relations if r.cardinality == "one"}
        many = {camel(r.name): r.target for r in ent.relations if r.cardinality == "many"}
        predicates = {
            camel(p.name): {camel(q.name): q.filter for q in p.params if q.filter}
            for p in ent.predicates
        }
        spec[ent.name] = {
            "pii": {
                camel(f.name): "email" if _MASKS.get(f.name) is mask_email else "phone"
                for f in ent.fields
                if f.pii
            },
            "one": one,
            "many": many,
            "predicates": predicates,
            "search": bool(ent.pii_search),
        }
        pending += [*one.values(), *many.values()]
        pending += [t for params in predicates.values() for t in params.values()]
    return spec
