"""The one plain filter form: a filter as the JSON a client types, checked once.

Lists (`contacts(filter: ...)`), segment rules and webhook conditions all hold a filter the
same way: `plain` turns a typed filter input into JSON with the GraphQL field names,
exactly as a client would write it (`{"amount": {"gt": "10000"}, "account": {"industry":
{"eq": "Retail"}}}`); `parse` checks such JSON against the storage mapping (the whitelist: a
filter names only what `XFilter` has) and returns the tree `predicates.compile_filter`
compiles. Every problem is reported at its exact path, e.g.
["filter", "and", "1", "deals", "some", "amount", "gt"]; there is no other checker.
"""

from __future__ import annotations

import datetime
import json
import math
from decimal import Decimal, InvalidOperation
from enum import Enum
from types import SimpleNamespace
from typing import Any

from relasi.errors import AppError, ErrorCode, FieldError, UserInputError
from relasi.resolvers import global_ids
from relasi.resolvers.model import Entity, Field, Kind, Param, Predicate, camel, entity

MAX_DEPTH = 8
# Filter values are short by nature; a long one only makes a costly pattern (ILIKE work grows
# with its length) or a huge array. Stored text has its own, longer caps (resolvers/validation.py).
MAX_FILTER_TEXT = 256  # characters of a string (contains, startsWith, eq, search, ...)
MAX_FILTER_LIST = 1_000  # values of one `in` / `notIn`, conditions of one `and` / `or`
INT_RANGE = (-(2**31), 2**31 - 1)
MAX_DECIMAL = Decimal("1e30")

_COMMON_OPS = {"eq": "eq", "ne": "ne", "in": "in_", "notIn": "not_in", "isNull": "is_null"}
_ORDERED_OPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_TEXT_OPS = {"contains": "contains", "startsWith": "starts_with"}
_ORDERED = (Kind.INT, Kind.DECIMAL, Kind.FLOAT, Kind.DATETIME, Kind.DATE)
_ATTRIBUTE_OPS = {"key", "eq", "ne", "in", "gt", "gte", "lt", "lte", "exists"}
_QUANTIFIERS = ("some", "none", "every")


class Node(SimpleNamespace):
    """A parsed filter object: absent keys read as None, like unset filter input fields."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def plain(value: Any) -> Any:
    """A typed filter input (or a list of them) as plain JSON: GraphQL field names, unset
    fields left out, enums by name, decimals and dates as strings."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    definition = getattr(type(value), "__strawberry_definition__", None)
    if definition is not None:
        out = {}
        for f in definition.fields:
            item = getattr(value, f.python_name)
            if item is not None and item.__class__.__name__ != "UnsetType":
                out[f.graphql_name or camel(f.python_name)] = plain(item)
        return out
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):  # and datetime
        return value.isoformat()
    return value


def parse(
    entity_name: str, value: Any, path: list[str], *, max_text: int = MAX_FILTER_TEXT
) -> Node:
    """Check a plain filter of `entity_name` and return what `compile_filter` compiles; every
    problem found is raised together (a UserInputError, in path order)."""
    found, errors = parse_all(entity_name, value, path, max_text=max_text)
    if errors:
        raise UserInputError(sorted(errors, key=lambda e: e.field))
    return found


def parse_all(
    entity_name: str, value: Any, path: list[str], *, max_text: int = MAX_FILTER_TEXT
) -> tuple[Node, list[FieldError]]:
    """`parse`, returning the problems instead of raising them (callers add their own)."""
    parser = _Parser(max_text)
    return parser.filter(entity(entity_name), value, list(path), 0), parser.errors


def param_problem(param: Param, value: Any) -> str | None:
    """Why a number is out of a predicate parameter's range (None if it is not)."""
    if param.minimum is not None and value < param.minimum:
        return f"Must be at least {param.minimum:g}."
    if param.maximum is not None and value > param.maximum:
        return f"Must be at most {param.maximum:g}."
    return None


class _Parser:
    def __init__(self, max_text: int) -> None:
        self.max_text = max_text  # characters of any string value
        self.errors: list[FieldError] = []

    def error(
        self, path: list[str], message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT
    ) -> None:
        self.errors.append(FieldError(list(path), message, code))

    def filter(self, ent: Entity, value: Any, path: list[str], depth: int) -> Node:
        out = Node()
        if not isinstance(value, dict):
            self.error(path, f"Expected an object of {ent.name}Filter keys.")
            return out
        if depth > MAX_DEPTH:
            self.error(path, f"Filters may nest at most {MAX_DEPTH} levels deep.")
            return out
        fields = {camel(f.name): f for f in ent.fields}
        relations = {camel(r.name): r for r in ent.relations}
        predicates = {camel(p.name): p for p in ent.predicates}
        for key, item in value.items():
            here = [*path, key]
            if item is None:
                continue  # an unset input field
            if key in fields:
                setattr(out, fields[key].name, self.ops(ent, fields[key], item, here))
            elif key in relations:
                rel = relations[key]
                setattr(out, rel.name, self.relation(rel, item, here, depth))
            elif key in predicates:
                predicate = predicates[key]
                setattr(out, predicate.name, self.predicate(predicate, item, here, depth))
            elif key in ("and", "or"):
                items = self.list_of(item, here)
                subs = [
                    self.filter(ent, sub, [*here, str(i)], depth + 1) for i, sub in enumerate(items)
                ]
                setattr(out, f"{key}_", subs)
            elif key == "not":
                out.not_ = self.filter(ent, item, here, depth + 1)
            elif key == "search" and ent.search:
                out.search = self.text(item, here)
            elif key == "customAttributes" and ent.custom_attributes:
                out.custom_attributes = [
                    self.attribute(attr, [*here, str(i)])
                    for i, attr in enumerate(self.list_of(item, here))
                ]
            else:
                self.error(here, f"{ent.name}Filter has no {key!r}.")
        return out

    def relation(self, rel: Any, value: Any, path: list[str], depth: int) -> Node:
        target = entity(rel.target)
        if rel.cardinality == "one":
            return self.filter(target, value, path, depth + 1)
        out = Node()
        if not isinstance(value, dict):
            self.error(path, "Expected an object with some, none or every.")
            return out
        for key, item in value.items():
            if key not in _QUANTIFIERS:
                self.error([*path, key], f"Expected some, none or every, not {key!r}.")
            elif item is not None:
                setattr(out, key, self.filter(target, item, [*path, key], depth + 1))
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
                continue  # an unset operator
            attr = allowed[key]
            if attr == "is_null":
                if not isinstance(item, bool):
                    self.error(here, "Expected true or false.")
                setattr(out, attr, item)
            elif attr in ("contains", "starts_with"):
                setattr(out, attr, self.text(item, here))
            elif attr in ("in_", "not_in"):
                items = self.list_of(item, here)
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

    def list_of(self, value: Any, path: list[str]) -> list[Any]:
        if not isinstance(value, list):
            self.error(path, "Expected a list.")
            return []
        if len(value) > MAX_FILTER_LIST:
            self.error(path, f"At most {MAX_FILTER_LIST} items.")
            return []
        return value

    def attribute(self, value: Any, path: list[str]) -> Node:
        out = Node()
        if not isinstance(value, dict):
            self.error(path, "Expected an object with key and operators.")
            return out
        for key, item in value.items():
            here = [*path, key]
            if key not in _ATTRIBUTE_OPS:
                self.error(here, f"customAttributes has no operator {key!r}.")
            elif item is None:
                continue  # `eq: null` is no operator (no condition)
            elif key == "key":
                out.key = self.text(item, here)
            elif key == "exists":
                if not isinstance(item, bool):
                    self.error(here, "Expected true or false.")
                out.exists = item
            elif key == "in":
                items = self.list_of(item, here)
                for i, v in enumerate(items):
                    self.json_value(v, [*here, str(i)])
                out.in_ = items
            else:
                self.json_value(item, here)
                if key in _ORDERED_OPS and (
                    isinstance(item, bool) or not isinstance(item, int | float | str)
                ):
                    self.error(here, "Compare with a number or a string.")
                setattr(out, key, item)
        if value.get("key") in (None, ""):
            self.error([*path, "key"], "key is required (a string).")
        return out

    def json_value(self, value: Any, path: list[str]) -> None:
        """A JSON value to compare with: as long as a string may be, written as JSON."""
        if isinstance(value, str):
            self.text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            self.error(path, "Expected a finite number.")
        elif len(json.dumps(value)) > self.max_text:
            self.error(path, f"Must be at most {self.max_text} characters as JSON.")

    def predicate(self, predicate: Predicate, value: Any, path: list[str], depth: int) -> Any:
        if predicate.value is not None:  # a plain value (inSegment: one id or a list of them)
            param = predicate.value
            items = [value] if param.many and not isinstance(value, list) else value
            if param.many:
                items = self.list_of(items, path)
                return [self.param(param, v, [*path, str(i)]) for i, v in enumerate(items)]
            return self.param(param, value, path)
        out = Node()
        if not isinstance(value, dict):
            self.error(path, f"Expected a {predicate.type_name} object.")
            return out
        params = {camel(p.name): p for p in predicate.params}
        for key, item in value.items():
            here = [*path, key]
            param = params.get(key)
            if param is None:
                self.error(here, f"{predicate.type_name} has no {key!r}.")
            elif item is None:
                continue
            elif param.filter is not None:
                setattr(out, param.name, self.filter(entity(param.filter), item, here, depth + 1))
            else:
                setattr(out, param.name, self.param(param, item, here))
        for param in predicate.params:
            if param.required and getattr(out, param.name) is None:
                self.error([*path, camel(param.name)], f"{camel(param.name)} is required.")
        message = predicate.check(out) if predicate.check else None
        if message:
            self.error(path, message)
        return out

    def param(self, param: Param, value: Any, path: list[str]) -> Any:
        if isinstance(value, str) and len(value) > self.max_text:
            self.error(path, f"Must be at most {self.max_text} characters.")
            return None
        try:
            found = _scalar(param.kind, value, None, param.target)
        except _OtherType:
            # a predicate names rows by id (inSegment): another type's id names none
            self.error(path, f"No {param.target} with id {value!r}.", ErrorCode.NOT_FOUND)
            return None
        except _Bad as e:
            self.error(path, str(e))
            return None
        message = param_problem(param, found) if param.kind in (Kind.INT, Kind.FLOAT) else None
        if message:
            self.error(path, message)
        return found


class _Bad(Exception):
    """A value the filter may not hold; the message says why."""


class _OtherType(_Bad):
    """A well-formed id of another type."""


def _scalar(kind: Kind, value: Any, enum: type[Enum] | None, target: str | None) -> Any:
    """The value as the compiler binds it (ids stay global ids); raises _Bad."""
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
        if type_name != target and target != "*":  # "*": any type's (the audit's entityId)
            raise _OtherType(f"{value!r} is not the id of a {target}.")
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
