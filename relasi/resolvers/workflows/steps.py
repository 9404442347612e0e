"""Executing one action of a run: its templates rendered, then the same resolver the GraphQL
mutation calls (so the change log, segments, webhooks and the audit log see the write), in
the step's transaction (engine.py). Each returns the step's output (read by later steps'
templates, shown in workflowRuns) or an engine.Suspend.

In a dry run (`testWorkflow`) the same code runs inside a savepoint that is rolled back, except
what would leave the database: a webhook is not sent and a wait does not pause.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from relasi.auth.pii import PII_READ
from relasi.errors import AppError
from relasi.resolvers import (
    accounts,
    cases,
    contacts,
    deals,
    filter_form,
    global_ids,
    timeline,
)
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.segments import mutations as segment_mutations
from relasi.resolvers.session import Session
from relasi.resolvers.tasks import writes as task_writes
from relasi.resolvers.validation import Checker
from relasi.resolvers.workflows import engine, fields, tasks_bridge, templates
from relasi.settings import Settings

_UPDATE: dict[str, Callable[[Session, UUID, dict[str, Any]], Awaitable[Any]]] = {
    "Contact": contacts.update_contact,
    "Account": accounts.update_account,
    "Deal": deals.update_deal,
    "Case": cases.update_case,
    "Task": task_writes.update,
}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def passes(session: Session, run: Any, condition: dict[str, Any] | None) -> bool:
    """Does the run's record pass a WorkflowCondition, as it is now (deleted or not)?"""
    if not condition:
        return True
    record_type = run["record_type"]
    parsed = filter_form.parse(record_type, next(iter(condition.values())), ["condition"])
    params = Params(run["workspace_id"], run["record_id"], pii=session.principal.has(PII_READ))
    sql = compile_filter(entity(record_type), parsed, "t", params)
    return await session.fetchval(
        f"SELECT EXISTS (SELECT FROM {entity(record_type).table} t"
        f" WHERE t.workspace_id = $1 AND t.id = $2 AND {sql})",
        *params.values,
    )


async def _values(session: Session, run: Any, spec: Any, done: dict[str, dict]) -> dict[str, str]:
    """Every template of `spec` -> its text for this run."""
    earlier = {path: frozenset(out) for path, out in done.items()}
    refs = [
        ref
        for text in templates.texts_in(spec)
        for ref in templates.parse(text, run["record_type"], earlier, lambda _: None)
    ]
    paths = [ref.record_path for ref in refs if ref.record_path]
    found = await templates.record_values(
        session, session.principal, run["record_type"], run["record_id"], paths
    )
    values = {}
    for ref in refs:
        if ref.record_path:
            values[ref.text] = found[ref.record_path]
        else:
            out = done[ref.step].get(ref.key)
            values[ref.text] = "" if out is None else str(out)
    return values


async def run_step(
    session: Session,
    settings: Settings,
    run: Any,
    step: tuple[str, str, dict[str, Any]],
    done: dict[str, dict[str, Any]],
    *,
    dry: bool = False,
) -> tuple[dict[str, Any], Any]:
    """(the action as rendered, its output or a Suspend) of `step` (path, kind, spec)."""
    path, kind, spec = step
    rendered = templates.render_json(spec, await _values(session, run, spec, done))
    executor = _Step(session, settings, run, path, dry=dry)
    return rendered, await getattr(executor, kind)(rendered)


def _gid(type_name: str, pk: UUID | None) -> str | None:
    return global_ids.encode(type_name, pk) if pk is not None else None


class _Step:
    def __init__(
        self, session: Session, settings: Settings, run: Any, path: str, *, dry: bool
    ) -> None:
        self.session = session
        self.settings = settings
        self.run = run
        self.path = path
        self.dry = dry
        self.record_type: str = run["record_type"]
        self.record_id: UUID = run["record_id"]

    async def _row(self, type_name: str, pk: UUID) -> Any:
        row = await self.session.fetchrow(
            f"SELECT * FROM {entity(type_name).table} WHERE workspace_id = $1 AND id = $2",
            self.session.workspace_id,
            pk,
        )
        if row is None:
            raise AppError(f"The {type_name} {_gid(type_name, pk)} no longer exists.")
        return row

    async def _contact(self) -> UUID:
        if self.record_type == "Contact":
            return self.record_id
        contact = (await self._row(self.record_type, self.record_id))["contact_id"]
        if contact is None:
            raise AppError(f"The {self.record_type.lower()} has no contact.")
        return contact

    # --- kinds --------------------------------------------------------------------------------

    async def updateRecord(self, spec: dict[str, Any]) -> dict[str, Any]:
        type_name, pk = self.record_type, self.record_id
        if spec.get("target"):
            rel = templates.to_one(entity(type_name))[spec["target"]]
            pk = (await self._row(type_name, pk))[rel.local]
            if pk is None:
                raise AppError(f"The {type_name.lower()} has no {spec['target']} to update.")
            type_name = rel.target
        allowed = fields.UPDATABLE[type_name]
        data: dict[str, Any] = {}
        for name, value in spec["fields"].items():
            key, kind = allowed[name]
            if kind == "attributes":
                data[key] = await self._attributes(type_name, pk, value)
            else:
                data[key] = _typed(name, kind, value)
        await _UPDATE[type_name](self.session, pk, data)
        return {"record.id": _gid(type_name, pk)}

    async def _attributes(self, type_name: str, pk: UUID, given: dict | None) -> dict:
        """The record's custom attributes with the given keys set (a null removes its key):
        locked, so two runs setting different keys of one record keep both."""
        current = await self.session.fetchval(
            f"SELECT custom_attributes FROM {entity(type_name).table}"
            " WHERE workspace_id = $1 AND id = $2 FOR UPDATE",
            self.session.workspace_id,
            pk,
        )
        merged = {**_json(current or {}), **(given or {})}
        return {k: v for k, v in merged.items() if v is not None}

    async def assignOwner(self, spec: dict[str, Any]) -> dict[str, Any]:
        ws = self.session.workspace_id
        if spec.get("member"):
            member = await self.session.fetchrow(
                "SELECT id, name, email FROM members WHERE workspace_id = $1 AND id = $2"
                " AND status = 'ACTIVE'",
                ws,
                global_ids.decode(spec["member"], "Member"),
            )
            if member is None:
                raise AppError("The member to assign is no longer active.")
        elif spec.get("roundRobin"):
            member = await self._round_robin(spec["roundRobin"])
        else:
            member = await self.session.fetchrow(
                f"""SELECT m.id, m.name, m.email FROM members m
                     WHERE m.workspace_id = $1 AND m.role = $2 AND m.status = 'ACTIVE'
                     ORDER BY (SELECT count(*) FROM {entity(self.record_type).table} t
                                WHERE t.workspace_id = m.workspace_id AND t.owner_id = m.id
                                  AND t.deleted_at IS NULL), m.id LIMIT 1""",
                ws,
                spec["leastLoaded"],
            )
        if member is None:
            role = spec.get("roundRobin") or spec.get("leastLoaded")
            raise AppError(f"No active member has the role {role}.")
        await _UPDATE[self.record_type](
            self.session, self.record_id, {"owner_id": _gid("Member", member["id"])}
        )
        return {
            "owner.id": _gid("Member", member["id"]),
            "owner.name": member["name"],
            "owner.email": member["email"],
        }

    async def _round_robin(self, role: str) -> Any:
        """The active member of `role` after the one this step gave the last record to (by
        id, wrapping round)."""
        ws, wf = self.session.workspace_id, self.run["workflow_id"]
        # the step's turn: runs of one step assign one after the other (the row may not exist)
        await self.session.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('workflows.assign:' || $1 || $2, 0))",
            str(wf),
            self.path,
        )
        last = await self.session.fetchval(
            "SELECT last_member_id FROM workflow_assignments"
            " WHERE workspace_id = $1 AND workflow_id = $2 AND path = $3",
            ws,
            wf,
            self.path,
        )
        member = await self.session.fetchrow(
            """SELECT id, name, email FROM members
                WHERE workspace_id = $1 AND role = $2 AND status = 'ACTIVE'
                ORDER BY id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid) DESC,
                         id LIMIT 1""",
            ws,
            role,
            last,
        )
        if member is not None:
            await self.session.execute(
                """INSERT INTO workflow_assignments (workspace_id, workflow_id, path, last_member_id)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, workflow_id, path)
                   DO UPDATE SET last_member_id = EXCLUDED.last_member_id""",
                ws,
                wf,
                self.path,
                member["id"],
            )
        return member

    async def createTask(self, spec: dict[str, Any]) -> dict[str, Any]:
        row = await self._row(self.record_type, self.record_id)
        return await tasks_bridge.create(self.session, self.run, self.path, spec, row)

    async def createCase(self, spec: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {"subject": spec["subject"], "description": spec.get("description")}
        if spec.get("priority"):
            data["priority"] = fields.enum_of("enum:CasePriority")[spec["priority"]]
        row = await self._row(self.record_type, self.record_id)
        if self.record_type in ("Contact", "Account"):
            data[f"{self.record_type.lower()}_id"] = _gid(self.record_type, self.record_id)
        for column, target in (("contact_id", "Contact"), ("account_id", "Account")):
            if row.get(column) is not None:
                data.setdefault(column, _gid(target, row[column]))
        case = await cases.create_case(self.session, data)
        return {"case.id": _gid("Case", case["id"]), "case.subject": case["subject"]}

    async def addNote(self, spec: dict[str, Any]) -> dict[str, Any]:
        column = f"{self.record_type.lower()}_id"
        note = await timeline.add_note(
            self.session, {"body": spec["body"], column: _gid(self.record_type, self.record_id)}
        )
        return {"note.id": _gid("NoteEvent", note["id"])}

    async def _segment(self, spec: dict[str, Any], action: str) -> dict[str, Any]:
        contact = await self._contact()
        await segment_mutations.set_overrides(
            self.session,
            {"segment_id": spec["segmentId"], "contact_ids": [_gid("Contact", contact)]},
            action,
        )
        return {"segment.id": spec["segmentId"]}

    async def addToSegment(self, spec: dict[str, Any]) -> dict[str, Any]:
        return await self._segment(spec, "INCLUDE")

    async def removeFromSegment(self, spec: dict[str, Any]) -> dict[str, Any]:
        return await self._segment(spec, "EXCLUDE")

    async def moveDealStage(self, spec: dict[str, Any]) -> dict[str, Any]:
        deal = await self._row("Deal", self.record_id)
        wanted = spec["stage"].strip()
        try:
            stage_pk = global_ids.decode(wanted, "PipelineStage")
            stage = await self.session.fetchrow(
                "SELECT id, name FROM pipeline_stages WHERE workspace_id = $1 AND id = $2",
                self.session.workspace_id,
                stage_pk,
            )
        except AppError:  # a name: the deal's own pipeline's stage of that name first
            stage = await self.session.fetchrow(
                """SELECT id, name FROM pipeline_stages
                    WHERE workspace_id = $1 AND lower(name) = lower($2)
                    ORDER BY pipeline_id = $3 DESC, id LIMIT 1""",
                self.session.workspace_id,
                wanted,
                deal["pipeline_id"],
            )
        if stage is None:
            raise AppError(f"No pipeline stage {wanted!r}.")
        await deals.move_deal_stage(
            self.session, self.record_id, {"stage_id": _gid("PipelineStage", stage["id"])}
        )
        return {"stage.id": _gid("PipelineStage", stage["id"]), "stage.name": stage["name"]}

    async def sendWebhook(self, spec: dict[str, Any]) -> dict[str, Any]:
        from relasi.resolvers.webhooks import background, sender

        endpoint = await self.session.fetchrow(
            "SELECT * FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2",
            self.session.workspace_id,
            global_ids.decode(spec["endpointId"], "WebhookEndpoint"),
        )
        if endpoint is None or not endpoint["enabled"]:
            raise AppError("The webhook endpoint is gone or disabled.")
        # the same webhook-id on every try of this step: receivers dedupe on it
        msg = uuid.uuid5(self.run["id"], self.path)
        body = json.dumps(
            {
                "type": "workflow.action",
                "timestamp": datetime.now(UTC).isoformat(),
                "data": {
                    "workflowId": _gid("Workflow", self.run["workflow_id"]),
                    "runId": _gid("WorkflowRun", self.run["id"]),
                    "step": self.path,
                    "recordId": _gid(self.record_type, self.record_id),
                    "payload": spec.get("payload") or {},
                },
            }
        )
        if self.dry:
            return {"webhook.statusCode": None, "wouldSend": json.loads(body)}
        config = background.config_of(self.settings)
        claimed = {**dict(endpoint), "endpoint_id": endpoint["id"], "id": msg, "body": body}
        async with sender.Sender(config) as send:
            outcome = await send.post(claimed)
        code = outcome.status_code
        if code is not None and 200 <= code < 300:
            return {"webhook.statusCode": code}
        if code is not None and 400 <= code < 500 and code not in (408, 429):
            raise AppError(f"The receiver refused the webhook: HTTP {code}.")
        raise engine.Transient(outcome.error or f"HTTP {code}")

    async def wait(self, spec: dict[str, Any]) -> Any:
        now = datetime.now(UTC)
        if spec.get("minutes") is not None:
            until = now + timedelta(minutes=spec["minutes"])
        elif spec.get("until") is not None:
            until = datetime.fromisoformat(spec["until"])
            until = until if until.tzinfo else until.replace(tzinfo=UTC)
        else:
            until = now + timedelta(minutes=spec["timeoutMinutes"])
        detail = {"wait.until": until.isoformat()}
        if self.dry:
            return {**detail, "wait.resumedBy": "TIME" if not spec.get("condition") else None}
        return engine.Suspend(until=until, condition=spec.get("condition"), detail=detail)

    async def branch(self, spec: dict[str, Any]) -> dict[str, Any]:
        taken = await passes(self.session, self.run, spec["condition"])
        return {"branch.taken": "THEN" if taken else "ELSE"}


def _typed(name: str, kind: str, value: Any) -> Any:
    """A rendered field value as the update resolver takes it; AppError if it cannot be."""
    if value is None or value == "":
        return None
    if kind == "money":
        check = Checker("fields")
        money = fields.money(check, name, value)
        check.raise_if_any()
        return money
    problem = fields.literal_problem(kind, _coerced(kind, value))
    if problem:
        raise AppError(f"{name}: {problem}")
    value = _coerced(kind, value)
    if kind.startswith("enum:"):
        return fields.enum_of(kind)[value]
    if kind == "date":
        return date.fromisoformat(value)
    return value


def _coerced(kind: str, value: Any) -> Any:
    if kind == "int" and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value
