"""How documents execute: strawberry's executor, with introspection answered from a cache and,
in production mode, no "Did you mean ...?" hints in variable errors.

An introspection answer depends only on the schema and on what is selected, so each
`__schema` / `__type` selection is built once per schema and reused: GraphiQL reloading its
docs, or a hundred aliased `__schema` fields in one document, cost one build.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from graphql import FragmentSpreadNode, GraphQLObjectType, Node, print_ast, visit
from graphql.language import Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
CACHE_SIZE = 256  # distinct introspection selections kept per schema


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.names.add(node.name.value)


def executor_class(*, hide_suggestions: bool) -> type[StrawberryGraphQLCoreExecutionContext]:
    """An executor class for one schema: its introspection cache lives as long as the schema."""
    answers: OrderedDict[str, Any] = OrderedDict()

    class RelasiExecutor(StrawberryGraphQLCoreExecutionContext):
        @classmethod
        def build(cls, *args: Any, **kwargs: Any) -> Any:
            if hide_suggestions:
                kwargs["hide_suggestions"] = True
            return super().build(*args, **kwargs)

        def execute_field(
            self,
            parent_type: GraphQLObjectType,
            source: Any,
            field_details_list: Any,
            path: Any,
            *rest: Any,
        ) -> Any:
            name = field_details_list[0].node.name.value
            if name not in INTROSPECTION_FIELDS or parent_type is not self.schema.query_type:
                return super().execute_field(parent_type, source, field_details_list, path, *rest)
            key = self._introspection_key(field_details_list)
            if key in answers:
                answers.move_to_end(key)
                return answers[key]
            errors = len(self.collected_errors.errors)
            value = super().execute_field(parent_type, source, field_details_list, path, *rest)
            if not self.is_awaitable(value) and len(self.collected_errors.errors) == errors:
                answers[key] = value
                if len(answers) > CACHE_SIZE:
                    answers.popitem(last=False)
            return value

        def _introspection_key(self, field_details_list: Any) -> str:
            """What the answer depends on: the selection without its alias, the fragments it
            spreads, and the variables (an argument or @include may read them)."""
            nodes = [details.node for details in field_details_list]
            parts = [print_ast(_unaliased(node)) for node in nodes]
            spreads = _Spreads()
            pending = list(nodes)
            while pending:
                before = set(spreads.names)
                visit(pending.pop(), spreads)
                for fragment in sorted(spreads.names - before):
                    definition = self.fragment_definitions.get(fragment)
                    if definition is not None:
                        parts.append(print_ast(definition))
                        pending.append(definition)
            text = "\n".join(parts)
            if "$" in text:
                text += json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
            return text

    return RelasiExecutor


def _unaliased(node: Any) -> Node:
    return node.__class__(**{k: getattr(node, k) for k in node.keys if k != "alias"})
