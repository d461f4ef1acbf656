"""Data Planning API: data plans, plan versions and event-batch validation.

Implements https://docs.mparticle.com/developers/apis/dataplanning-api/ and mParticle's OpenAPI spec of it
(``/platform/v2/workspaces/{workspace_id}/plans``), OAuth bearer auth on the Platform host.

Where the page and the spec disagree the client accepts both: the plan list may or may not carry
``version_document`` (the page says it is left out, the spec's example has it), and timestamps come with
or without a zone.

The pure logic behind "data plans as code" (:func:`load_plan_document`, :func:`version_changes`, ...) is
in :mod:`~airflow_provider_mparticle.client.data_plan_documents` and importable from here as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.answers import (
    LIST,
    NO_CONTENT,
    require_field,
    require_list,
    require_object,
)
from airflow_provider_mparticle.client.core import (
    ApiRequest,
    ApiResponse,
    Call,
    as_object,
    ignore_body,
    path_segment,
)
from airflow_provider_mparticle.client.data_plan_documents import (
    MATCH_TYPES,
    READ_ONLY_DOCUMENT_FIELDS,
    UNSUPPORTED_SCHEMA_KEYWORDS,
    ActivatedEnvironment,
    DataPlanDocumentError,
    PlanDocument,
    PlannedVersion,
    check_plan_id,
    check_version_document,
    check_version_number,
    describe_match,
    document_changes,
    load_plan_document,
    match_key,
    request_document,
    version_changes,
)
from airflow_provider_mparticle.client.errors import MParticleNotFoundError
from airflow_provider_mparticle.client.plans import DRAFT, LIVE, ChangePlan, Comparison

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow_provider_mparticle.client.config import ClientSettings
    from airflow_provider_mparticle.client.transport import AsyncTransport, SyncTransport

__all__ = [
    "MATCH_TYPES",
    "READ_ONLY_DOCUMENT_FIELDS",
    "UNSUPPORTED_SCHEMA_KEYWORDS",
    "ActivatedEnvironment",
    "AsyncDataPlanningApi",
    "BatchValidationResult",
    "DataPlan",
    "DataPlanDocumentError",
    "DataPlanVersion",
    "DataPlanningApi",
    "DataPlanningCalls",
    "EventValidationResult",
    "PlanDocument",
    "PlannedVersion",
    "ValidationIssue",
    "check_plan_id",
    "check_version_document",
    "check_version_number",
    "describe_match",
    "document_changes",
    "load_plan_document",
    "match_key",
    "plan_data_plan",
    "request_document",
    "version_changes",
]


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


# --- calls -----------------------------------------------------------------------------------------


def _segment(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise DataPlanDocumentError(f"A data plan id must be a non-empty string, got {value!r}.")
    return path_segment(value, "data plan id")


def _plan_list(response: ApiResponse) -> list[DataPlan]:
    return [DataPlan.from_api(item) for item in require_list(response.body, "the data plan list")]


class DataPlanningCalls:
    """The calls of the Data Planning API for one workspace, shared by both clients."""

    def __init__(self, settings: ClientSettings) -> None:
        workspace = path_segment(settings.require_workspace(), "workspace id")
        self.base = f"{settings.api_base_url}/platform/v2/workspaces/{workspace}/plans"

    def _request(self, method: str, suffix: str = "", **kwargs: Any) -> ApiRequest:
        return ApiRequest(method, self.base + suffix, "bearer", **kwargs)

    def list_plans(self) -> Call[list[DataPlan]]:
        return Call(self._request("GET", expect=LIST), _plan_list)

    def get_plan(self, plan_id: str) -> Call[DataPlan]:
        return Call(self._request("GET", f"/{_segment(plan_id)}"), lambda r: DataPlan.from_api(r.body))

    def create_plan(self, plan: PlanDocument | Mapping[str, Any]) -> Call[DataPlan]:
        document = plan if isinstance(plan, PlanDocument) else load_plan_document(plan)
        return Call(self._request("POST", json=document.request_body()), lambda r: DataPlan.from_api(r.body))

    def update_plan(
        self, plan_id: str, *, name: str | None = None, description: str | None = None
    ) -> Call[DataPlan]:
        body: dict[str, Any] = {}
        if name is not None:
            body["data_plan_name"] = name
        if description is not None:
            body["data_plan_description"] = description
        if not body:
            raise DataPlanDocumentError("update_plan needs 'name' and/or 'description'.")
        return Call(
            self._request("PATCH", f"/{_segment(plan_id)}", json=body), lambda r: DataPlan.from_api(r.body)
        )

    def delete_plan(self, plan_id: str) -> Call[None]:
        return Call(self._request("DELETE", f"/{_segment(plan_id)}", expect=NO_CONTENT), ignore_body)

    def _version_path(self, plan_id: str, version: int) -> str:
        return f"/{_segment(plan_id)}/versions/{check_version_number(version)}"

    def get_version(self, plan_id: str, version: int) -> Call[DataPlanVersion]:
        return Call(
            self._request("GET", self._version_path(plan_id, version)),
            lambda r: DataPlanVersion.from_api(r.body, plan_id),
        )

    def create_version(self, plan_id: str, version: PlannedVersion) -> Call[DataPlanVersion]:
        return Call(
            self._request("POST", f"/{_segment(plan_id)}/versions", json=version.request_body()),
            lambda r: DataPlanVersion.from_api(r.body, plan_id),
        )

    def update_version(
        self,
        plan_id: str,
        version: int,
        *,
        version_document: Mapping[str, Any] | None = None,
        version_description: str | None = None,
        activated_environment: ActivatedEnvironment | str | None = None,
    ) -> Call[DataPlanVersion]:
        body: dict[str, Any] = {}
        if version_document is not None:
            body["version_document"] = check_version_document(version_document)
        if version_description is not None:
            body["version_description"] = version_description
        if activated_environment is not None:
            body["activated_environment"] = ActivatedEnvironment.parse(activated_environment).value
        if not body:
            raise DataPlanDocumentError(
                "update_version needs one of version_document, version_description, activated_environment."
            )
        return Call(
            self._request("PATCH", self._version_path(plan_id, version), json=body),
            lambda r: DataPlanVersion.from_api(r.body, plan_id),
        )

    def delete_version(self, plan_id: str, version: int) -> Call[None]:
        return Call(
            self._request("DELETE", self._version_path(plan_id, version), expect=NO_CONTENT), ignore_body
        )

    def validate_batch(
        self, batch: Mapping[str, Any], version_document: Mapping[str, Any]
    ) -> Call[BatchValidationResult]:
        if not isinstance(batch, dict) or not isinstance(batch.get("events", []), list):
            raise DataPlanDocumentError("A batch must be a JSON object whose 'events' is a list.")
        body = {"document": request_document(version_document), "batch": dict(batch)}
        return Call(
            self._request("POST", "/validate", json=body), lambda r: BatchValidationResult.from_api(r.body)
        )


class DataPlanningApi:
    """Data Planning API over the sync transport."""

    def __init__(self, transport: SyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = DataPlanningCalls(settings)

    def list_plans(self) -> list[DataPlan]:
        """Every data plan of the workspace with its versions (usually without their documents)."""
        return self._transport.execute(self.calls.list_plans())

    def get_plan(self, plan_id: str) -> DataPlan:
        """One data plan with all its versions; :class:`MParticleNotFoundError` when absent."""
        return self._transport.execute(self.calls.get_plan(plan_id))

    def find_plan(self, plan_id: str) -> DataPlan | None:
        """The data plan ``plan_id``, or None when the workspace has none by that id."""
        try:
            return self.get_plan(plan_id)
        except MParticleNotFoundError:
            return None

    def create_plan(self, plan: PlanDocument | Mapping[str, Any]) -> DataPlan:
        """Create a data plan with its versions.

        :param plan: a checked :class:`PlanDocument`, or the ``POST /plans`` body (checked here first).
        """
        return self._transport.execute(self.calls.create_plan(plan))

    def update_plan(
        self, plan_id: str, *, name: str | None = None, description: str | None = None
    ) -> DataPlan:
        """Change a plan's name and/or description."""
        return self._transport.execute(self.calls.update_plan(plan_id, name=name, description=description))

    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan and all its versions."""
        self._transport.execute(self.calls.delete_plan(plan_id))

    def get_version(self, plan_id: str, version: int) -> DataPlanVersion:
        """One plan version with its document."""
        return self._transport.execute(self.calls.get_version(plan_id, version))

    def create_version(self, plan_id: str, version: PlannedVersion) -> DataPlanVersion:
        """Add a version to a plan."""
        return self._transport.execute(self.calls.create_version(plan_id, version))

    def update_version(
        self,
        plan_id: str,
        version: int,
        *,
        version_document: Mapping[str, Any] | None = None,
        version_description: str | None = None,
        activated_environment: ActivatedEnvironment | str | None = None,
    ) -> DataPlanVersion:
        """Change a version's document, description and/or environment (only what is given is sent)."""
        return self._transport.execute(
            self.calls.update_version(
                plan_id,
                version,
                version_document=version_document,
                version_description=version_description,
                activated_environment=activated_environment,
            )
        )

    def delete_version(self, plan_id: str, version: int) -> None:
        """Delete a version (mParticle refuses the last one and one active in production)."""
        self._transport.execute(self.calls.delete_version(plan_id, version))

    def validate_batch(
        self, batch: Mapping[str, Any], version_document: Mapping[str, Any]
    ) -> BatchValidationResult:
        """Validate one event batch against a version document (``POST /plans/validate``)."""
        return self._transport.execute(self.calls.validate_batch(batch, version_document))

    def validate_batches(
        self, batches: Iterable[Mapping[str, Any]], plan_id: str, version: int
    ) -> list[BatchValidationResult]:
        """Validate batches against a stored plan version: its document is fetched once."""
        document = self.get_version(plan_id, version).version_document or {"data_points": []}
        return [self.validate_batch(batch, document) for batch in batches]


class AsyncDataPlanningApi:
    """Data Planning API over the async transport; same method names as :class:`DataPlanningApi`."""

    def __init__(self, transport: AsyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = DataPlanningCalls(settings)

    async def list_plans(self) -> list[DataPlan]:
        return await self._transport.execute(self.calls.list_plans())

    async def get_plan(self, plan_id: str) -> DataPlan:
        return await self._transport.execute(self.calls.get_plan(plan_id))

    async def find_plan(self, plan_id: str) -> DataPlan | None:
        try:
            return await self.get_plan(plan_id)
        except MParticleNotFoundError:
            return None

    async def create_plan(self, plan: PlanDocument | Mapping[str, Any]) -> DataPlan:
        return await self._transport.execute(self.calls.create_plan(plan))

    async def update_plan(
        self, plan_id: str, *, name: str | None = None, description: str | None = None
    ) -> DataPlan:
        return await self._transport.execute(
            self.calls.update_plan(plan_id, name=name, description=description)
        )

    async def delete_plan(self, plan_id: str) -> None:
        await self._transport.execute(self.calls.delete_plan(plan_id))

    async def get_version(self, plan_id: str, version: int) -> DataPlanVersion:
        return await self._transport.execute(self.calls.get_version(plan_id, version))

    async def create_version(self, plan_id: str, version: PlannedVersion) -> DataPlanVersion:
        return await self._transport.execute(self.calls.create_version(plan_id, version))

    async def update_version(
        self,
        plan_id: str,
        version: int,
        *,
        version_document: Mapping[str, Any] | None = None,
        version_description: str | None = None,
        activated_environment: ActivatedEnvironment | str | None = None,
    ) -> DataPlanVersion:
        return await self._transport.execute(
            self.calls.update_version(
                plan_id,
                version,
                version_document=version_document,
                version_description=version_description,
                activated_environment=activated_environment,
            )
        )

    async def delete_version(self, plan_id: str, version: int) -> None:
        await self._transport.execute(self.calls.delete_version(plan_id, version))

    async def validate_batch(
        self, batch: Mapping[str, Any], version_document: Mapping[str, Any]
    ) -> BatchValidationResult:
        return await self._transport.execute(self.calls.validate_batch(batch, version_document))

    async def validate_batches(
        self, batches: Sequence[Mapping[str, Any]], plan_id: str, version: int
    ) -> list[BatchValidationResult]:
        version_document = (await self.get_version(plan_id, version)).version_document
        document = version_document or {"data_points": []}
        return [await self.validate_batch(batch, document) for batch in batches]


def plan_data_plan(
    current: DataPlan | None,
    remote_versions: Mapping[int, DataPlanVersion | None],
    document: PlanDocument,
) -> ChangePlan:
    """What deploying ``document`` would change; nothing is sent.

    The Data Planning API keeps no draft of a version: a version activated in ``development`` or
    ``production`` is compared as *live*, one with ``activated_environment: none`` (deployed, enforced
    nowhere) as a *draft*. A version the file has and the workspace lacks counts as live and missing.

    :param current: the plan in the workspace (None: it does not exist).
    :param remote_versions: version number -> that version read in full (None: it does not exist).
    :param document: the plan as kept in code.
    """
    plan_id = document.data_plan_id
    subject = f"data plan {plan_id!r}"
    if current is None:
        created = {str(v.version): "create" for v in document.versions}
        lines = tuple(line for v in document.versions for line in version_changes(None, v))
        return ChangePlan(
            subject,
            "create",
            (f"create data plan {plan_id!r} with version(s) {', '.join(created)}",),
            (Comparison(LIVE, "data plan", lines, present=False),),
            request={"create_plan": True, "plan_changes": {}, "versions": created},
        )
    plan_changes: dict[str, str] = {}
    plan_lines: list[str] = []
    for key, wanted, held in (
        ("name", document.data_plan_name, current.data_plan_name),
        ("description", document.data_plan_description, current.data_plan_description),
    ):
        if wanted is not None and wanted != held:
            plan_changes[key] = wanted
            plan_lines.append(f"~ data_plan_{key}: {held!r} -> {wanted!r}")
    comparisons = [Comparison(LIVE, "plan name and description", tuple(plan_lines))]
    writes = [f"update the plan's {', '.join(sorted(plan_changes))}"] if plan_changes else []
    versions: dict[str, str] = {}
    for version in document.versions:
        remote = remote_versions.get(version.version)
        lines = tuple(version_changes(remote, version))
        against = DRAFT if remote is not None and remote.activated_environment == "none" else LIVE
        label = f"version {version.version}" + (
            f" ({remote.activated_environment})" if remote and remote.activated_environment else ""
        )
        comparisons.append(Comparison(against, label, lines, present=remote is not None))
        if lines:
            versions[str(version.version)] = "create" if remote is None else "update"
            writes.append(f"{versions[str(version.version)]} version {version.version}")
    unmanaged = sorted({v.version for v in current.versions} - {v.version for v in document.versions})
    warnings = (f"version(s) {unmanaged} are not in the code and are left as they are",) if unmanaged else ()
    return ChangePlan(
        subject,
        "update" if writes else "none",
        tuple(writes),
        tuple(comparisons),
        warnings=warnings,
        request={"create_plan": False, "plan_changes": plan_changes, "versions": versions},
    )
