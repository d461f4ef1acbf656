"""Data plans as code: checking a plan kept in a repository before anything is sent, and telling what an
update would change, in words a reviewer can read. Pure logic, no HTTP: the calls are in
:mod:`~airflow_provider_mparticle.client.data_planning.api`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.core.messages import as_object
from airflow_provider_mparticle.client.data_planning.models import describe_match

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_mparticle.client.data_planning.models import DataPlanVersion

# Fields the spec marks readOnly: mParticle sets them, a request must not carry them.
READ_ONLY_DOCUMENT_FIELDS = ("active_transformation_ids",)
MATCH_TYPES = frozenset(
    {
        "unknown",
        "screen_view",
        "custom_event",
        "user_attributes",
        "user_identities",
        "product_action",
        "promotion_action",
        "product_impression",
    }
)
# JSON Schema keywords the page lists as unsupported in a data point's validator.
UNSUPPORTED_SCHEMA_KEYWORDS = frozenset(
    {
        "$ref",
        "$recursiveRef",
        "$recursiveAnchor",
        "patternProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "if",
        "not",
        "else",
        "then",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
    }
)
_PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class DataPlanDocumentError(MParticleError, ValueError):
    """A data plan (file or argument) is not a valid plan; the message names the field. Nothing was sent."""


class ActivatedEnvironment(StrEnum):
    """Where a plan version is active: ``none`` means inactive."""

    NONE = "none"
    DEVELOPMENT = "development"
    PRODUCTION = "production"

    @classmethod
    def parse(cls, value: str, where: str = "activated_environment") -> ActivatedEnvironment:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(e.value for e in cls)
            raise DataPlanDocumentError(f"{where} is {value!r}; expected one of: {allowed}.") from None


# --- checking plans before they are sent -----------------------------------------------------------


# A data point's validator is a JSON Schema (draft 2019-09: the spec lists $recursiveRef, $defs,
# unevaluatedItems...). Its meta-schema, extended the way 2019-09 allows ($recursiveAnchor on the new
# root, so that every subschema is checked against the extension too) with the keywords mParticle
# refuses. jsonschema comes with Airflow; it is imported on first use.
_SCHEMA_DRAFT = "https://json-schema.org/draft/2019-09/schema"
_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@functools.cache
def _data_point_schema_validator() -> Any:
    from jsonschema import Draft201909Validator

    meta_schema = {
        "$schema": _SCHEMA_DRAFT,
        "$id": "urn:airflow-provider-mparticle:data-point-schema",
        "$recursiveAnchor": True,
        "allOf": [{"$ref": _SCHEMA_DRAFT}],
        "not": {
            "type": "object",
            "anyOf": [{"required": [keyword]} for keyword in sorted(UNSUPPORTED_SCHEMA_KEYWORDS)],
        },
    }
    Draft201909Validator.check_schema(meta_schema)
    return Draft201909Validator(meta_schema)


def _schema_problem(error: Any) -> str:
    path = "".join(f"/{part}" for part in error.absolute_path)
    instance = error.instance
    if error.validator == "not" and isinstance(instance, dict):
        keywords = sorted(UNSUPPORTED_SCHEMA_KEYWORDS & set(instance))
        return f"{path or '/'}: JSON Schema keyword {keywords[0]!r} is not supported by mParticle data plans"
    if path.endswith("/type") and error.validator == "anyOf":
        return f"{path}: {instance!r} is not a JSON Schema type ({', '.join(_JSON_TYPES)})"
    return f"{path or '/'}: {error.message}"


def check_data_point_schema(definition: Any, where: str, data_point: str) -> None:
    """Check a data point's validator definition: a valid JSON Schema without the keywords mParticle refuses.

    :param definition: the ``validator.definition`` of a data point.
    :param where: where the definition is in the document (``...data_points[0].validator.definition``).
    :param data_point: the data point in words (its match, as :func:`describe_match` gives it).
    :raises DataPlanDocumentError: naming the data point and listing every problem with its path.
    """
    errors = sorted(
        _data_point_schema_validator().iter_errors(definition),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    if errors:
        problems = "; ".join(_schema_problem(error) for error in errors)
        raise DataPlanDocumentError(
            f"{where} (data point {data_point}) is not a valid data plan schema: {problems}."
        )


def check_version_document(document: Any, where: str = "version_document") -> dict[str, Any]:
    """Check a version document's shape; returns a copy without the read-only fields.

    :raises DataPlanDocumentError: naming the offending data point and field.
    """
    if not isinstance(document, dict):
        raise DataPlanDocumentError(f"{where} must be a JSON object.")
    points = document.get("data_points")
    if not isinstance(points, list):
        raise DataPlanDocumentError(f"{where}.data_points must be a list.")
    seen: dict[str, int] = {}
    for index, point in enumerate(points):
        here = f"{where}.data_points[{index}]"
        if not isinstance(point, dict):
            raise DataPlanDocumentError(f"{here} must be a JSON object.")
        match = point.get("match")
        if not isinstance(match, dict) or match.get("type") not in MATCH_TYPES:
            raise DataPlanDocumentError(
                f"{here}.match.type must be one of: {', '.join(sorted(MATCH_TYPES))}; "
                f"got {as_object(match).get('type')!r}."
            )
        criteria = match.get("criteria")
        if not isinstance(criteria, dict):
            raise DataPlanDocumentError(f"{here}.match.criteria must be a JSON object.")
        if match["type"] == "custom_event":
            for name in ("event_name", "custom_event_type"):
                if not isinstance(criteria.get(name), str) or not criteria[name]:
                    raise DataPlanDocumentError(f"{here}.match.criteria.{name} is required for custom_event.")
        if match["type"] == "screen_view" and not isinstance(criteria.get("screen_name"), str):
            raise DataPlanDocumentError(f"{here}.match.criteria.screen_name is required for screen_view.")
        key = match_key(match)
        if key in seen:
            raise DataPlanDocumentError(
                f"{here} has the same match as data_points[{seen[key]}]: {describe_match(match)}."
            )
        seen[key] = index
        validator = point.get("validator")
        if not isinstance(validator, dict) or validator.get("type") != "json_schema":
            raise DataPlanDocumentError(f"{here}.validator.type must be 'json_schema'.")
        if not isinstance(validator.get("definition"), dict):
            raise DataPlanDocumentError(f"{here}.validator.definition must be a JSON object (a JSON Schema).")
        check_data_point_schema(
            validator["definition"], f"{here}.validator.definition", describe_match(match)
        )
    return request_document(document)


def request_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A version document fit to send: a deep copy without the fields mParticle sets itself."""
    result = copy.deepcopy(dict(document))
    for name in READ_ONLY_DOCUMENT_FIELDS:
        result.pop(name, None)
    points = result.get("data_points")
    if isinstance(points, list):
        for point in points:
            if isinstance(point, dict):
                for name in READ_ONLY_DOCUMENT_FIELDS:
                    point.pop(name, None)
    return result


def match_key(match: Mapping[str, Any]) -> str:
    """A data point's identity inside a document: its match, as canonical JSON."""
    return json.dumps({"type": match.get("type"), "criteria": match.get("criteria") or {}}, sort_keys=True)


def check_plan_id(plan_id: Any) -> str:
    if not isinstance(plan_id, str) or not _PLAN_ID.match(plan_id):
        raise DataPlanDocumentError(
            f"data_plan_id {plan_id!r} must be a slug: lower-case letters, digits, '_' and '-'."
        )
    return plan_id


def check_version_number(version: Any, where: str = "version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DataPlanDocumentError(f"{where} must be a positive integer, got {version!r}.")
    return version


@dataclass(frozen=True)
class PlannedVersion:
    """One version as a plan file wants it; ``None`` fields are left as they are in mParticle."""

    version: int
    version_document: dict[str, Any]
    version_description: str | None = None
    activated_environment: ActivatedEnvironment | None = None

    def request_body(self) -> dict[str, Any]:
        """Body of ``POST /plans/{id}/versions``."""
        body: dict[str, Any] = {"version": self.version, "version_document": self.version_document}
        if self.version_description is not None:
            body["version_description"] = self.version_description
        if self.activated_environment is not None:
            body["activated_environment"] = self.activated_environment.value
        return body


@dataclass(frozen=True)
class PlanDocument:
    """A data plan as kept in a repository: the body of ``POST /plans`` (page's example), checked."""

    data_plan_id: str
    data_plan_name: str | None
    data_plan_description: str | None
    versions: list[PlannedVersion]

    def request_body(self) -> dict[str, Any]:
        """Body of ``POST /plans``."""
        body: dict[str, Any] = {"data_plan_id": self.data_plan_id}
        if self.data_plan_name is not None:
            body["data_plan_name"] = self.data_plan_name
        if self.data_plan_description is not None:
            body["data_plan_description"] = self.data_plan_description
        body["data_plan_versions"] = [v.request_body() for v in self.versions]
        return body


def load_plan_document(plan: Any, source: str = "data plan") -> PlanDocument:
    """Check a data plan (parsed JSON) and return it typed; nothing is sent.

    The shape is the page's ``POST /plans`` body: ``data_plan_id``, optional ``data_plan_name`` and
    ``data_plan_description``, and ``data_plan_versions``, each with ``version`` and ``version_document``
    (optional ``version_description`` and ``activated_environment``).

    :param plan: the parsed plan.
    :param source: how to name the plan in error messages (a file name).
    :raises DataPlanDocumentError: naming the field at fault.
    """
    if not isinstance(plan, dict):
        raise DataPlanDocumentError(f"{source}: the plan must be a JSON object.")
    try:
        plan_id = check_plan_id(plan.get("data_plan_id"))
        for name in ("data_plan_name", "data_plan_description"):
            if plan.get(name) is not None and not isinstance(plan[name], str):
                raise DataPlanDocumentError(f"{name} must be a string.")
        raw_versions = plan.get("data_plan_versions")
        if not isinstance(raw_versions, list) or not raw_versions:
            raise DataPlanDocumentError("data_plan_versions must be a non-empty list.")
        versions: list[PlannedVersion] = []
        for index, item in enumerate(raw_versions):
            where = f"data_plan_versions[{index}]"
            if not isinstance(item, dict):
                raise DataPlanDocumentError(f"{where} must be a JSON object.")
            number = check_version_number(item.get("version"), f"{where}.version")
            if any(v.version == number for v in versions):
                raise DataPlanDocumentError(f"{where}.version {number} appears twice.")
            description = item.get("version_description")
            if description is not None and not isinstance(description, str):
                raise DataPlanDocumentError(f"{where}.version_description must be a string.")
            environment = item.get("activated_environment")
            versions.append(
                PlannedVersion(
                    version=number,
                    version_document=check_version_document(
                        item.get("version_document"), f"{where}.version_document"
                    ),
                    version_description=description,
                    activated_environment=(
                        None
                        if environment is None
                        else ActivatedEnvironment.parse(environment, f"{where}.activated_environment")
                    ),
                )
            )
    except DataPlanDocumentError as error:
        raise DataPlanDocumentError(f"{source}: {error}") from None
    return PlanDocument(
        data_plan_id=plan_id,
        data_plan_name=plan.get("data_plan_name"),
        data_plan_description=plan.get("data_plan_description"),
        versions=versions,
    )


def _point_text(point: Mapping[str, Any]) -> list[str]:
    return json.dumps(point, indent=2, sort_keys=True).splitlines()


def document_changes(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> list[str]:
    """What replacing ``current`` by ``desired`` changes, data point by data point (empty: nothing)."""
    before = {match_key(as_object(p.get("match"))): p for p in as_object(current).get("data_points") or []}
    after = {match_key(as_object(p.get("match"))): p for p in desired.get("data_points") or []}
    lines: list[str] = []
    for key, point in after.items():
        name = describe_match(as_object(point.get("match")))
        if key not in before:
            lines.append(f"+ data point {name}")
        elif before[key] != point:
            lines.append(f"~ data point {name}:")
            diff = difflib.unified_diff(_point_text(before[key]), _point_text(point), lineterm="", n=1)
            lines.extend("    " + line for line in list(diff)[2:])
    for key, point in before.items():
        if key not in after:
            lines.append(f"- data point {describe_match(as_object(point.get('match')))}")
    if not lines and list(before) != list(after):
        lines.append("~ data point order")
    return lines


def version_changes(current: DataPlanVersion | None, desired: PlannedVersion) -> list[str]:
    """What deploying ``desired`` over ``current`` would change, as readable lines (empty: nothing).

    Fields the plan file leaves out (``version_description``, ``activated_environment``) are not compared.
    """
    if current is None:
        return [f"+ version {desired.version} ({len(desired.version_document['data_points'])} data points)"]
    lines: list[str] = []
    if desired.version_description is not None and desired.version_description != current.version_description:
        lines.append(
            f"~ version_description: {current.version_description!r} -> {desired.version_description!r}"
        )
    if (
        desired.activated_environment is not None
        and desired.activated_environment.value != current.activated_environment
    ):
        lines.append(
            f"~ activated_environment: {current.activated_environment!r} -> "
            f"{desired.activated_environment.value!r}"
        )
    current_document = request_document(current.version_document or {"data_points": []})
    if current_document != desired.version_document:
        point_lines = document_changes(current_document, desired.version_document)
        lines.extend(point_lines or ["~ version_document (fields other than data_points)"])
    return lines
