"""The storage mapping, declared once as data: each entity's table, its filterable and sortable
fields, and how its relations join. DataLoaders, the predicate compiler and ordering all read
it, so a field added here is filterable, sortable and loadable everywhere at once. `outputs`
say how the GraphQL fields that are not plain columns are produced in SQL, for the query
compiler (`relasi/compiler/`): one place declares a type's storage for every path.

Every SQL fragment is written against a table alias passed in as `{t}`; nothing a client sends
is ever pasted into SQL (names come from this mapping, values travel as parameters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal


class Kind(Enum):
    """How a field is compared, cast and cursor-encoded."""

    ID = "uuid"
    STRING = "text"
    ENUM = "enum"
    INT = "integer"
    DECIMAL = "numeric"
    FLOAT = "float8"
    DATETIME = "timestamptz"
    DATE = "date"
    BOOLEAN = "boolean"

    @property
    def sql_type(self) -> str:
        return "text" if self is Kind.ENUM else self.value


@dataclass(frozen=True)
class Field:
    """A scalar the client can filter (and perhaps sort) on.

    `sql` is an expression over `{t}`. `exists` instead names a side table the value lives in
    (e.g. a contact's emails): the condition becomes EXISTS over that table's `value`.
    """

    name: str
    kind: Kind
    sql: str = ""
    enum: type[Enum] | None = None
    target: str | None = None  # for ID fields: the entity type the id names
    sortable: bool = False
    sort_sql: str | None = None  # e.g. lower(name), to match an index
    exists: str | None = None  # "FROM x i WHERE i.workspace_id = {t}.workspace_id AND ..."
    nullable: bool = True
    lowercase: bool = False  # stored lower-cased (emails, domains): eq/in compare lower-cased
    pii: bool = False  # personal data: filtering on it needs the pii:read scope
    description: str = ""

    def expr(self, alias: str) -> str:
        return (self.sql or f"{{t}}.{self.name}").format(t=alias)

    def sort_expr(self, alias: str) -> str:
        return (self.sort_sql or self.sql or f"{{t}}.{self.name}").format(t=alias)


@dataclass(frozen=True)
class Link:
    """A many-to-many link table: `near` points at the parent, `far` at the target."""

    table: str
    near: str
    far: str
    columns: tuple[str, ...] = ()  # edge properties, selected as link_<column>


@dataclass(frozen=True)
class Relation:
    """A link to another entity.

    to-one: parent.`local` = target.id.  to-many: target.`remote` = parent.id, or through a
    `Link` table.
    """

    name: str
    target: str
    cardinality: Literal["one", "many"]
    local: str = "id"
    remote: str = "id"
    through: Link | None = None
    description: str = ""
    order: str = ""  # an unpaged to-many list (a GraphQL list, not a connection): ORDER BY over {t}


@dataclass(frozen=True)
class Output:
    """How a GraphQL field of an entity's type is produced in SQL, when it is neither a column
    of the same name nor a relation of the same name (the compiler reads those by themselves).

    Exactly one of:
    - `sql`: a scalar expression over `{t}`; serialised like a column of the field's type.
    - `fields`: an object (e.g. `utm`), `(graphql name, expression over {t})` pairs; with `rows`
      a list of such objects, one per row `{i}` of `rows` (`FROM ... WHERE ...` over `{t}`,
      ordered by `order`).
    - `money`: the (amount, currency) columns of a `Money` (null without an amount).
    `mask` names personal data ("email" or "phone") masked without pii:read (`auth/pii.py`):
    the whole value, or with `fields` the sub-field `mask_field`.
    """

    name: str
    sql: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    rows: str = ""
    order: str = ""
    money: tuple[str, str] | None = None
    mask: Literal["email", "phone"] | None = None
    mask_field: str = ""


@dataclass(frozen=True)
class Entity:
    name: str  # GraphQL type name, also the global id prefix
    table: str
    fields: tuple[Field, ...]
    relations: tuple[Relation, ...] = ()
    soft_delete: bool = True
    # (field name, descending) pairs; the id tiebreak is always appended
    default_order: tuple[tuple[str, bool], ...] = (("created_at", True),)
    search: tuple[str, ...] = ()  # expressions over {t} matched by the `search` filter
    pii_search: tuple[str, ...] = ()  # more of them, over personal data (with pii:read only)
    custom_attributes: bool = False
    filterable: bool = True
    outputs: tuple[Output, ...] = ()  # computed GraphQL fields (see Output)
    _fields: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._fields.update({f.name: f for f in self.fields})

    def field(self, name: str) -> Field:
        return self._fields[name]

    def relation(self, name: str) -> Relation:
        extra = EXTENSIONS.get(self.name, Extension()).relations
        return next(r for r in (*self.relations, *extra) if r.name == name)

    def find_relation(self, name: str) -> Relation | None:
        extra = EXTENSIONS.get(self.name, Extension()).relations
        return next((r for r in (*self.relations, *extra) if r.name == name), None)

    def output(self, graphql_name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == graphql_name), None)

    @property
    def predicates(self) -> list[Predicate]:
        """Filter keys beyond fields and relations that other domains added (see `extend`)."""
        return EXTENSIONS.get(self.name, Extension()).predicates

    def live(self, alias: str) -> str:
        """The condition that keeps soft-deleted rows out."""
        return f"{alias}.deleted_at IS NULL" if self.soft_delete else "TRUE"

    @property
    def sortable(self) -> list[Field]:
        return [f for f in self.fields if f.sortable]


@dataclass(frozen=True)
class Param:
    """One input field of a `Predicate`: a scalar (`kind`), or a filter of entity `filter`."""

    name: str
    kind: Kind | None = None
    filter: str | None = None
    many: bool = False  # a list of values
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    target: str | None = None  # for ID values: the entity type the ids name
    description: str = ""


@dataclass(frozen=True)
class Predicate:
    """A filter key that is neither a field nor a relation, e.g. a contact's behaviour
    ("at least 3 touchpoints on WhatsApp in the last 14 days"). Declared once as data: the
    filter inputs are generated from `params` (an input object named `type_name`) or `value`
    (a plain value), and the predicate compiler calls `compile(value, alias, params, depth)`
    for the SQL condition. `relation` names the relation of the entity whose rows it reads, and
    `clock_params` the params that make it depend on the current time (for segments, which
    must know what a rule reads to keep their membership current). `check` says what is wrong
    with a parsed input as a whole (a missing choice), or None.
    """

    name: str
    compile: Callable[[Any, str, Any, int], str]
    description: str
    type_name: str | None = None
    params: tuple[Param, ...] = ()
    value: Param | None = None
    relation: str | None = None
    clock_params: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


@dataclass
class Extension:
    predicates: list[Predicate] = field(default_factory=list)
    # loadable (DataLoaders, relation connections) but not filterable: a filter could then
    # reach what another domain derives from filters (segment membership) in a loop
    relations: list[Relation] = field(default_factory=list)


ENTITIES: dict[str, Entity] = {}
EXTENSIONS: dict[str, Extension] = {}


def extend(
    entity_name: str,
    *,
    predicates: tuple[Predicate, ...] = (),
    relations: tuple[Relation, ...] = (),
) -> None:
    """Let another domain add filter predicates or loadable relations to an entity it does
    not own (segments add `touchpoints`, `inSegment`, ... and `segments` to Contact)."""
    ext = EXTENSIONS.setdefault(entity_name, Extension())
    ext.predicates.extend(predicates)
    ext.relations.extend(relations)


def register(entity: Entity) -> Entity:
    ENTITIES[entity.name] = entity
    return entity


def entity(name: str) -> Entity:
    return ENTITIES[name]


def std_fields(*, sortable_updated: bool = True) -> tuple[Field, ...]:
    """id, createdAt, updatedAt: on every entity."""
    return (
        Field("id", Kind.ID, nullable=False),
        Field("created_at", Kind.DATETIME, sortable=True, nullable=False),
        Field("updated_at", Kind.DATETIME, sortable=sortable_updated, nullable=False),
    )


def camel(name: str) -> str:
    """first_name -> firstName: the GraphQL spelling of a mapped field."""
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
