"""Filter and order inputs, generated from the storage mapping (`resolvers.model`).

For every entity `X`: `XFilter` (its fields with typed operators, its relations — to-one as a
nested `YFilter`, to-many as `YListFilter { some none every }` — plus `and`, `or`, `not`,
`search` and `customAttributes` where it has them), `XOrder { field direction nulls }` and
`XOrderField`. Generating them keeps the API and the SQL compiler in step by construction.
"""

import datetime
import decimal
from enum import Enum
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

# importing the domain resolvers registers their entities in ENTITIES
from relasi.resolvers import (  # noqa: F401
    accounts,
    api_keys,
    audit,
    cases,
    contacts,
    deal_touchpoints,  # adds lastTouchpoint to Deal
    deals,
    interactions,
    members,
    pipelines,
    segments,  # also adds the behaviour and segment predicates to Contact
    tasks,  # also adds the overdue predicate to Task
)
from relasi.resolvers.model import ENTITIES, Entity, Kind, Predicate, camel
from relasi.schema.enums import NullsOrder, OrderDirection


def _ops(name: str, value_type: Any, ordered: bool, text: bool = False) -> type:
    ns: dict[str, Any] = {"__annotations__": {}}

    def add(attr: str, annotation: Any, description: str, gql: str | None = None) -> None:
        ns["__annotations__"][attr] = Optional[annotation]  # noqa: UP045 (runtime annotation)
        ns[attr] = strawberry.field(default=None, name=gql, description=description)

    add("eq", value_type, "Equal to.")
    add("ne", value_type, "Not equal to (rows without a value match).")
    add("in_", list[value_type], "Equal to any of.", "in")
    add("not_in", list[value_type], "Equal to none of (rows without a value match).")
    if ordered:
        add("gt", value_type, "Greater than.")
        add("gte", value_type, "Greater than or equal to.")
        add("lt", value_type, "Less than.")
        add("lte", value_type, "Less than or equal to.")
    if text:
        add("contains", str, "Contains, ignoring case.")
        add("starts_with", str, "Starts with, ignoring case.")
    add("is_null", bool, "true: has no value; false: has a value.")
    return strawberry.input(
        type(name, (), ns), name=name, description=f"Conditions on a {name[:-6]} value."
    )


IDFilter = _ops("IDFilter", strawberry.ID, ordered=False)
StringFilter = _ops("StringFilter", str, ordered=False, text=True)
IntFilter = _ops("IntFilter", int, ordered=True)
DecimalFilter = _ops("DecimalFilter", decimal.Decimal, ordered=True)
FloatFilter = _ops("FloatFilter", float, ordered=True)
DateTimeFilter = _ops("DateTimeFilter", datetime.datetime, ordered=True)
DateFilter = _ops("DateFilter", datetime.date, ordered=True)
BooleanFilter = _ops("BooleanFilter", bool, ordered=False)

_SCALAR_FILTERS = {
    Kind.ID: IDFilter,
    Kind.STRING: StringFilter,
    Kind.INT: IntFilter,
    Kind.DECIMAL: DecimalFilter,
    Kind.FLOAT: FloatFilter,
    Kind.DATETIME: DateTimeFilter,
    Kind.DATE: DateFilter,
    Kind.BOOLEAN: BooleanFilter,
}
_ENUM_FILTERS: dict[type[Enum], type] = {}


def _enum_filter(enum: type[Enum]) -> type:
    if enum not in _ENUM_FILTERS:
        name = f"{enum.__strawberry_definition__.name}Filter"
        _ENUM_FILTERS[enum] = _ops(name, enum, ordered=False)
    return _ENUM_FILTERS[enum]


@strawberry.input(description="A condition on one key of `customAttributes` (a JSON object).")
class CustomAttributeFilter:
    key: str
    eq: JSON | None = None
    ne: JSON | None = None
    in_: list[JSON] | None = strawberry.field(default=None, name="in")
    gt: JSON | None = strawberry.field(default=None, description="Numbers and strings compare.")
    gte: JSON | None = None
    lt: JSON | None = None
    lte: JSON | None = None
    exists: bool | None = strawberry.field(default=None, description="Whether the key is set.")


_PARAM_TYPES = {
    Kind.ID: strawberry.ID,
    Kind.STRING: str,
    Kind.INT: int,
    Kind.DECIMAL: decimal.Decimal,
    Kind.FLOAT: float,
    Kind.DATETIME: datetime.datetime,
    Kind.DATE: datetime.date,
    Kind.BOOLEAN: bool,
}


def _predicate_type(predicate: Predicate, filters: dict[str, type]) -> Any:
    """The input type of a predicate another domain added to an entity (`model.extend`)."""
    if predicate.value is not None:
        value_type = _PARAM_TYPES[predicate.value.kind]
        return list[value_type] if predicate.value.many else value_type
    cls = type(predicate.type_name, (), {"__annotations__": {}})
    for param in sorted(predicate.params, key=lambda p: not p.required):
        annotation = filters[param.filter] if param.filter else _PARAM_TYPES[param.kind]
        if param.many:
            annotation = list[annotation]
        if param.required:
            cls.__annotations__[param.name] = annotation
            setattr(cls, param.name, strawberry.field(description=param.description))
        else:
            _set(cls, param.name, annotation, param.description)
    return strawberry.input(cls, description=predicate.description)


def _build() -> tuple[dict[str, type], dict[str, type], dict[str, type]]:
    # two passes, because filters refer to each other (Contact -> Account -> Contact ...):
    # first make every class, then give each its fields and let strawberry process it
    filters = {name: type(f"{name}Filter", (), {}) for name in ENTITIES}
    lists = {name: type(f"{name}ListFilter", (), {}) for name in ENTITIES}
    orders: dict[str, type] = {}
    for name, ent in ENTITIES.items():
        _fill_filter(filters[name], ent, filters, lists)
        for predicate in ent.predicates:
            input_type = _predicate_type(predicate, filters)
            _set(filters[name], predicate.name, input_type, predicate.description)
        _fill_list(lists[name], name, filters[name])
        orders[name] = _order_input(ent)
    for name in ENTITIES:
        strawberry.input(filters[name], description=f"Conditions on {name} rows; all must hold.")
        strawberry.input(
            lists[name],
            description=f"Quantifiers over a list of {name} rows.",
        )
    return filters, lists, orders


def _set(cls: type, attr: str, annotation: Any, description: str, gql: str | None = None) -> None:
    cls.__annotations__[attr] = Optional[annotation]  # noqa: UP045 (runtime annotation)
    setattr(cls, attr, strawberry.field(default=None, name=gql, description=description))


def _fill_filter(cls: type, ent: Entity, filters: dict, lists: dict) -> None:
    cls.__annotations__ = {}
    for f in ent.fields:
        op_type = _enum_filter(f.enum) if f.kind is Kind.ENUM else _SCALAR_FILTERS[f.kind]
        _set(cls, f.name, op_type, f.description or f"Conditions on {camel(f.name)}.")
    for rel in ent.relations:
        if rel.cardinality == "one":
            _set(cls, rel.name, filters[rel.target], f"The {camel(rel.name)} must match.")
        else:
            _set(cls, rel.name, lists[rel.target], f"Quantified conditions on {camel(rel.name)}.")
    if ent.search:
        _set(cls, "search", str, "Text that names, emails or domains contain (ignoring case).")
    if ent.custom_attributes:
        _set(
            cls,
            "custom_attributes",
            list[CustomAttributeFilter],
            "Conditions on custom attributes.",
        )
    _set(cls, "and_", list[cls], "All of these hold.", "and")
    _set(cls, "or_", list[cls], "At least one of these holds.", "or")
    _set(cls, "not_", cls, "This does not hold.", "not")


def _fill_list(cls: type, name: str, item_filter: type) -> None:
    cls.__annotations__ = {}
    _set(cls, "some", item_filter, f"At least one {name} matches.")
    _set(cls, "none", item_filter, f"No {name} matches.")
    _set(cls, "every", item_filter, f"Every {name} matches (true when there are none).")


def _order_input(ent: Entity) -> type:
    field_enum = strawberry.enum(
        Enum(f"{ent.name}OrderField", {f.name.upper(): f.name for f in ent.sortable}),
        description=f"Fields {ent.name} lists can be ordered by.",
    )
    ns = {
        "__annotations__": {
            "field": field_enum,
            "direction": OrderDirection,
            "nulls": Optional[NullsOrder],  # noqa: UP045 (runtime annotation)
        },
        "direction": OrderDirection.ASC,
        "nulls": strawberry.field(default=None, description="Default: rows without a value last."),
    }
    return strawberry.input(
        type(f"{ent.name}Order", (), ns),
        description=f"One key of a {ent.name} ordering; ties always break on id.",
    )


FILTERS, LIST_FILTERS, ORDERS = _build()

AccountFilter, AccountOrder = FILTERS["Account"], ORDERS["Account"]
ContactFilter, ContactOrder = FILTERS["Contact"], ORDERS["Contact"]
SegmentFilter, SegmentOrder = FILTERS["Segment"], ORDERS["Segment"]
SegmentMembershipChangeFilter = FILTERS["SegmentMembershipChange"]
SegmentMembershipChangeOrder = ORDERS["SegmentMembershipChange"]
DealFilter, DealOrder = FILTERS["Deal"], ORDERS["Deal"]
CaseFilter, CaseOrder = FILTERS["Case"], ORDERS["Case"]
InteractionFilter, InteractionOrder = FILTERS["Interaction"], ORDERS["Interaction"]
PipelineFilter, PipelineOrder = FILTERS["Pipeline"], ORDERS["Pipeline"]
MemberFilter, MemberOrder = FILTERS["Member"], ORDERS["Member"]
ApiKeyFilter, ApiKeyOrder = FILTERS["ApiKey"], ORDERS["ApiKey"]
AuditEntryFilter, AuditEntryOrder = FILTERS["AuditEntry"], ORDERS["AuditEntry"]
TaskFilter, TaskOrder = FILTERS["Task"], ORDERS["Task"]
