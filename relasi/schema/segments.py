"""Segments: static or dynamic groups of contacts, with live, materialised membership."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from relasi.auth.pii import PII_READ
from relasi.errors import UserInputError
from relasi.resolvers import filter_form, global_ids, loaders
from relasi.resolvers.model import entity
from relasi.resolvers.pagination import PageArgs
from relasi.resolvers.segments import mutations, queries
from relasi.resolvers.segments.masking import mask_rule
from relasi.schema.enums import SegmentChange, SegmentChangeReason, SegmentKind
from relasi.schema.errors import UserError, user_errors
from relasi.schema.filters import (
    ContactFilter,
    ContactOrder,
    SegmentFilter,
    SegmentMembershipChangeFilter,
    SegmentMembershipChangeOrder,
    SegmentOrder,
)
from relasi.schema.payloads import DeletePayload, delete_by_id, provided, run_mutation
from relasi.schema.refs import ContactConnectionRef, ContactRef
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    lookup_field,
    node_type,
    relation_field,
)

RULE_DESCRIPTION = (
    "The rule, in the contacts filter language (ContactFilter: fields, relations with "
    "some/none/every, and/or/not, touchpoints, lastTouchpoint, averageSentiment, "
    "averageSatisfaction, inSegment)."
)
RULE_JSON_DESCRIPTION = (
    "The rule as JSON (e.g. a Segment's `rule` read back), instead of `rule`: every unknown "
    "key or wrongly typed value is reported in userErrors at its path."
)


@strawberry.type(description="A segment's size at the end of a day (UTC).")
class SegmentSize:
    date: datetime.date
    size: int


@node_type
@strawberry.type(
    description="A group of contacts: STATIC (explicit members) or DYNAMIC (a rule over the "
    "contact's fields, account, deals, cases, touchpoints and other segments, plus contacts "
    "always included or excluded). Membership is materialised and kept current as data changes."
)
class Segment(Node):
    name: str
    description: str | None
    kind: SegmentKind

    @strawberry.field(
        description="The rule as stored (ContactFilter JSON, as sent); null for static segments. "
        "Pass it as `filter` to `contacts` for a direct evaluation. Without pii:read, the emails "
        "and phones in it are masked (`d***@example.com`), like everywhere else."
    )
    def rule(self, info: strawberry.Info) -> JSON | None:
        stored = self.row["rule"]
        return stored if info.context.principal.has(PII_READ) else mask_rule(stored)

    refreshed_at: datetime.datetime = strawberry.field(
        description="When the membership was last recomputed from the rule as a whole."
    )
    created_at: datetime.datetime
    updated_at: datetime.datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")

    @strawberry.field(description="How many contacts are members now.")
    async def size(self, info: strawberry.Info) -> int:
        return await queries.size(info.context.session, self.pk)

    @strawberry.field(
        description="The size at the end of each of the last `days` days, oldest first."
    )
    async def size_history(self, info: strawberry.Info, days: int = 30) -> list[SegmentSize]:
        found = await queries.size_history(info.context.session, self.pk, days)
        return [SegmentSize(date=d, size=n) for d, n in found]

    members = relation_field(
        "Segment",
        "members",
        ContactFilter,
        ContactOrder,
        ContactConnectionRef,
        "The contacts in the segment now; filter and order like `contacts`.",
    )
    included = relation_field(
        "Segment",
        "included",
        ContactFilter,
        ContactOrder,
        ContactConnectionRef,
        "Contacts always in the segment (a static segment's members), whatever the rule says.",
    )
    excluded = relation_field(
        "Segment",
        "excluded",
        ContactFilter,
        ContactOrder,
        ContactConnectionRef,
        "Contacts never in the segment, whatever the rule says.",
    )
    membership_changes = relation_field(
        "Segment",
        "membership_changes",
        SegmentMembershipChangeFilter,
        SegmentMembershipChangeOrder,
        Annotated["SegmentMembershipChangeConnection", strawberry.lazy("relasi.schema.segments")],
        "Every entry and exit, newest first.",
    )


@node_type
@strawberry.type(description="A contact entering or leaving a segment.")
class SegmentMembershipChange(Node):
    change: SegmentChange
    reason: SegmentChangeReason
    occurred_at: datetime.datetime

    contact = link_field(
        "Contact", "contact_id", ContactRef | None, "The contact (null once it is deleted)."
    )
    segment = link_field("Segment", "segment_id", Segment | None)


@strawberry.type
class SegmentConnection(Connection[Segment]):
    pass


@strawberry.type
class SegmentMembershipChangeConnection(Connection[SegmentMembershipChange]):
    pass


connection_of("Segment", SegmentConnection, Segment)
connection_of("SegmentMembershipChange", SegmentMembershipChangeConnection, SegmentMembershipChange)


def rule_of(data: dict[str, Any], typed: Any, raw: Any, prefix: str = "input") -> None:
    """Put the rule (typed `rule` or JSON `ruleJson`) in `data` as JSON, with the input field
    it came from (its errors are reported under it)."""
    data.pop("rule", None)
    data.pop("rule_json", None)
    given = [v not in (None, strawberry.UNSET) for v in (typed, raw)]
    if all(given):
        raise UserInputError.single(f"{prefix}.ruleJson", "Give rule or ruleJson, not both.")
    if given[0]:
        data["rule"], data["rule_field"] = filter_form.plain(typed), "rule"
    elif given[1]:
        data["rule"], data["rule_field"] = raw, "ruleJson"


@strawberry.input
class CreateSegmentInput:
    name: str
    description: str | None = None
    kind: SegmentKind | None = strawberry.field(
        default=None, description="Default: DYNAMIC with a rule, STATIC without."
    )
    rule: ContactFilter | None = strawberry.field(default=None, description=RULE_DESCRIPTION)
    rule_json: JSON | None = strawberry.field(default=None, description=RULE_JSON_DESCRIPTION)
    include: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Contacts always in (a static segment's members); at most 10,000.",
    )
    exclude: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Contacts never in (dynamic segments); at most 10,000."
    )


@strawberry.input(
    description="Fields left out stay as they are. A new rule recomputes the membership."
)
class UpdateSegmentInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    rule: ContactFilter | None = strawberry.field(
        default=strawberry.UNSET, description=RULE_DESCRIPTION
    )
    rule_json: JSON | None = strawberry.field(
        default=strawberry.UNSET, description=RULE_JSON_DESCRIPTION
    )


@strawberry.input
class SegmentIdInput:
    id: strawberry.ID


@strawberry.input
class SegmentContactsInput:
    segment_id: strawberry.ID
    contact_ids: list[strawberry.ID] = strawberry.field(description="At most 10,000.")


@strawberry.type
class SegmentPayload:
    segment: Segment | None = None
    user_errors: list[UserError]


@strawberry.type
class RefreshSegmentPayload:
    segment: Segment | None = None
    entered: int = strawberry.field(default=0, description="Contacts that entered.")
    exited: int = strawberry.field(default=0, description="Contacts that left.")
    user_errors: list[UserError]


@strawberry.type(description="What a rule would select, before it is saved.")
class SegmentPreview:
    count: int = 0
    contacts: list[ContactRef] = strawberry.field(
        default_factory=list, description="The first matching contacts, newest first."
    )
    user_errors: list[UserError]


def _segment(row: Any) -> dict[str, Any]:
    return {"segment": from_row(Segment, row)}


@strawberry.type
class SegmentQueries:
    segment = lookup_field(Segment)

    segments = list_field(
        "Segment", SegmentFilter, SegmentOrder, SegmentConnection, "The workspace's segments."
    )

    @strawberry.field(description="The size and first members of a rule, without saving it.")
    async def preview_segment(
        self,
        info: strawberry.Info,
        rule: Annotated[
            ContactFilter | None, strawberry.argument(description=RULE_DESCRIPTION)
        ] = None,
        rule_json: Annotated[
            JSON | None, strawberry.argument(description=RULE_JSON_DESCRIPTION)
        ] = None,
        first: int = 10,
    ) -> SegmentPreview:
        session = info.context.session
        data: dict[str, Any] = {}
        try:
            rule_of(data, rule, rule_json, prefix="")
            if "rule" not in data:
                raise UserInputError.single("rule", "Give rule or ruleJson.")
            parsed = await mutations.parse_preview(session, data["rule"], data["rule_field"])
        except UserInputError as e:
            errors = [dataclasses.replace(f, field=[p for p in f.field if p]) for f in e.errors]
            return SegmentPreview(user_errors=user_errors(errors))
        contact = entity("Contact")
        page = await loaders.root_page(session, contact, parsed.filter, None, PageArgs(first=first))
        count = await loaders.root_count(session, contact, parsed.filter)
        from relasi.schema.contacts import Contact  # contacts imports this module

        return SegmentPreview(
            count=count, contacts=[from_row(Contact, r) for r in page.rows], user_errors=[]
        )


def _overrides(info: strawberry.Info, input: SegmentContactsInput, action: str):
    return run_mutation(
        info,
        SegmentPayload,
        lambda s: mutations.set_overrides(s, provided(input), action),
        _segment,
    )


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(description="Create a segment and materialise its membership.")
    async def create_segment(
        self, info: strawberry.Info, input: CreateSegmentInput
    ) -> SegmentPayload:
        async def action(session):
            data = provided(input)
            rule_of(data, input.rule, input.rule_json)
            data["kind"] = input.kind.value if input.kind else None
            return await mutations.create_segment(session, data)

        return await run_mutation(info, SegmentPayload, action, _segment)

    @strawberry.mutation(
        description="Rename, describe, or change the rule (CONFLICT on a stale version)."
    )
    async def update_segment(
        self, info: strawberry.Info, input: UpdateSegmentInput
    ) -> SegmentPayload:
        async def action(session):
            data = provided(input)
            rule_of(data, input.rule, input.rule_json)
            pk = global_ids.decode(data.pop("id"), "Segment", field="input.id")
            return await mutations.update_segment(session, pk, data)

        return await run_mutation(info, SegmentPayload, action, _segment)

    @strawberry.mutation(description="Soft delete (refused while another segment reads it).")
    async def delete_segment(self, info: strawberry.Info, input: SegmentIdInput) -> DeletePayload:
        return await delete_by_id(info, "Segment", input.id, mutations.delete_segment)

    @strawberry.mutation(description="Bring a deleted segment back (its membership is recomputed).")
    async def restore_segment(self, info: strawberry.Info, input: SegmentIdInput) -> SegmentPayload:
        async def action(session):
            pk = global_ids.decode(input.id, "Segment", field="input.id")
            return await mutations.restore_segment(session, pk)

        return await run_mutation(info, SegmentPayload, action, _segment)

    @strawberry.mutation(
        description="Static segments: add members. Dynamic: always include these contacts."
    )
    async def add_to_segment(
        self, info: strawberry.Info, input: SegmentContactsInput
    ) -> SegmentPayload:
        return await _overrides(info, input, "INCLUDE")

    @strawberry.mutation(
        description="Static segments: remove members. Dynamic: always exclude these contacts."
    )
    async def remove_from_segment(
        self, info: strawberry.Info, input: SegmentContactsInput
    ) -> SegmentPayload:
        return await _overrides(info, input, "EXCLUDE")

    @strawberry.mutation(
        description="Dynamic segments: drop these contacts' inclusion or exclusion, so the rule "
        "decides again."
    )
    async def clear_segment_overrides(
        self, info: strawberry.Info, input: SegmentContactsInput
    ) -> SegmentPayload:
        return await _overrides(info, input, "CLEAR")

    @strawberry.mutation(
        description="Recompute the membership from the rule as a whole; safe while writes go on."
    )
    async def refresh_segment(
        self, info: strawberry.Info, input: SegmentIdInput
    ) -> RefreshSegmentPayload:
        async def action(session):
            pk = global_ids.decode(input.id, "Segment", field="input.id")
            return await mutations.refresh_segment(session, pk)

        return await run_mutation(
            info,
            RefreshSegmentPayload,
            action,
            lambda r: {"segment": from_row(Segment, r[0]), "entered": r[1], "exited": r[2]},
        )
