"""`me` compiled: the caller, as `schema/access.py` answers it — the workspace and the sorted
scopes from the request's principal (bound parameters), the signed-in member and the API key
read by id (`loaders.load_one`: live rows of their entities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, get_named_type

from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Bind, Column, Const, GlobalId, ObjectPlan, Plan
from relasi.resolvers.model import entity

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

# the caller's own records: (entity, the principal's attribute holding its id)
RECORDS = {"member": ("Member", "member_id"), "apiKey": ("ApiKey", "api_key_id")}


@dataclass
class Me(Plan):
    fields: list[tuple[str, str, ObjectPlan | None]]  # (response key, field, record's plan)

    def sql(self, b: Bind, alias: str) -> str:
        pairs = []
        for key, name, plan in self.fields:
            if name == "__typename":
                expr = "'Me'"
            elif name == "workspaceId":
                expr = "$1::text"
            elif name == "scopes":
                expr = f"to_json({b.params(sorted(b.principal.scopes), 'text[]')})"
            else:
                type_name, attribute = RECORDS[name]
                pk = getattr(b.principal, attribute)
                expr = "NULL::json" if pk is None else _record(b, entity(type_name), pk, plan)
            pairs.append(f"{values.literal(key)}, {expr}")
        return f"json_build_object({', '.join(pairs)})"


def _record(b: Bind, ent: Any, pk: Any, plan: ObjectPlan | None) -> str:
    assert plan is not None
    x = b.alias()
    return (
        f"(SELECT {plan.sql(b, x)} FROM {ent.table} {x} WHERE {x}.workspace_id = $1"
        f" AND {x}.id = {b.params(pk, 'uuid')} AND {ent.live(x)})"
    )


def plan_me(planner: Planner, nodes: list[FieldNode], gql_field: Any) -> Me:
    me_type = planner._object_type(get_named_type(gql_field.type).name)
    fields: list[tuple[str, str, ObjectPlan | None]] = []
    for key, found in planner.collect(me_type, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        plan = None
        if name != "__typename":
            planner._check(me_type.name, name)
            if name in RECORDS:
                record_type = get_named_type(me_type.fields[name].type).name
                plan = _record_plan(planner, record_type, RECORDS[name][0], found)
        fields.append((key, name, plan))
    return Me(fields)


def _record_plan(
    planner: Planner, type_name: str, entity_name: str, nodes: list[FieldNode]
) -> ObjectPlan:
    """CallerMember / CallerApiKey: plain fields, each the column of its name; `id` the
    record's global id."""
    type_ = planner._object_type(type_name)
    plans: list[tuple[str, Plan]] = []
    for key, found in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_name))))
            continue
        field = planner._check(type_name, name)
        if name == "id":
            plans.append((key, GlobalId(entity_name)))
        elif field.base_resolver is None:
            named = get_named_type(type_.fields[name].type).name
            plans.append((key, Column(f"{{t}}.{field.python_name}", named)))
        else:
            raise Unsupported(f"{type_name}.{name}")
    return ObjectPlan(plans)
