"""Running a mutation: one savepoint, and refused input turned into `userErrors`."""

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types.base import has_object_definition

from relasi.errors import (
    AppError,
    FieldError,
    Forbidden,
    ServiceUnavailable,
    Timeout,
    Unauthenticated,
    UserInputError,
)
from relasi.resolvers import global_ids, rows
from relasi.resolvers.model import Entity
from relasi.resolvers.session import Session
from relasi.schema.errors import UserError, user_errors

P = TypeVar("P")


def provided(value: Any) -> Any:
    """An input object as plain data: dicts of the fields the client sent (UNSET left out)."""
    if isinstance(value, list):
        return [provided(v) for v in value]
    if has_object_definition(value) and dataclasses.is_dataclass(value):
        return {
            f.name: provided(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    return value


async def run_mutation(
    info: strawberry.Info,
    payload: type[P],
    action: Callable[[Session], Awaitable[Any]],
    result: Callable[[Any], dict[str, Any]],
) -> P:
    """Run `action` in its own savepoint. Input the client can fix comes back as the payload's
    userErrors (nothing is written); authentication, permission, time-limit and database
    errors stay top-level."""
    session: Session = info.context.session
    try:
        async with session.savepoint():
            await session.audit_as(info.field_name)
            value = await action(session)
    except UserInputError as e:
        return payload(user_errors=user_errors(e.errors))
    except (Unauthenticated, Forbidden, Timeout, ServiceUnavailable):
        raise  # not about the input: top-level errors
    except AppError as e:
        path = e.field.split(".") if e.field else None
        return payload(user_errors=user_errors([FieldError(path, e.message, e.code)]))
    return payload(user_errors=[], **result(value))


@strawberry.type(description="The result of a delete or other id-only mutation.")
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError]


def update_mutation(
    info: strawberry.Info,
    payload: type[P],
    type_name: str,
    input: Any,
    update: Callable[[Session, Any, dict[str, Any]], Awaitable[Any]],
    result: Callable[[Any], dict[str, Any]],
    data: Callable[[Any], dict[str, Any]] = provided,
) -> Awaitable[P]:
    """`updateX(input: {id, version, ...fields})`: fields left out stay as they are; `data`
    reads the fields sent from the input."""

    async def action(session: Session) -> Any:
        fields = data(input)
        pk = global_ids.decode(fields.pop("id"), type_name, field="input.id")
        return await update(session, pk, fields)

    return run_mutation(info, payload, action, result)


def delete_by_id(
    info: strawberry.Info,
    type_name: str,
    global_id: str,
    delete: Callable[[Session, Any], Awaitable[Any]],
) -> Awaitable[DeletePayload]:
    """`deleteX(input: {id})` for a record its resolver deletes with `delete(session, pk)`."""

    async def action(session: Session) -> Any:
        await delete(session, global_ids.decode(global_id, type_name, field="input.id"))

    return run_mutation(info, DeletePayload, action, lambda _: {"deleted_id": global_id})


def delete_mutation(
    info: strawberry.Info, entity: Entity, global_id: str
) -> Awaitable[DeletePayload]:
    """`deleteX(input: {id})`: a soft delete; the row leaves lists and lookups."""
    return delete_by_id(
        info, entity.name, global_id, lambda session, pk: rows.soft_delete(session, entity, pk)
    )


def restore_mutation(
    info: strawberry.Info,
    payload: type[P],
    entity: Entity,
    global_id: str,
    result: Callable[[Any], dict[str, Any]],
    unique: dict[str, tuple[str, str]] | None = None,
) -> Awaitable[P]:
    """`restoreX(input: {id})`: brings a soft-deleted row back."""

    async def action(session: Session) -> Any:
        pk = global_ids.decode(global_id, entity.name, field="input.id")
        return await rows.restore(session, entity, pk, unique)

    return run_mutation(info, payload, action, result)
