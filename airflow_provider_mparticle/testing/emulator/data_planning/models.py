"""Data Planning API: data plans, plan versions, batch validation and the documented rate limit.

Implements https://docs.mparticle.com/developers/apis/dataplanning-api/ and mParticle's OpenAPI spec:

- plans and versions under ``/platform/v2/workspaces/{workspace_id}/plans`` with the documented answers
  (200 with the plan or version, 204 on delete, the spec's not-found messages, the spec's refusals to
  delete the last version or a version active in production);
- the plan list leaves out ``version_document`` (as the page says);
- 3000 GET / POST / PATCH requests per minute per account (DELETE is not counted: the page lists the
  three methods), answered 429 with ``Retry-After``; the window follows the emulator's clock. The
  emulator serves one account, so the 6000 per organisation limit is never reached first.

Batch validation (``POST /plans/validate``) is a faithful but bounded version of mParticle's:

- checked: custom events (matched on ``event_name`` + ``custom_event_type``), screen views
  (``screen_name``), commerce events (product action, promotion action, product impressions); an event
  with no matching data point is ``unplanned``; a matched event's ``{"data": ...}`` is validated with the
  data point's JSON Schema (draft 2019-09), mapped to ``missing_required`` (``required``), ``unplanned``
  (``additionalProperties`` / ``unevaluatedProperties``) and ``invalid_value`` (``type``, ``enum``,
  ``pattern``, ranges, ...). Types are JSON types: ``"12"`` is not a number.
- not checked: user attributes and user identities data points, other event types (session start,
  ...), plan-level blocking settings (``action_expected`` is never set) and transformations.

Control plane: ``GET/POST /_emulator/data-planning/config`` (``requests_per_minute``,
``max_data_points_per_plan``) and ``GET /_emulator/data-planning/plans``.
"""

from __future__ import annotations

import ast
import copy
import json
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError, bad_request
from airflow_provider_mparticle.testing.emulator.state import iso

if TYPE_CHECKING:
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState


BASE = "/platform/v2/workspaces/{workspace_id}/plans"


CONTROL = "/_emulator/data-planning"


ENVIRONMENTS = {"none", "development", "production"}


MATCH_TYPES = {
    "unknown", "screen_view", "custom_event", "user_attributes", "user_identities", "product_action",
    "promotion_action", "product_impression",
}  # fmt: skip


UNSUPPORTED_KEYWORDS = {
    "$ref", "$recursiveRef", "$recursiveAnchor", "patternProperties", "allOf", "anyOf", "oneOf", "if",
    "not", "else", "then", "dependencies", "dependentRequired", "dependentSchemas",
}  # fmt: skip


BATCH_ENVIRONMENTS = {"unknown", "development", "production"}


COUNTED_METHODS = {"GET", "POST", "PATCH"}


WINDOW_SECONDS = 60.0


class SchemaErrors(EmulatorHTTPError):
    """400 with the spec's ``SchemaErrorList`` body: one entry per data point at fault."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(400, [e["message"] for e in errors])
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"errors": self.errors}


def plan_not_found(plan_id: str, workspace_id: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        404, f"The specified plan ID {plan_id} in workspace {workspace_id} was not found."
    )


def version_not_found(plan_id: str, version: Any, workspace_id: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        404,
        f"The specified version {version} in plan ID {plan_id} was not found in workspace {workspace_id}.",
    )


@dataclass
class DataPlanningConfig:
    """Knobs of this API, changed through ``/_emulator/data-planning/config``.

    :param requests_per_minute: the per-account limit on GET / POST / PATCH requests (mParticle: 3000).
    :param max_data_points_per_plan: refuse documents with more data points (0: no limit; mParticle's
        value is not documented).
    """

    requests_per_minute: int = 3000
    max_data_points_per_plan: int = 0


@dataclass
class StoredVersion:
    version: int
    document: dict[str, Any]
    description: str | None
    environment: str
    created_on: float
    created_by: str
    last_modified_on: float | None = None
    last_modified_by: str | None = None
    quarantine_feed_id: int | None = None

    def as_json(self, plan_id: str, with_document: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"version": self.version, "data_plan_id": plan_id}
        if self.description is not None:
            body["version_description"] = self.description
        body["activated_environment"] = self.environment
        body["created_on"] = iso(self.created_on)
        body["created_by"] = self.created_by
        if self.last_modified_on is not None:
            body["last_modified_on"] = iso(self.last_modified_on)
            body["last_modified_by"] = self.last_modified_by
        if with_document:
            body["version_document"] = copy.deepcopy(self.document)
        return body


@dataclass
class StoredPlan:
    plan_id: str
    name: str
    description: str | None
    created_on: float
    created_by: str
    versions: dict[int, StoredVersion] = field(default_factory=dict)
    last_modified_on: float | None = None
    last_modified_by: str | None = None

    def as_json(self, with_documents: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"data_plan_id": self.plan_id, "data_plan_name": self.name}
        if self.description is not None:
            body["data_plan_description"] = self.description
        body["data_plan_versions"] = [
            self.versions[n].as_json(self.plan_id, with_documents) for n in sorted(self.versions)
        ]
        body["created_on"] = iso(self.created_on)
        body["created_by"] = self.created_by
        if self.last_modified_on is not None:
            body["last_modified_on"] = iso(self.last_modified_on)
            body["last_modified_by"] = self.last_modified_by
        return body


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.strip().lower()).strip("_")


def _match_key(match: dict[str, Any]) -> str:
    return json.dumps({"type": match.get("type"), "criteria": match.get("criteria") or {}}, sort_keys=True)


def _keywords(node: Any, pointer: str) -> list[tuple[str, str]]:
    """Unsupported keywords in a JSON Schema, with their pointers (attribute names are not keywords)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in UNSUPPORTED_KEYWORDS:
                found.append((key, f"{pointer}/{key}"))
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    found += _keywords(sub, f"{pointer}/properties/{name}")
            else:
                found += _keywords(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _keywords(item, f"{pointer}/{index}")
    return found


class DataPlanningBackend:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.plans: dict[str, StoredPlan] = {}
        self.config = DataPlanningConfig()
        self.window: deque[float] = deque()

    def reset(self) -> None:
        self.plans.clear()
        self.config = DataPlanningConfig()
        self.window.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "plans": [asdict(plan) for plan in self.plans.values()]}

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()
        self.config = DataPlanningConfig(**(data.get("config") or {}))
        for item in data.get("plans") or []:
            # JSON object keys are strings; version numbers are ints.
            versions = {int(k): StoredVersion(**v) for k, v in (item.pop("versions", None) or {}).items()}
            plan = StoredPlan(**item, versions=versions)
            self.plans[plan.plan_id] = plan

    @property
    def actor(self) -> str:
        return f"client_id:{self.state.settings.client_id}"

    # --- rate limit -------------------------------------------------------------------------------

    def take(self, method: str) -> float | None:
        """Count one request; returns the percentage of the limit used, or raises 429."""
        if method.upper() not in COUNTED_METHODS:
            return None
        now = self.state.clock.now()
        while self.window and self.window[0] <= now - WINDOW_SECONDS:
            self.window.popleft()
        limit = max(1, self.config.requests_per_minute)
        if len(self.window) >= limit:
            wait = max(1, math.ceil(self.window[0] + WINDOW_SECONDS - now))
            raise EmulatorHTTPError(
                429,
                f"Rate limit exceeded: {limit} requests per minute per account.",
                headers={"Retry-After": str(wait), "X-mp-rate-limit-exceeded": "account"},
            )
        self.window.append(now)
        return 100.0 * len(self.window) / limit

    # --- documents --------------------------------------------------------------------------------

    def check_document(self, document: Any, where: str) -> dict[str, Any]:
        if not isinstance(document, dict) or not isinstance(document.get("data_points", []), list):
            raise bad_request("Invalid data plan document.")
        points = document.get("data_points", [])
        limit = self.config.max_data_points_per_plan
        if limit and len(points) > limit:
            raise bad_request(f"Data plan exceeds maximum of {limit} with {len(points)} data points.")
        errors: list[dict[str, str]] = []
        seen: set[str] = set()
        for index, point in enumerate(points):
            pointer = f"#/{where}/data_points/{index}"
            match = point.get("match") if isinstance(point, dict) else None
            validator = point.get("validator") if isinstance(point, dict) else None
            key = _match_key(match) if isinstance(match, dict) else "?"
            if not isinstance(match, dict) or match.get("type") not in MATCH_TYPES:
                errors.append(self._schema_error("Invalid data point match type.", key, pointer + "/match"))
                continue
            if not isinstance(match.get("criteria"), dict):
                errors.append(self._schema_error("Data point criteria is required.", key, pointer + "/match"))
                continue
            if key in seen:
                errors.append(self._schema_error("Duplicate data point.", key, pointer + "/match"))
            seen.add(key)
            if (
                not isinstance(validator, dict)
                or validator.get("type") != "json_schema"
                or not isinstance(validator.get("definition"), dict)
            ):
                errors.append(
                    self._schema_error("Invalid data point validator.", key, pointer + "/validator")
                )
                continue
            for word, at in _keywords(validator["definition"], pointer + "/validator/definition"):
                errors.append(self._schema_error(f"Unsupported JSON Schema keyword '{word}'.", key, at, word))
        if errors:
            raise SchemaErrors(errors)
        return copy.deepcopy(document)

    @staticmethod
    def _schema_error(message: str, key: str, pointer: str, keyword: str | None = None) -> dict[str, str]:
        error = {"message": message, "match_key": key, "error_type": "invalid_data_point"}
        error["schema_pointer"] = pointer
        if keyword:
            error["keyword"] = keyword
        return error

    # --- plans and versions ---------------------------------------------------------------------

    def get(self, plan_id: str) -> StoredPlan:
        plan = self.plans.get(plan_id)
        if plan is None:
            raise plan_not_found(plan_id, self.state.settings.workspace_id)
        return plan

    def get_version(self, plan_id: str, version: str) -> tuple[StoredPlan, StoredVersion]:
        plan = self.get(plan_id)
        try:
            stored = plan.versions.get(int(version))
        except ValueError:
            stored = None
        if stored is None:
            raise version_not_found(plan_id, version, self.state.settings.workspace_id)
        return plan, stored

    def _new_version(self, body: Any, taken: dict[int, StoredVersion], where: str) -> StoredVersion:
        if not isinstance(body, dict):
            raise bad_request("A required value was missing.")
        number = body.get("version")
        if number is None:
            number = max(taken, default=0) + 1
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise bad_request("Plan version must be a positive integer.")
        if number in taken:
            raise bad_request(f"Plan version {number} already exists.")
        environment = body.get("activated_environment", "none")
        if environment not in ENVIRONMENTS:
            raise bad_request("Invalid activated environment.")
        description = body.get("version_description")
        document = self.check_document(body.get("version_document", {"data_points": []}), where)
        return StoredVersion(number, document, description, environment, self.state.clock.now(), self.actor)

    def create_plan(self, body: Any) -> StoredPlan:
        if not isinstance(body, dict):
            raise bad_request("A required value was missing.")
        name = body.get("data_plan_name")
        plan_id = body.get("data_plan_id") or (_slug(name) if isinstance(name, str) else None)
        if not plan_id or not isinstance(plan_id, str):
            raise bad_request("A required value was missing.")
        if plan_id in self.plans:
            raise bad_request(f"Data plan ID {plan_id} already exists in this workspace.")
        versions: dict[int, StoredVersion] = {}
        raw_versions = body.get("data_plan_versions") or []
        if not isinstance(raw_versions, list):
            raise bad_request("Invalid data plan document.")
        for index, item in enumerate(raw_versions):
            stored = self._new_version(item, versions, f"data_plan_versions/{index}/version_document")
            versions[stored.version] = stored
        if not versions:
            # A plan always has a version (the spec refuses to delete the last one): start with an empty one.
            versions[1] = StoredVersion(
                1, {"data_points": []}, None, "none", self.state.clock.now(), self.actor
            )
        plan = StoredPlan(
            plan_id,
            str(name if name is not None else plan_id),
            body.get("data_plan_description"),
            self.state.clock.now(),
            self.actor,
            versions,
        )
        self.plans[plan_id] = plan
        return plan

    def update_plan(self, plan_id: str, body: Any) -> StoredPlan:
        plan = self.get(plan_id)
        if not isinstance(body, dict):
            raise bad_request("A required value was missing.")
        if "data_plan_name" in body:
            if not isinstance(body["data_plan_name"], str) or not body["data_plan_name"]:
                raise bad_request("Data plan name must be a non-empty string.")
            plan.name = body["data_plan_name"]
        if "data_plan_description" in body:
            plan.description = body["data_plan_description"]
        plan.last_modified_on = self.state.clock.now()
        plan.last_modified_by = self.actor
        return plan

    def create_version(self, plan_id: str, body: Any) -> tuple[StoredPlan, StoredVersion]:
        plan = self.get(plan_id)
        stored = self._new_version(body, plan.versions, "version_document")
        plan.versions[stored.version] = stored
        return plan, stored

    def update_version(self, plan_id: str, version: str, body: Any) -> tuple[StoredPlan, StoredVersion]:
        plan, stored = self.get_version(plan_id, version)
        if not isinstance(body, dict):
            raise bad_request("A required value was missing.")
        if "activated_environment" in body and body["activated_environment"] not in ENVIRONMENTS:
            raise bad_request("Invalid activated environment.")
        if "version_document" in body:
            stored.document = self.check_document(body["version_document"], "version_document")
        if "version_description" in body:
            stored.description = body["version_description"]
        if "activated_environment" in body:
            stored.environment = body["activated_environment"]
        stored.last_modified_on = self.state.clock.now()
        stored.last_modified_by = self.actor
        return plan, stored

    def delete_version(self, plan_id: str, version: str) -> None:
        plan, stored = self.get_version(plan_id, version)
        if len(plan.versions) == 1:
            raise bad_request("Unable to delete plan version - plans must contain at least one plan version.")
        if stored.environment == "production":
            raise bad_request(
                "Unable to delete plan version - this version is active in prod and cannot be deleted."
            )
        if stored.quarantine_feed_id is not None:
            raise bad_request(
                "Unable to delete plan version. Plan versions with an associated quarantine feed can only "
                "be deleted through the UI."
            )
        del plan.versions[stored.version]

    # --- validation -----------------------------------------------------------------------------

    def validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("document") is None or body.get("batch") is None:
            raise bad_request("A required value was missing.")
        try:
            document = self.check_document(body["document"], "document")
        except SchemaErrors:
            raise bad_request("Invalid data plan document.") from None
        batch = body["batch"]
        events = batch.get("events", []) if isinstance(batch, dict) else None
        if (
            not isinstance(batch, dict)
            or batch.get("environment") not in BATCH_ENVIRONMENTS
            or not isinstance(events, list)
            or not all(isinstance(e, dict) and isinstance(e.get("data", {}), dict) for e in events)
        ):
            raise bad_request("Invalid Event Batch.")
        points = {_match_key(p["match"]): p for p in document.get("data_points", [])}
        results = []
        for event in events:
            match = event_match(event)
            if match is None:
                continue
            point = find_point(points, match)
            data = event.get("data") or {}
            if point is None:
                name = _event_label(match)
                errors = [
                    {"validation_error_type": "unplanned", "key": name, "error_pointer": "#", "actual": name}
                ]
            else:
                errors = schema_errors(point["validator"]["definition"], {"data": data})
            result: dict[str, Any] = {"match": match, "validation_errors": errors}
            if isinstance(data.get("source_message_id"), str):
                result["validated_source_message_id"] = data["source_message_id"]
            results.append({"data": result, "event_type": "validation_result"})
        return {"results": results, "batch": {}}


def event_match(event: dict[str, Any]) -> dict[str, Any] | None:
    """The data point match of an event (Events API shapes), or None for event types not checked."""
    kind = event.get("event_type")
    data = event.get("data") or {}
    if kind == "custom_event":
        criteria = {"event_name": data.get("event_name"), "custom_event_type": data.get("custom_event_type")}
        return {"type": "custom_event", "criteria": criteria}
    if kind == "screen_view":
        return {"type": "screen_view", "criteria": {"screen_name": data.get("screen_name")}}
    if kind == "commerce_event":
        for field_name, match_type in (("product_action", "product_action"), ("promotion_action", "promotion_action")):  # fmt: skip
            action = data.get(field_name)
            if isinstance(action, dict) and action.get("action"):
                return {"type": match_type, "criteria": {"action": action["action"]}}
        if data.get("product_impressions"):
            return {"type": "product_impression", "criteria": {}}
    return None


def find_point(points: dict[str, dict[str, Any]], match: dict[str, Any]) -> dict[str, Any] | None:
    if match["type"] == "product_impression":
        return next((p for p in points.values() if p["match"].get("type") == "product_impression"), None)
    return points.get(_match_key(match))


def _event_label(match: dict[str, Any]) -> str:
    criteria = match.get("criteria") or {}
    return str(
        criteria.get("event_name") or criteria.get("screen_name") or criteria.get("action") or match["type"]
    )


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "#/" + "/".join(parts) if parts else "#"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def schema_errors(definition: dict[str, Any], instance: dict[str, Any]) -> list[dict[str, Any]]:
    """An event's validation errors in the spec's ``validation_errors`` shape."""
    from jsonschema import Draft201909Validator

    found: list[dict[str, Any]] = []
    for error in Draft201909Validator(definition).iter_errors(instance):
        path = list(error.absolute_path)
        keyword = str(error.validator)
        if keyword == "required":
            missing = ast.literal_eval(error.message.split(" is a required property")[0])
            found.append(
                {
                    "validation_error_type": "missing_required",
                    "key": str(path[-1]) if path else "#",
                    "error_pointer": _pointer(path),
                    "expected": str(missing),
                    "schema_keyword": "required",
                }
            )
        elif keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(
            error.instance, dict
        ):
            planned = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            for name in error.instance:
                if name not in planned:
                    found.append(
                        {
                            "validation_error_type": "unplanned",
                            "key": str(name),
                            "error_pointer": _pointer([*path, name]),
                            "actual": str(name),
                            "schema_keyword": keyword,
                        }
                    )
        else:
            expected = error.validator_value
            found.append(
                {
                    "validation_error_type": "invalid_value",
                    "key": str(path[-1]) if path else "#",
                    "error_pointer": _pointer(path),
                    "expected": expected if isinstance(expected, str) else json.dumps(expected),
                    "actual": _json_type(error.instance) if keyword == "type" else json.dumps(error.instance),
                    "schema_keyword": keyword,
                }
            )
    return found
