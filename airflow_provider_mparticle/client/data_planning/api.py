"""Data Planning API: data plans, plan versions and event-batch validation.

Implements https://docs.mparticle.com/developers/apis/dataplanning-api/ and mParticle's OpenAPI spec of it
(``/platform/v2/workspaces/{workspace_id}/plans``), OAuth bearer auth on the Platform host.

Where the page and the spec disagree the client accepts both: the plan list may or may not carry
``version_document`` (the page says it is left out, the spec's example has it), and timestamps come with
or without a zone.

The pure logic behind "data plans as code" (:func:`load_plan_document`, :func:`version_changes`, ...) is
in :mod:`~airflow_provider_mparticle.client.data_planning.documents`, the typed answers in
:mod:`~airflow_provider_mparticle.client.data_planning.models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.answers import require_list
from airflow_provider_mparticle.client.core.errors import MParticleNotFoundError
from airflow_provider_mparticle.client.core.messages import (
    LIST,
    NO_CONTENT,
    ApiRequest,
    ApiResponse,
    Call,
    ignore_body,
    path_segment,
)
from airflow_provider_mparticle.client.data_planning.documents import (
    ActivatedEnvironment,
    DataPlanDocumentError,
    PlanDocument,
    PlannedVersion,
    check_version_document,
    check_version_number,
    load_plan_document,
    request_document,
    version_changes,
)
from airflow_provider_mparticle.client.data_planning.models import (
    BatchValidationResult,
    DataPlan,
    DataPlanVersion,
)
from airflow_provider_mparticle.client.plans import DRAFT, LIVE, ChangePlan, Comparison

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport

__all__ = [
    "AsyncDataPlanningApi",
    "DataPlanningApi",
    "DataPlanningCalls",
    "plan_data_plan",
]


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
