"""Warehouse Sync API v2: connections, data models, data pipelines, triggers, reports and runs.

Implements https://docs.mparticle.com/developers/apis/warehouse-sync-api/reference/
(``/platform/v2/workspaces/{workspace_id}/...``), OAuth bearer auth.

The typed answers and status sets are in
:mod:`~airflow_provider_mparticle.client.warehouse_sync.models` and importable from here as before.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core.answers import require_list
from airflow_provider_mparticle.client.core.errors import MParticleConfigError
from airflow_provider_mparticle.client.core.messages import (
    LIST,
    NO_CONTENT,
    ApiRequest,
    ApiResponse,
    Call,
    check_id,
    ignore_body,
    path_segment,
)
from airflow_provider_mparticle.client.warehouse_sync.models import (
    DataModel,
    Pipeline,
    PipelineReport,
    PipelineRun,
    RunsPage,
    TriggerResult,
    WarehouseConnection,
)

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport

__all__ = [
    "AsyncWarehouseSyncApi",
    "WarehouseSyncApi",
    "WarehouseSyncCalls",
]

_SLUG = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_resource(body: Mapping[str, Any], what: str, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise MParticleConfigError(f"The {what} must be a JSON object, got {type(body).__name__}.")
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        raise MParticleConfigError(f"The {what} is missing required field(s): {', '.join(missing)}.")
    if "id" in required and not _SLUG.match(str(body["id"])):
        raise MParticleConfigError(
            f"The {what} field 'id' is {body['id']!r}; use letters, numbers, '_' and '-' only."
        )
    return dict(body)


CONNECTION_FIELDS = ("id", "name", "state", "service_provider", "config")
DATA_MODEL_FIELDS = ("id", "name", "type", "config")
PIPELINE_FIELDS = (
    "id", "name", "pipeline_type", "connection_id", "data_model_id", "state", "sync_mode", "schedule",
    "environment",
)  # fmt: skip


class WarehouseSyncCalls:
    """The calls of the Warehouse Sync API for one workspace, shared by both clients."""

    def __init__(self, settings: ClientSettings) -> None:
        workspace = path_segment(settings.require_workspace(), "workspace id")
        self.base = f"{settings.api_base_url}/platform/v2/workspaces/{workspace}"

    def _request(self, method: str, path: str, **kwargs: Any) -> ApiRequest:
        return ApiRequest(method, self.base + path, "bearer", **kwargs)

    # --- connections ----------------------------------------------------------------------------

    def list_connections(self, service_provider: str | None = None) -> Call[list[WarehouseConnection]]:
        params = {"serviceProvider": service_provider} if service_provider else None

        def parse(response: ApiResponse) -> list[WarehouseConnection]:
            items = require_list(response.body, "the connection list")
            return [WarehouseConnection.from_api(item) for item in items]

        return Call(self._request("GET", "/connections", params=params, expect=LIST), parse)

    def get_connection(self, connection_id: str) -> Call[WarehouseConnection]:
        path = f"/connections/{path_segment(connection_id, 'connection id')}"
        return Call(self._request("GET", path), lambda r: WarehouseConnection.from_api(r.body))

    def create_connection(self, body: Mapping[str, Any]) -> Call[WarehouseConnection]:
        payload = _check_resource(body, "connection", CONNECTION_FIELDS)
        return Call(
            self._request("POST", "/connections", json=payload),
            lambda r: WarehouseConnection.from_api(r.body),
        )

    def update_connection(self, connection_id: str, body: Mapping[str, Any]) -> Call[WarehouseConnection]:
        payload = _check_resource(body, "connection", CONNECTION_FIELDS)
        path = f"/connections/{path_segment(connection_id, 'connection id')}"
        return Call(self._request("PUT", path, json=payload), lambda r: WarehouseConnection.from_api(r.body))

    def delete_connection(self, connection_id: str) -> Call[None]:
        return Call(
            self._request(
                "DELETE", f"/connections/{path_segment(connection_id, 'connection id')}", expect=NO_CONTENT
            ),
            ignore_body,
        )

    # --- data models ----------------------------------------------------------------------------

    def list_data_models(self) -> Call[list[DataModel]]:
        def parse(response: ApiResponse) -> list[DataModel]:
            items = require_list(response.body, "the data model list")
            return [DataModel.from_api(item) for item in items]

        return Call(self._request("GET", "/data-models", expect=LIST), parse)

    def get_data_model(self, model_id: str) -> Call[DataModel]:
        path = f"/data-models/{path_segment(model_id, 'data model id')}"
        return Call(self._request("GET", path), lambda r: DataModel.from_api(r.body))

    def create_data_model(self, body: Mapping[str, Any]) -> Call[DataModel]:
        payload = _check_resource(body, "data model", DATA_MODEL_FIELDS)
        return Call(self._request("POST", "/data-models", json=payload), lambda r: DataModel.from_api(r.body))

    def update_data_model(self, model_id: str, body: Mapping[str, Any]) -> Call[DataModel]:
        payload = _check_resource(body, "data model", DATA_MODEL_FIELDS)
        path = f"/data-models/{path_segment(model_id, 'data model id')}"
        return Call(self._request("PUT", path, json=payload), lambda r: DataModel.from_api(r.body))

    def delete_data_model(self, model_id: str) -> Call[None]:
        return Call(
            self._request(
                "DELETE", f"/data-models/{path_segment(model_id, 'data model id')}", expect=NO_CONTENT
            ),
            ignore_body,
        )

    # --- pipelines ------------------------------------------------------------------------------

    def _pipeline_path(self, pipeline_id: str, suffix: str = "") -> str:
        return f"/inputs/data-pipelines/{path_segment(pipeline_id, 'pipeline id')}{suffix}"

    def list_pipelines(self) -> Call[list[Pipeline]]:
        def parse(response: ApiResponse) -> list[Pipeline]:
            items = require_list(response.body, "the pipeline list")
            return [Pipeline.from_api(item) for item in items]

        return Call(self._request("GET", "/inputs/data-pipelines", expect=LIST), parse)

    def get_pipeline(self, pipeline_id: str) -> Call[Pipeline]:
        return Call(
            self._request("GET", self._pipeline_path(pipeline_id)), lambda r: Pipeline.from_api(r.body)
        )

    def create_pipeline(self, body: Mapping[str, Any]) -> Call[Pipeline]:
        payload = _check_resource(body, "pipeline", PIPELINE_FIELDS)
        return Call(
            self._request("POST", "/inputs/data-pipelines", json=payload), lambda r: Pipeline.from_api(r.body)
        )

    def update_pipeline(self, pipeline_id: str, body: Mapping[str, Any]) -> Call[Pipeline]:
        payload = _check_resource(body, "pipeline", PIPELINE_FIELDS)
        return Call(
            self._request("PUT", self._pipeline_path(pipeline_id), json=payload),
            lambda r: Pipeline.from_api(r.body),
        )

    def delete_pipeline(self, pipeline_id: str) -> Call[None]:
        return Call(self._request("DELETE", self._pipeline_path(pipeline_id), expect=NO_CONTENT), ignore_body)

    def trigger(self, pipeline_id: str) -> Call[TriggerResult]:
        body = {"pipeline_id": check_id(pipeline_id, "pipeline id")}
        return Call(
            self._request("POST", "/inputs/data-pipelines/trigger", json=body),
            lambda r: TriggerResult.from_api(r.body),
        )

    def report(self, pipeline_id: str) -> Call[PipelineReport]:
        return Call(
            self._request("GET", self._pipeline_path(pipeline_id, "/report")),
            lambda r: PipelineReport.from_api(r.body),
        )

    def runs(
        self,
        pipeline_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> Call[RunsPage]:
        params: dict[str, Any] = {}
        if page is not None:
            if int(page) < 1:
                raise MParticleConfigError(f"Runs 'page' must be at least 1, got {page}.")
            params["currentPage"] = int(page)
        if page_size is not None:
            if int(page_size) < 1:
                raise MParticleConfigError(f"Runs 'page_size' must be at least 1, got {page_size}.")
            params["pageSize"] = int(page_size)
        if start_date:
            params["startDate"] = start_date
        if end_date:
            params["endDate"] = end_date
        return Call(
            self._request("GET", self._pipeline_path(pipeline_id, "/runs"), params=params or None),
            lambda r: RunsPage.from_api(r.body),
        )

    def run(self, pipeline_id: str, run_id: int | str) -> Call[PipelineRun]:
        path = self._pipeline_path(pipeline_id, f"/runs/{path_segment(run_id, 'pipeline run id')}")
        return Call(self._request("GET", path), lambda r: PipelineRun.from_api(r.body))


class WarehouseSyncApi:
    """Warehouse Sync API over the sync transport."""

    def __init__(self, transport: SyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = WarehouseSyncCalls(settings)

    def list_connections(self, service_provider: str | None = None) -> list[WarehouseConnection]:
        """Every warehouse connection, optionally of one provider (``Snowflake``, ``BigQuery``, ...)."""
        return self._transport.execute(self.calls.list_connections(service_provider))

    def get_connection(self, connection_id: str) -> WarehouseConnection:
        return self._transport.execute(self.calls.get_connection(connection_id))

    def create_connection(self, body: Mapping[str, Any]) -> WarehouseConnection:
        """Create a connection (``id``, ``name``, ``state``, ``service_provider``, ``config``)."""
        return self._transport.execute(self.calls.create_connection(body))

    def update_connection(self, connection_id: str, body: Mapping[str, Any]) -> WarehouseConnection:
        """Replace a connection; this also clears its fault."""
        return self._transport.execute(self.calls.update_connection(connection_id, body))

    def delete_connection(self, connection_id: str) -> None:
        self._transport.execute(self.calls.delete_connection(connection_id))

    def list_data_models(self) -> list[DataModel]:
        return self._transport.execute(self.calls.list_data_models())

    def get_data_model(self, model_id: str) -> DataModel:
        return self._transport.execute(self.calls.get_data_model(model_id))

    def create_data_model(self, body: Mapping[str, Any]) -> DataModel:
        """Create a data model (``id``, ``name``, ``type: sql``, ``config.sql_query``)."""
        return self._transport.execute(self.calls.create_data_model(body))

    def update_data_model(self, model_id: str, body: Mapping[str, Any]) -> DataModel:
        return self._transport.execute(self.calls.update_data_model(model_id, body))

    def delete_data_model(self, model_id: str) -> None:
        self._transport.execute(self.calls.delete_data_model(model_id))

    def list_pipelines(self) -> list[Pipeline]:
        return self._transport.execute(self.calls.list_pipelines())

    def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return self._transport.execute(self.calls.get_pipeline(pipeline_id))

    def create_pipeline(self, body: Mapping[str, Any]) -> Pipeline:
        """Create a pipeline; see the reference for the fields of ``sync_mode`` and ``schedule``."""
        return self._transport.execute(self.calls.create_pipeline(body))

    def update_pipeline(self, pipeline_id: str, body: Mapping[str, Any]) -> Pipeline:
        return self._transport.execute(self.calls.update_pipeline(pipeline_id, body))

    def delete_pipeline(self, pipeline_id: str) -> None:
        self._transport.execute(self.calls.delete_pipeline(pipeline_id))

    def set_pipeline_state(self, pipeline_id: str, state: str) -> Pipeline:
        """Set a pipeline's ``state`` (``active`` or ``paused``) by sending it back with PUT."""
        pipeline = self.get_pipeline(pipeline_id)
        return self.update_pipeline(pipeline_id, {**pipeline.writable_body(), "state": state})

    def pause_pipeline(self, pipeline_id: str) -> Pipeline:
        """Pause a pipeline (``state: paused``), the documented way to stop syncing."""
        return self.set_pipeline_state(pipeline_id, "paused")

    def resume_pipeline(self, pipeline_id: str) -> Pipeline:
        """Resume a paused pipeline (``state: active``)."""
        return self.set_pipeline_state(pipeline_id, "active")

    def trigger(self, pipeline_id: str) -> TriggerResult:
        """Start a run. Raises MParticleValidationError "Pipeline X is already in progress." if not idle."""
        return self._transport.execute(self.calls.trigger(pipeline_id))

    def report(self, pipeline_id: str) -> PipelineReport:
        """Pipeline, connection and data model status and errors, and the latest run."""
        return self._transport.execute(self.calls.report(pipeline_id))

    def runs(
        self,
        pipeline_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> RunsPage:
        """One page of runs; dates filter on ``logical_date`` (ISO 8601)."""
        return self._transport.execute(
            self.calls.runs(
                pipeline_id, page=page, page_size=page_size, start_date=start_date, end_date=end_date
            )
        )

    def iter_runs(
        self,
        pipeline_id: str,
        *,
        page_size: int = 50,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> Iterator[PipelineRun]:
        """Every run across all pages."""
        page = 1
        while True:
            result = self.runs(
                pipeline_id, page=page, page_size=page_size, start_date=start_date, end_date=end_date
            )
            yield from result.items
            if not result.has_next_page or not result.items:
                return
            page += 1

    def run(self, pipeline_id: str, run_id: int | str) -> PipelineRun:
        return self._transport.execute(self.calls.run(pipeline_id, run_id))


class AsyncWarehouseSyncApi:
    """Warehouse Sync API over the async transport; same methods as :class:`WarehouseSyncApi`."""

    def __init__(self, transport: AsyncTransport, settings: ClientSettings) -> None:
        self._transport = transport
        self.calls = WarehouseSyncCalls(settings)

    async def list_connections(self, service_provider: str | None = None) -> list[WarehouseConnection]:
        return await self._transport.execute(self.calls.list_connections(service_provider))

    async def get_connection(self, connection_id: str) -> WarehouseConnection:
        return await self._transport.execute(self.calls.get_connection(connection_id))

    async def create_connection(self, body: Mapping[str, Any]) -> WarehouseConnection:
        return await self._transport.execute(self.calls.create_connection(body))

    async def update_connection(self, connection_id: str, body: Mapping[str, Any]) -> WarehouseConnection:
        return await self._transport.execute(self.calls.update_connection(connection_id, body))

    async def delete_connection(self, connection_id: str) -> None:
        await self._transport.execute(self.calls.delete_connection(connection_id))

    async def list_data_models(self) -> list[DataModel]:
        return await self._transport.execute(self.calls.list_data_models())

    async def get_data_model(self, model_id: str) -> DataModel:
        return await self._transport.execute(self.calls.get_data_model(model_id))

    async def create_data_model(self, body: Mapping[str, Any]) -> DataModel:
        return await self._transport.execute(self.calls.create_data_model(body))

    async def update_data_model(self, model_id: str, body: Mapping[str, Any]) -> DataModel:
        return await self._transport.execute(self.calls.update_data_model(model_id, body))

    async def delete_data_model(self, model_id: str) -> None:
        await self._transport.execute(self.calls.delete_data_model(model_id))

    async def list_pipelines(self) -> list[Pipeline]:
        return await self._transport.execute(self.calls.list_pipelines())

    async def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self._transport.execute(self.calls.get_pipeline(pipeline_id))

    async def create_pipeline(self, body: Mapping[str, Any]) -> Pipeline:
        return await self._transport.execute(self.calls.create_pipeline(body))

    async def update_pipeline(self, pipeline_id: str, body: Mapping[str, Any]) -> Pipeline:
        return await self._transport.execute(self.calls.update_pipeline(pipeline_id, body))

    async def delete_pipeline(self, pipeline_id: str) -> None:
        await self._transport.execute(self.calls.delete_pipeline(pipeline_id))

    async def set_pipeline_state(self, pipeline_id: str, state: str) -> Pipeline:
        pipeline = await self.get_pipeline(pipeline_id)
        return await self.update_pipeline(pipeline_id, {**pipeline.writable_body(), "state": state})

    async def pause_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self.set_pipeline_state(pipeline_id, "paused")

    async def resume_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self.set_pipeline_state(pipeline_id, "active")

    async def trigger(self, pipeline_id: str) -> TriggerResult:
        return await self._transport.execute(self.calls.trigger(pipeline_id))

    async def report(self, pipeline_id: str) -> PipelineReport:
        return await self._transport.execute(self.calls.report(pipeline_id))

    async def runs(
        self,
        pipeline_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> RunsPage:
        return await self._transport.execute(
            self.calls.runs(
                pipeline_id, page=page, page_size=page_size, start_date=start_date, end_date=end_date
            )
        )

    async def iter_runs(
        self,
        pipeline_id: str,
        *,
        page_size: int = 50,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> AsyncIterator[PipelineRun]:
        page = 1
        while True:
            result = await self.runs(
                pipeline_id, page=page, page_size=page_size, start_date=start_date, end_date=end_date
            )
            for item in result.items:
                yield item
            if not result.has_next_page or not result.items:
                return
            page += 1

    async def run(self, pipeline_id: str, run_id: int | str) -> PipelineRun:
        return await self._transport.execute(self.calls.run(pipeline_id, run_id))
