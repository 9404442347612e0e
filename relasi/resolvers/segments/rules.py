"""Segment rules: a `ContactFilter` stored as the JSON the client sent (camelCase), parsed back
into the attribute objects the predicate compiler reads (`predicates.compile_filter`).

Parsing checks every key, operator and value against the storage mapping (the whitelist: a
rule can only name what `ContactFilter` has), and reports each problem at its path, e.g.
["input", "rule", "and", "1", "deals", "some", "amount", "gt"]. It also records what the rule
reads, so a write re-evaluates only the segments that read what it changed:

- `paths`: the relation paths from the contact whose rows the rule reads (() for the
  contact's own fields, ("deals",) for its deals, ("deals", "stage") for their stages, ...);
- `refs`: the segments it reads through `inSegment`;
- `clock`: whether it depends on the current time ("in the last 14 days");
- `contact_fields`: which of the contact's own fields it reads (a touch changes only some).
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from relasi.errors import AppError, ErrorCode, FieldError, UserInputError
from relasi.resolvers import global_ids
from relasi.resolvers.model import Entity, Field, Kind, Predicate, camel, entity
from relasi.resolvers.predicates import MAX_DEPTH, MAX_FILTER_LIST, MAX_FILTER_TEXT
from relasi.resolvers.segments.behaviour import object_problem, problem

MAX_LIST = MAX_FILTER_LIST  # values of one `in` / `notIn`
# A new rule's strings are capped like any filter's; rules saved before that cap existed were
# allowed 1,000 characters and must still load.
STORED_MAX_TEXT = 1_000
INT_RANGE = (-(2**31), 2**31 - 1)
MAX_DECIMAL = Decimal("1e30")

_COMMON_OPS = {"eq": "eq", "ne": "ne", "in": "in_", "notIn": "not_in", "isNull": "is_null"}
_ORDERED_OPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_TEXT_OPS = {"contains": "contains", "startsWith": "starts_with"}
_ORDERED = (Kind.INT, Kind.DECIMAL, Kind.FLOAT, Kind.DATETIME, Kind.DATE)
_ATTRIBUTE_OPS = {"eq", "ne", "in", "gt", "gte", "lt", "lte", "exists", "key"}
_INVALID = object()


class Node(SimpleNamespace):
    """A parsed filter object: absent keys read as None, like unset filter input fields."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None


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
    parser = _Parser(max_text)
    rule = Rule(Node())
    parser.rule = rule
    if not isinstance(value, dict):
        parser.error(prefix, "A rule is a JSON object of ContactFilter keys.")
    else:
        rule.filter = parser.filter(entity("Contact"), value, prefix, (), 0)
    return rule, parser.errors


class _Parser:
    def __init__(self, max_text: int) -> None:
        self.max_text = max_text  # characters of any string value
        self.errors: list[FieldError] = []
        self.rule: Rule

    def error(
        self, path: list[str], message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT
    ) -> None:
        self.errors.append(FieldError(list(path), message, code))

    def filter(
        self, ent: Entity, value: Any, path: list[str], at: tuple[str, ...], depth: int
    ) -> Node:
        out = Node()
        if not isinstance(value, dict):
            self.error(path, f"Expected an object of {ent.name}Filter keys.")
            return out
        if depth > MAX_DEPTH:
            self.error(path, f"Rules may nest at most {MAX_DEPTH} levels deep.")
            return out
        fields = {camel(f.name): f for f in ent.fields}
        relations = {camel(r.name): r for r in ent.relations}
        predicates = {camel(p.name): p for p in ent.predicates}
        for key, item in value.items():
            here = [*path, key]
            if key in fields:
                self.read(at, fields[key].name)
                setattr(out, fields[key].name, self.ops(ent, fields[key], item, here))
            elif key in relations:
                setattr(
                    out, relations[key].name, self.relation(relations[key], item, here, at, depth)
                )
            elif key in predicates:
                predicate = predicates[key]
                setattr(out, predicate.name, self.predicate(predicate, item, here, at, depth))
            elif key in ("and", "or"):
                items = self.list_of(item, here, MAX_LIST)
                subs = [
                    self.filter(ent, sub, [*here, str(i)], at, depth + 1)
                    for i, sub in enumerate(items)
                ]
                setattr(out, f"{key}_", subs)
            elif key == "not":
                out.not_ = self.filter(ent, item, here, at, depth + 1)
            elif key == "search" and ent.search:
                self.read(at, "search")
                out.search = self.text(item, here)
            elif key == "customAttributes" and ent.custom_attributes:
                self.read(at, "custom_attributes")
                out.custom_attributes = [
                    self.attribute(attr, [*here, str(i)])
                    for i, attr in enumerate(self.list_of(item, here, MAX_LIST))
                ]
            else:
                self.error(here, f"{ent.name}Filter has no {key!r}.")
        return out

    def read(self, at: tuple[str, ...], name: str) -> None:
        self.rule.paths.add(at)
        if not at:
            self.rule.contact_fields.add(name)

    def relation(
        self, rel: Any, value: Any, path: list[str], at: tuple[str, ...], depth: int
    ) -> Node:
        target = entity(rel.target)
        reached = (*at, rel.name)
        self.rule.paths.add(reached)
        if rel.cardinality == "one":
            return self.filter(target, value, path, reached, depth + 1)
        out = Node()
        if not isinstance(value, dict):
            self.error(path, "Expected an object with some, none or every.")
            return out
        for key, item in value.items():
            if key in ("some", "none", "every"):
                sub = self.filter(target, item, [*path, key], reached, depth + 1)
                setattr(out, key, sub)
            else:
                self.error([*path, key], f"Expected some, none or every, not {key!r}.")
        return out

    def ops(self, ent: Entity, f: Field, value: Any, path: list[str]) -> Node:
        out = Node()
        if not isinstance(value, dict):
            self.error(path, "Expected an object of operators (eq, in, gt, ...).")
            return out
        allowed = dict(_COMMON_OPS)
        if f.kind in _ORDERED:
            allowed.update(_ORDERED_OPS)
        if f.kind is Kind.STRING:
            allowed.update(_TEXT_OPS)
        for key, item in value.items():
            here = [*path, key]
            if key not in allowed:
                known = ", ".join(allowed)
                self.error(here, f"{camel(f.name)} has no operator {key!r} (it has {known}).")
                continue
            if item is None:
                self.error(here, "Must not be null.")
                continue
            attr = allowed[key]
            if attr == "is_null":
                if not isinstance(item, bool):
                    self.error(here, "Expected true or false.")
                setattr(out, attr, item)
            elif attr in ("contains", "starts_with"):
                setattr(out, attr, self.text(item, here))
            elif attr in ("in_", "not_in"):
                items = self.list_of(item, here, MAX_LIST)
                setattr(
                    out,
                    attr,
                    [self.scalar(ent, f, v, [*here, str(i)]) for i, v in enumerate(items)],
                )
            else:
                setattr(out, attr, self.scalar(ent, f, item, here))
        return out

    def scalar(self, ent: Entity, f: Field, value: Any, path: list[str]) -> Any:
        if isinstance(value, str) and len(value) > self.max_text:
            self.error(path, f"Must be at most {self.max_text} characters.")
            return None
        try:
            return _scalar(f.kind, value, f.enum, f.target or ent.name)
        except _Bad as e:
            self.error(path, str(e))
            return None

    def text(self, value: Any, path: list[str]) -> str | None:
        if not isinstance(value, str):
            self.error(path, "Expected a string.")
            return None
        if "\0" in value:
            self.error(path, "Must not contain NUL characters.")
        if len(value) > self.max_text:
            self.error(path, f"Must be at most {self.max_text} characters.")
        return value

    def list_of(self, value: Any, path: list[str], limit: int) -> list[Any]:
        if not isinstance(value, list):
            self.error(path, "Expected a list.")
            return []
        if len(value) > limit:
            self.error(path, f"At most {limit} items.")
            return []
        return value

    def attribute(self, value: Any, path: list[str]) -> Node:
        out = Node()
        if not isinstance(value, dict):
            self.error(path, "Expected an object with key and operators.")
            return out
        if not isinstance(value.get("key"), str) or not value["key"]:
            self.error([*path, "key"], "key is required (a string).")
        for key, item in value.items():
            here = [*path, key]
            if key not in _ATTRIBUTE_OPS:
                self.error(here, f"customAttributes has no operator {key!r}.")
            elif len(json.dumps(item)) > self.max_text:
                self.error(here, f"Must be at most {self.max_text} characters as JSON.")
            elif key == "exists" and not isinstance(item, bool):
                self.error(here, "Expected true or false.")
            elif key == "in":
                out.in_ = self.list_of(item, here, MAX_LIST)
                continue
            elif key in _ORDERED_OPS and (
                isinstance(item, bool) or not isinstance(item, int | float | str)
            ):
                self.error(here, "Compare with a number or a string.")
            setattr(out, key, item)
        return out

    def predicate(
        self, predicate: Predicate, value: Any, path: list[str], at: tuple[str, ...], depth: int
    ) -> Any:
        if predicate.value is not None:  # inSegment: one id or a list of them
            items = [value] if isinstance(value, str) else self.list_of(value, path, MAX_LIST)
            for i, item in enumerate(items):
                self.reference(item, [*path, str(i)], at)
            return items
        out = Node()
        if not isinstance(value, dict):
            self.error(path, f"Expected a {predicate.type_name} object.")
            return out
        reached = (*at, predicate.relation) if predicate.relation else at
        self.rule.paths.add(reached)
        params = {camel(p.name): p for p in predicate.params}
        for key, item in value.items():
            here = [*path, key]
            param = params.get(key)
            if param is None:
                self.error(here, f"{predicate.type_name} has no {key!r}.")
            elif item is None:
                continue
            elif param.filter is not None:
                sub = self.filter(entity(param.filter), item, here, reached, depth + 1)
                setattr(out, param.name, sub)
            else:
                try:
                    found = _scalar(param.kind, item, None, None)
                except _Bad as e:
                    self.error(here, str(e))
                    continue
                message = problem(param, found)
                if message:
                    self.error(here, message)
                setattr(out, param.name, found)
                if param.name in predicate.clock_params:
                    self.rule.clock = True
        for param in predicate.params:
            if param.required and getattr(out, param.name) is None:
                self.error([*path, camel(param.name)], f"{camel(param.name)} is required.")
        message = object_problem(predicate, out)
        if message:
            self.error(path, message)
        return out

    def reference(self, value: Any, path: list[str], at: tuple[str, ...]) -> None:
        if not isinstance(value, str):
            self.error(path, "Expected a segment id.")
            return
        try:
            type_name, pk = global_ids.decode_any(value)
        except AppError as e:
            self.error(path, e.message)
            return
        if type_name != "Segment":
            self.error(path, f"No Segment with id {value!r}.", ErrorCode.NOT_FOUND)
            return
        self.rule.refs.setdefault(pk, []).append((path, at))


class _Bad(Exception):
    """A value the rule may not hold; the message says why."""


def _scalar(kind: Kind, value: Any, enum: type[Enum] | None, target: str | None) -> Any:
    """The value as the compiler binds it; raises _Bad."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise _Bad("Expected true or false.")
        return value
    if kind is Kind.INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Bad("Expected an integer.")
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise _Bad("Out of range for an integer.")
        return value
    if kind is Kind.FLOAT:
        if not is_number or not math.isfinite(value):
            raise _Bad("Expected a finite number.")
        return float(value)
    if kind is Kind.DECIMAL:
        if not (is_number or isinstance(value, str)):
            raise _Bad('Expected a decimal number (e.g. "50000.00").')
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise _Bad(f"{value!r} is not a decimal number.") from None
        if not number.is_finite():
            raise _Bad("Expected a finite decimal number.")
        if abs(number) >= MAX_DECIMAL:
            raise _Bad(f"Must be less than {MAX_DECIMAL:.0e} in size.")
        return number
    if not isinstance(value, str):
        raise _Bad("Expected a string.")
    if "\0" in value:
        raise _Bad("Must not contain NUL characters.")
    if kind is Kind.STRING:
        return value  # its length is checked by the parser
    if kind is Kind.ENUM:
        names = [m.value for m in enum]
        if value not in names:
            raise _Bad(f"Expected one of {', '.join(names)}.")
        return value
    if kind is Kind.ID:
        try:
            type_name, _ = global_ids.decode_any(value)
        except AppError as e:
            raise _Bad(e.message) from None
        if type_name != target:
            raise _Bad(f"{value!r} is not the id of a {target}.")
        return value
    if kind is Kind.DATETIME:
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{value!r} is not an ISO 8601 date-time.") from None
        if moment.tzinfo is None:
            raise _Bad("Give a time zone (e.g. 2026-03-01T09:30:00Z).")
        return moment
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{value!r} is not an ISO 8601 date.") from None
