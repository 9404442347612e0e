"""An update input declared once, from its create input: every field of the create input,
optional and UNSET when left out ("fields left out stay as they are; null clears"), after the
fields that name what is updated (id, version)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types.base import StrawberryOptional


def update_input(source: type, name: str, description: str, **head: tuple[Any, Any]) -> type:
    """`head`: field -> (annotation, default or strawberry.field(...)), first in the input."""
    annotations = {key: annotation for key, (annotation, _) in head.items()}
    namespace: dict[str, Any] = {key: default for key, (_, default) in head.items()}
    for f in source.__strawberry_definition__.fields:
        t = f.type
        annotations[f.python_name] = (
            t if isinstance(t, StrawberryOptional) else StrawberryOptional(t)
        )
        namespace[f.python_name] = strawberry.field(
            default=strawberry.UNSET, name=f.graphql_name, description=f.description
        )
    namespace["__annotations__"] = annotations
    return strawberry.input(type(name, (), namespace), description=description)
