"""Segment rules: a `ContactFilter` in the plain filter form (`filter_form`), stored as the
client sent it (camelCase JSON), checked and compiled like any list filter.

`filter_form.parse` checks it and reports each problem at its path, e.g.
["input", "rule", "and", "1", "deals", "some", "amount", "gt"]. Here we only record what the
checked rule reads, so a write re-evaluates only the segments that read what it changed:

- `paths`: the relation paths from the contact whose rows the rule reads (() for the
  contact's own fields, ("deals",) for its deals, ("deals", "stage") for their stages, ...);
- `refs`: the segments it reads through `inSegment`;
- `clock`: whether it depends on the current time ("in the last 14 days");
- `contact_fields`: which of the contact's own fields it reads (a touch changes only some).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from relasi.errors import FieldError, UserInputError
from relasi.resolvers import filter_form, global_ids
from relasi.resolvers.filter_form import MAX_FILTER_TEXT, Node
from relasi.resolvers.model import Entity, camel, entity

# A new rule's strings are capped like any filter's; rules saved before that cap existed were
# allowed 1,000 characters and must still load.
STORED_MAX_TEXT = 1_000


@dataclass
class Rule:
    """A parsed rule and what it reads."""

    filter: Node
    paths: set[tuple[str, ...]] = field(default_factory=set)
    refs: dict[UUID, list[tuple[list[str], tuple[str, ...]]]] = field(default_factory=dict)
    clock: bool = False
    contact_fields: set[str] = field(default_factory=set)  # the contact's own, read at ()

    @property
    def deep(self) -> bool:
        """Whether it reads rows two to-many hops away (an account's deals, a deal's other
        contacts) or another contact's segments: a row moving between such far parents is
        not traced back to the contacts it affects, so the scheduled refresh keeps these
        segments exact."""
        if any(path for places in self.refs.values() for _, path in places):
            return True
        for path in self.paths:
            ent = entity("Contact")
            for i, name in enumerate(path):
                rel = ent.relation(name)
                if i > 0 and rel.cardinality == "many":
                    return True
                ent = entity(rel.target)
        return False

    @property
    def reads(self) -> set[str]:
        """The entity types whose rows the rule reads."""
        return {end_entity(path).name for path in self.paths}


def end_entity(path: tuple[str, ...]) -> Entity:
    ent = entity("Contact")
    for name in path:
        ent = entity(ent.relation(name).target)
    return ent


def parse(value: Any, prefix: list[str], *, max_text: int = MAX_FILTER_TEXT) -> Rule:
    """Parse and check a rule; every problem found is raised together (UserInputError)."""
    rule, errors = parse_all(value, prefix, max_text=max_text)
    if errors:
        raise UserInputError(errors)
    return rule


def parse_all(
    value: Any, prefix: list[str], *, max_text: int = MAX_FILTER_TEXT
) -> tuple[Rule, list[FieldError]]:
    """Parse a rule, returning it with every problem found (callers add their own checks)."""
    if not isinstance(value, dict):
        return Rule(Node()), [FieldError(prefix, "A rule is a JSON object of ContactFilter keys.")]
    found, errors = filter_form.parse_all("Contact", value, prefix, max_text=max_text)
    rule = Rule(found)
    _reads(rule, entity("Contact"), found, prefix, ())
    return rule, errors


def _reads(rule: Rule, ent: Entity, node: Node, path: list[str], at: tuple) -> None:
    """Record what a parsed filter of `ent`, reached from the contact by the relation path
    `at`, reads (values the parser refused are None: they read nothing)."""
    for name, item in vars(node).items():
        if item is None:
            continue
        here = [*path, _KEYS.get(name) or camel(name)]
        if name in ("and_", "or_"):
            for i, sub in enumerate(item):
                _reads(rule, ent, sub, [*here, str(i)], at)
        elif name == "not_":
            _reads(rule, ent, item, here, at)
        elif (rel := _find(ent.relations, name)) is not None:
            reached = (*at, rel.name)
            rule.paths.add(reached)
            target = entity(rel.target)
            if rel.cardinality == "one":
                _reads(rule, target, item, here, reached)
            else:
                for quantifier, sub in vars(item).items():
                    _reads(rule, target, sub, [*here, quantifier], reached)
        elif (predicate := _find(ent.predicates, name)) is not None:
            _reads_predicate(rule, predicate, item, here, at)
        else:  # a field, search or customAttributes
            rule.paths.add(at)
            if not at:
                rule.contact_fields.add(name)


def _reads_predicate(rule: Rule, predicate: Any, value: Any, path: list[str], at: tuple) -> None:
    if predicate.value is not None and predicate.value.target is None:
        # a value about the row itself (a task's `overdue`): it reads the row, perhaps the clock
        rule.paths.add(at)
        rule.clock = rule.clock or predicate.value.name in predicate.clock_params
        return
    if predicate.value is not None:  # inSegment: the segments it reads, where
        for i, gid in enumerate(value):
            if gid is not None:
                pk = global_ids.decode_any(gid)[1]
                rule.refs.setdefault(pk, []).append(([*path, str(i)], at))
        return
    reached = (*at, predicate.relation) if predicate.relation else at
    rule.paths.add(reached)
    for name, item in vars(value).items():
        param = predicate.param(name)
        if param.filter is not None:
            _reads(rule, entity(param.filter), item, [*path, camel(name)], reached)
        elif name in predicate.clock_params and item is not None:
            rule.clock = True


_KEYS = {"and_": "and", "or_": "or", "not_": "not", "in_": "in"}


def _find(items: Any, name: str) -> Any:
    return next((x for x in items if x.name == name), None)
