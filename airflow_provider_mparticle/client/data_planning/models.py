"""Data Planning API: the typed answers (data plans, plan versions, event-batch validation results), read
strictly. Pure data: the calls are in :mod:`~airflow_provider_mparticle.client.data_planning.api`, the plans-as-code logic in :mod:`~airflow_provider_mparticle.client.data_planning.documents`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.answers import require_field, require_list, require_object
from airflow_provider_mparticle.client.core.messages import (
    as_object,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


def describe_match(match: Mapping[str, Any] | None) -> str:
    """A data point's match as text: ``custom_event 'Purchase' (transaction)``."""
    match = match or {}
    kind = str(match.get("type", "unknown"))
    criteria = as_object(match.get("criteria"))
    if kind == "custom_event":
        return f"{kind} {criteria.get('event_name')!r} ({criteria.get('custom_event_type')})"
    if kind == "screen_view":
        return f"{kind} {criteria.get('screen_name')!r}"
    if criteria.get("action"):
        return f"{kind} {criteria['action']}"
    if criteria:
        return f"{kind} {json.dumps(criteria, sort_keys=True)}"
    return kind


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class DataPlanVersion:
    """A data plan version. ``version_document`` is None when the answer left it out (plan lists)."""

    data_plan_id: str
    version: int
    version_description: str | None
    activated_environment: str | None
    version_document: dict[str, Any] | None
    created_on: str | None
    created_by: str | None
    last_modified_on: str | None
    last_modified_by: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any, data_plan_id: str | None = None) -> DataPlanVersion:
        data = require_object(body, "a data plan version")
        document = data.get("version_document")
        return cls(
            data_plan_id=str(data.get("data_plan_id") or data_plan_id or ""),
            version=require_field(data, "version", int, "a data plan version"),
            version_description=_str_or_none(data.get("version_description")),
            activated_environment=_str_or_none(data.get("activated_environment")),
            version_document=document if isinstance(document, dict) else None,
            created_on=_str_or_none(data.get("created_on")),
            created_by=_str_or_none(data.get("created_by")),
            last_modified_on=_str_or_none(data.get("last_modified_on")),
            last_modified_by=_str_or_none(data.get("last_modified_by")),
            raw=data,
        )

    @property
    def data_points(self) -> list[dict[str, Any]]:
        points = (self.version_document or {}).get("data_points")
        return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else []


@dataclass(frozen=True)
class DataPlan:
    """A data plan and its versions, as the API returns it; ``raw`` keeps the whole answer."""

    data_plan_id: str
    data_plan_name: str | None
    data_plan_description: str | None
    versions: list[DataPlanVersion]
    created_on: str | None
    created_by: str | None
    last_modified_on: str | None
    last_modified_by: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> DataPlan:
        data = require_object(body, "a data plan")
        plan_id = require_field(data, "data_plan_id", str, "a data plan")
        versions = data.get("data_plan_versions")
        return cls(
            data_plan_id=plan_id,
            data_plan_name=_str_or_none(data.get("data_plan_name")),
            # The spec's list example names it ``description``; the page and the schema say data_plan_description.
            data_plan_description=_str_or_none(data.get("data_plan_description", data.get("description"))),
            versions=[
                DataPlanVersion.from_api(v, plan_id) for v in (versions if isinstance(versions, list) else [])
            ],
            created_on=_str_or_none(data.get("created_on")),
            created_by=_str_or_none(data.get("created_by")),
            last_modified_on=_str_or_none(data.get("last_modified_on")),
            last_modified_by=_str_or_none(data.get("last_modified_by")),
            raw=data,
        )

    def version(self, number: int) -> DataPlanVersion | None:
        """The version numbered ``number``, or None."""
        return next((v for v in self.versions if v.version == number), None)

    @property
    def latest_version(self) -> DataPlanVersion | None:
        return max(self.versions, key=lambda v: v.version, default=None)


@dataclass(frozen=True)
class ValidationIssue:
    """One entry of a validation result's ``validation_errors``."""

    validation_error_type: str
    key: str | None
    error_pointer: str | None
    expected: str | None
    actual: str | None
    schema_keyword: str | None
    action_expected: str | None

    @classmethod
    def from_api(cls, body: Any) -> ValidationIssue:
        data = as_object(body)
        return cls(
            validation_error_type=str(data.get("validation_error_type") or "unknown"),
            key=_str_or_none(data.get("key")),
            error_pointer=_str_or_none(data.get("error_pointer")),
            expected=_str_or_none(data.get("expected")),
            actual=_str_or_none(data.get("actual")),
            schema_keyword=_str_or_none(data.get("schema_keyword")),
            action_expected=_str_or_none(data.get("action_expected")),
        )

    def describe(self) -> str:
        """One line for a log: type, where, and expected versus actual."""
        parts = [self.validation_error_type]
        if self.error_pointer:
            parts.append(f"at {self.error_pointer}")
        if self.key:
            parts.append(f"key {self.key!r}")
        if self.expected is not None:
            parts.append(f"expected {self.expected!r}")
        if self.actual is not None:
            parts.append(f"actual {self.actual!r}")
        if self.schema_keyword:
            parts.append(f"(schema keyword {self.schema_keyword})")
        return " ".join(parts)


@dataclass(frozen=True)
class EventValidationResult:
    """The validation result of one event (or of the batch's user data) in a batch."""

    match: dict[str, Any]
    issues: list[ValidationIssue]
    source_message_id: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> EventValidationResult:
        data = as_object(as_object(body).get("data"))
        errors = data.get("validation_errors")
        return cls(
            match=as_object(data.get("match")),
            issues=[ValidationIssue.from_api(e) for e in (errors if isinstance(errors, list) else [])],
            source_message_id=_str_or_none(
                data.get("validated_source_message_id", data.get("source_message_id"))
            ),
            raw=as_object(body),
        )

    @property
    def subject(self) -> str:
        return describe_match(self.match)


@dataclass(frozen=True)
class BatchValidationResult:
    """``POST /plans/validate``: a result per validated event, with its validation errors."""

    results: list[EventValidationResult]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> BatchValidationResult:
        """Read a validation answer; one without a ``results`` list is an error, never "valid"."""
        data = require_object(body, "a validation result")
        results = require_list(data.get("results"), "the 'results' of a validation result")
        return cls(results=[EventValidationResult.from_api(r) for r in results], raw=data)

    @property
    def error_count(self) -> int:
        return sum(len(r.issues) for r in self.results)

    @property
    def is_valid(self) -> bool:
        return self.error_count == 0

    def messages(self) -> list[str]:
        """Every validation error as one readable line."""
        lines: list[str] = []
        for result in self.results:
            where = result.subject
            if result.source_message_id:
                where += f" [source_message_id {result.source_message_id}]"
            lines.extend(f"{where}: {issue.describe()}" for issue in result.issues)
        return lines
