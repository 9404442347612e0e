"""Actions: what a workflow does, in order. Checked when the workflow is saved, every problem
at its input path (`input.actions.1.createTask.title`), templates included; run by steps.py.

Kinds (`WorkflowActionInput`, one per action), and the outputs later steps' templates read:
- `updateRecord {target, fields}`: set fields of the record, or of a to-one related record
  (`target: "account"`); values may hold templates (fields.py lists the fields per record
  type). Output: `record.id`.
- `assignOwner {member | roundRobin | leastLoaded}`: a fixed member, or the next / the least
  loaded ACTIVE member of a role. Output: `owner.id`, `owner.name`, `owner.email`.
- `createTask {title, description, dueInMinutes, priority, assigneeId}`: for the assignee,
  else the record's owner. Output: `task.id`, `task.title`.
- `createCase {subject, description, priority}`: linked to the record's contact / account.
  Output: `case.id`, `case.subject`.
- `addNote {body}`: on the record's timeline. Output: `note.id`.
- `addToSegment` / `removeFromSegment {segmentId}`: a static segment, the record's contact.
  Output: `segment.id`.
- `moveDealStage {stage}`: by PipelineStage id or name. Output: `stage.id`, `stage.name`.
- `sendWebhook {endpointId, payload}`: a signed POST to a webhook endpoint. Output:
  `webhook.statusCode`.
- `branch {condition, then, else}`: the actions of `then` if the record passes the condition,
  else those of `else`. Output: `branch.taken` (THEN or ELSE).
- `wait {minutes | until | condition + timeoutMinutes}`: continue later. Output:
  `wait.resumedBy` (TIME, CONDITION or TIMEOUT).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relasi.auth.pii import PII_READ
from relasi.auth.principal import Principal
from relasi.auth.scopes import Role
from relasi.errors import AppError, ErrorCode, Forbidden
from relasi.resolvers import filter_form, global_ids
from relasi.resolvers.enums import CasePriority
from relasi.resolvers.model import entity
from relasi.resolvers.predicates import Params, compile_filter
from relasi.resolvers.validation import LONG_TEXT, NAME, SUBJECT, Checker
from relasi.resolvers.workflows import fields, tasks_bridge, templates

MAX_ACTIONS = 50  # in all, branches included
MAX_NESTING = 5
MAX_WAIT_MINUTES = 366 * 24 * 60
MAX_DUE_MINUTES = 366 * 24 * 60
MAX_PAYLOAD_BYTES = 16_384

OUTPUTS: dict[str, frozenset[str]] = {
    "updateRecord": frozenset({"record.id"}),
    "assignOwner": frozenset({"owner.id", "owner.name", "owner.email"}),
    "createTask": frozenset({"task.id", "task.title"}),
    "createCase": frozenset({"case.id", "case.subject"}),
    "addNote": frozenset({"note.id"}),
    "addToSegment": frozenset({"segment.id"}),
    "removeFromSegment": frozenset({"segment.id"}),
    "moveDealStage": frozenset({"stage.id", "stage.name"}),
    "sendWebhook": frozenset({"webhook.statusCode"}),
    "branch": frozenset({"branch.taken"}),
    "wait": frozenset({"wait.resumedBy"}),
}
KINDS = tuple(OUTPUTS)


def condition(
    check: Checker, principal: Principal, record_type: str, value: Any, at: str
) -> dict[str, Any] | None:
    """A WorkflowCondition ({deal: DealFilter}) in plain form, checked: its key must be the
    workflow's record type, the filter must compile for the workflow's owner."""
    if value is None:
        return None
    key = templates.var_name(record_type)
    if not isinstance(value, dict) or list(value) != [key]:
        check.error(at, f"Give the condition as {{{key}: {record_type}Filter}}.")
        return None
    path = [*check.prefix, *at.split("."), key]
    found, errors = filter_form.parse_all(record_type, value[key], path)
    if errors:
        check.errors.extend(errors)
        return None
    try:
        compile_filter(entity(record_type), found, "t", Params(pii=principal.has(PII_READ)))
    except Forbidden as e:
        check.error(f"{at}.{key}", e.message, code=ErrorCode.FORBIDDEN)
        return None
    return value


class ActionChecker:
    """Checks a workflow's actions in order, knowing which steps come before each one (for
    `steps.` templates) and what the workspace has (segments, stages, members, endpoints)."""

    def __init__(
        self, check: Checker, principal: Principal, record_type: str, known: dict[str, Any]
    ) -> None:
        self.check = check
        self.principal = principal
        self.record_type = record_type
        self.known = known  # "segments": {id: kind}, "stages": [...], "members", "endpoints"
        self.count = 0

    def all(
        self,
        actions: Any,
        at: str = "actions",
        prefix: str = "",
        depth: int = 0,
        earlier: dict[str, frozenset[str]] | None = None,
    ) -> dict[str, frozenset[str]]:
        """Check a list of actions; returns the outputs known after it (for what follows)."""
        earlier = dict(earlier or {})
        if not isinstance(actions, list):
            self.check.error(at, "Expected a list of actions.")
            return earlier
        if depth == 0 and not actions:
            self.check.error(at, "Give at least one action.")
        if depth > MAX_NESTING:
            self.check.error(at, f"Branches nest at most {MAX_NESTING} deep.")
            return earlier
        for i, action in enumerate(actions):
            self.count += 1
            if self.count > MAX_ACTIONS:
                self.check.error(at, f"At most {MAX_ACTIONS} actions in a workflow.")
                return earlier
            path = f"{prefix}{i}"
            if not isinstance(action, dict) or len(action) != 1 or next(iter(action)) not in KINDS:
                self.check.error(f"{at}.{i}", f"Give exactly one of {', '.join(KINDS)}.")
                continue
            kind, spec = next(iter(action.items()))
            where = f"{at}.{i}.{kind}"
            if not isinstance(spec, dict):
                self.check.error(where, "Expected an object.")
                continue
            if kind == "branch":
                condition(
                    self.check,
                    self.principal,
                    self.record_type,
                    spec.get("condition"),
                    f"{where}.condition",
                )
                if spec.get("condition") is None:
                    self.check.error(f"{where}.condition", "A branch needs a condition.")
                for arm in ("then", "else"):
                    # an arm's steps see what ran before the branch, not each other's arm
                    earlier.update(
                        self.all(
                            spec.get(arm) or [],
                            f"{where}.{arm}",
                            f"{path}.{arm}.",
                            depth + 1,
                            earlier,
                        )
                    )
            else:
                getattr(self, "_" + kind)(where, spec, earlier)
            earlier[path] = OUTPUTS[kind]
        return earlier

    # --- helpers ------------------------------------------------------------------------------

    def _text(self, at: str, spec: dict, name: str, limit: int, earlier, *, required=False):
        value = spec.get(name)
        if value is not None and not isinstance(value, str):
            self.check.error(f"{at}.{name}", "Expected text.")
            return
        self.check.text(f"{at}.{name}", value, limit, required=required)
        if value:
            self._templates(f"{at}.{name}", value, earlier)

    def _templates(self, at: str, text: str, earlier) -> None:
        templates.parse(text, self.record_type, earlier, lambda m: self.check.error(at, m))

    def _id(self, at: str, value: Any, type_name: str) -> Any:
        try:
            return global_ids.decode(value if isinstance(value, str) else "", type_name, field=at)
        except AppError:
            self.check.error(at, f"Expected a {type_name} id.")
            return None

    def _needs(self, at: str, *types: str) -> bool:
        if self.record_type in types:
            return True
        self.check.error(
            at, f"Only workflows of {' or '.join(t.upper() for t in types)} records can do this."
        )
        return False

    # --- kinds --------------------------------------------------------------------------------

    def _updateRecord(self, at: str, spec: dict, earlier) -> None:
        target_type = self.record_type
        target = spec.get("target")
        if target is not None:
            rel = templates.to_one(entity(self.record_type)).get(target)
            if rel is None or rel.target not in fields.UPDATABLE:
                names = [
                    n
                    for n, r in templates.to_one(entity(self.record_type)).items()
                    if r.target in fields.UPDATABLE
                ]
                self.check.error(
                    f"{at}.target",
                    f"{self.record_type} has no related record {str(target)[:100]!r} to update (one of: {', '.join(names) or 'none'}).",
                )
                return
            target_type = rel.target
        allowed = fields.UPDATABLE.get(target_type, {})
        given = spec.get("fields")
        if not isinstance(given, dict) or not given:
            self.check.error(
                f"{at}.fields", 'Give an object of fields to set, e.g. {leadRating: "HOT"}.'
            )
            return
        for name, value in given.items():
            # no field's name is long: a longer key is named by its object, not echoed
            where = f"{at}.fields.{name}" if len(name) <= 100 else f"{at}.fields"
            if name not in allowed:
                self.check.error(
                    where,
                    f"{target_type} has no field {name[:100]!r} a workflow can set (one of: {', '.join(allowed)}).",
                )
                continue
            self._field_value(where, allowed[name][1], value, earlier)

    def _field_value(self, at: str, kind: str, value: Any, earlier) -> None:
        if value is None:
            return  # clears it
        if isinstance(value, str) and templates.has_templates(value):
            self._templates(at, value, earlier)
            return
        if kind in ("money", "attributes"):
            for text in templates.texts_in(value):
                if templates.has_templates(text):
                    self._templates(at, text, earlier)
            if kind == "attributes":
                self.check.json_object(at, value)  # as the contact and account mutations do
            else:
                fields.money(self.check, at, value, templated=True)
            return
        problem = fields.literal_problem(kind, value)
        if problem:
            self.check.error(at, problem)

    def _assignOwner(self, at: str, spec: dict, earlier) -> None:
        given = [k for k in ("member", "roundRobin", "leastLoaded") if spec.get(k) is not None]
        if len(given) != 1:
            self.check.error(at, "Give exactly one of member, roundRobin or leastLoaded.")
            return
        if "owner" not in templates.to_one(entity(self.record_type)):
            self.check.error(at, f"{self.record_type} records have no owner.")
            return
        if given[0] == "member":
            pk = self._id(f"{at}.member", spec["member"], "Member")
            if pk is not None and pk not in self.known["members"]:
                self.check.error(f"{at}.member", "No active member with this id.")
        elif spec[given[0]] not in Role.__members__:
            self.check.error(f"{at}.{given[0]}", f"One of {', '.join(Role.__members__)}.")

    def _createTask(self, at: str, spec: dict, earlier) -> None:
        self._text(at, spec, "title", NAME, earlier, required=True)
        self._text(at, spec, "description", LONG_TEXT, earlier)
        due = spec.get("dueInMinutes")
        if due is not None and not (isinstance(due, int) and 0 <= due <= MAX_DUE_MINUTES):
            self.check.error(f"{at}.dueInMinutes", f"Between 0 and {MAX_DUE_MINUTES}.")
        problem = tasks_bridge.priority_problem(spec.get("priority"))
        if problem:
            self.check.error(f"{at}.priority", problem)
        if spec.get("assigneeId") is not None:
            pk = self._id(f"{at}.assigneeId", spec["assigneeId"], "Member")
            if pk is not None and pk not in self.known["members"]:
                self.check.error(f"{at}.assigneeId", "No active member with this id.")
        elif not {"owner", "assignee"} & set(templates.to_one(entity(self.record_type))):
            self.check.error(f"{at}.assigneeId", "These records have no owner: give an assignee.")

    def _createCase(self, at: str, spec: dict, earlier) -> None:
        self._text(at, spec, "subject", SUBJECT, earlier, required=True)
        self._text(at, spec, "description", LONG_TEXT, earlier)
        priority = spec.get("priority")
        if priority is not None and priority not in CasePriority.__members__:
            self.check.error(f"{at}.priority", f"One of {', '.join(CasePriority.__members__)}.")

    def _addNote(self, at: str, spec: dict, earlier) -> None:
        if self._needs(at, "Contact", "Account", "Deal", "Case"):
            self._text(at, spec, "body", LONG_TEXT, earlier, required=True)

    def _segment(self, at: str, spec: dict) -> None:
        if not self._needs(at, "Contact", "Case"):
            return
        pk = self._id(f"{at}.segmentId", spec.get("segmentId"), "Segment")
        if pk is None:
            return
        kind = self.known["segments"].get(pk)
        if kind is None:
            self.check.error(f"{at}.segmentId", "No segment with this id.")
        elif kind != "STATIC":
            self.check.error(
                f"{at}.segmentId",
                "Workflows add to and remove from STATIC segments (a dynamic segment's rule decides its members).",
            )

    def _addToSegment(self, at: str, spec: dict, earlier) -> None:
        self._segment(at, spec)

    def _removeFromSegment(self, at: str, spec: dict, earlier) -> None:
        self._segment(at, spec)

    def _moveDealStage(self, at: str, spec: dict, earlier) -> None:
        if not self._needs(at, "Deal"):
            return
        stage = spec.get("stage")
        if not isinstance(stage, str) or not stage.strip():
            self.check.error(f"{at}.stage", "Give a PipelineStage id or a stage name.")
            return
        stages = self.known["stages"]
        if any(s["name"].lower() == stage.strip().lower() for s in stages):
            return
        try:
            pk = global_ids.decode(stage, "PipelineStage", field=f"{at}.stage")
        except AppError:
            pk = None
        if pk is None or all(s["id"] != pk for s in stages):
            self.check.error(f"{at}.stage", f"No pipeline stage named or with id {stage[:100]!r}.")

    def _sendWebhook(self, at: str, spec: dict, earlier) -> None:
        pk = self._id(f"{at}.endpointId", spec.get("endpointId"), "WebhookEndpoint")
        if pk is not None and pk not in self.known["endpoints"]:
            self.check.error(f"{at}.endpointId", "No webhook endpoint with this id.")
        payload = spec.get("payload")
        if payload is not None:
            obj = self.check.json_object(f"{at}.payload", payload)
            if obj is not None and len(str(obj)) <= MAX_PAYLOAD_BYTES:
                for text in templates.texts_in(obj):
                    self._templates(f"{at}.payload", text, earlier)

    def _wait(self, at: str, spec: dict, earlier) -> None:
        given = [k for k in ("minutes", "until", "condition") if spec.get(k) is not None]
        if len(given) != 1:
            self.check.error(at, "Give exactly one of minutes, until or condition.")
            return
        timeout = spec.get("timeoutMinutes")
        if given[0] == "minutes":
            minutes = spec["minutes"]
            if not (isinstance(minutes, int) and 1 <= minutes <= MAX_WAIT_MINUTES):
                self.check.error(f"{at}.minutes", f"Between 1 and {MAX_WAIT_MINUTES}.")
        elif given[0] == "until":
            try:
                datetime.fromisoformat(str(spec["until"]))
            except ValueError:
                self.check.error(f"{at}.until", "Expected an ISO 8601 date-time.")
        else:
            condition(
                self.check, self.principal, self.record_type, spec["condition"], f"{at}.condition"
            )
            if not (isinstance(timeout, int) and 1 <= timeout <= MAX_WAIT_MINUTES):
                self.check.error(
                    f"{at}.timeoutMinutes",
                    f"Waiting for a condition needs timeoutMinutes, 1 to {MAX_WAIT_MINUTES}.",
                )
            return
        if timeout is not None:
            self.check.error(f"{at}.timeoutMinutes", "Only a wait for a condition takes a timeout.")
