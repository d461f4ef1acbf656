"""Warehouse Sync API v2: connections, data models, data pipelines, triggers, reports and runs.

Implements https://docs.mparticle.com/developers/apis/warehouse-sync-api/reference/
(``/platform/v2/workspaces/{workspace_id}/...``), OAuth bearer auth.

Where the reference disagrees with itself the client accepts both forms: run ids are integers in the
examples and strings in the report table; record counts are integers in the examples and strings in the
table; the on-demand schedule is spelled ``on_demand`` and ``on-demand``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.core import ApiRequest, ApiResponse, Call, as_object, ignore_body
from airflow_provider_mparticle.client.errors import MParticleConfigError, MParticleValidationError

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.config import ClientSettings
    from airflow_provider_mparticle.client.transport import AsyncTransport, SyncTransport

_SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
# Fields the API computes; they are dropped from a resource before it is sent back with PUT.
READ_ONLY_FIELDS = frozenset(
    {"status", "errors", "created_on", "created_by", "last_modified_on", "last_modified_by"}
)
ALREADY_IN_PROGRESS = re.compile(r"already in progress", re.IGNORECASE)


class PipelineStatus(StrEnum):
    """Status of a pipeline (``GET .../data-pipelines/{id}`` and ``/report``)."""

    IDLE = "idle"
    RUNNING = "running"
    FAULTED = "faulted"
    STOPPED = "stopped"

    @classmethod
    def parse(cls, value: Any) -> PipelineStatus | None:
        """The status, or None for a value this client does not know."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return None


class PipelineRunStatus(StrEnum):
    """Status of a pipeline run. ``retrying`` is a run that failed an attempt and will try again."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    STOPPED = "stopped"
    RETRYING = "retrying"

    @classmethod
    def parse(cls, value: Any) -> PipelineRunStatus | None:
        """The status, or None for a value this client does not know (treated as not finished)."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return None

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES

    @property
    def is_success(self) -> bool:
        return self in SUCCESS_RUN_STATUSES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_RUN_STATUSES


SUCCESS_RUN_STATUSES = frozenset({PipelineRunStatus.SUCCESS})
FAILURE_RUN_STATUSES = frozenset({PipelineRunStatus.FAILED, PipelineRunStatus.STOPPED})
TERMINAL_RUN_STATUSES = SUCCESS_RUN_STATUSES | FAILURE_RUN_STATUSES


def _messages(value: Any) -> list[str]:
    """``errors: [{"message": ...}]`` as a list of strings."""
    if not isinstance(value, list):
        return []
    result = []
    for item in value:
        if isinstance(item, dict) and item.get("message") is not None:
            result.append(str(item["message"]))
        elif isinstance(item, str):
            result.append(item)
    return result


def _count(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _run_id(value: Any) -> int | str | None:
    """Run ids are integers in the examples and strings in one table: keep integers as integers."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def parse_run_id(value: Any) -> int | str | None:
    """A pipeline run id as given by a user or a template: None when absent or blank, else as in answers.

    :param value: an int, its text (templated values arrive as text), or None.
    """
    if isinstance(value, str):
        value = value.strip() or None
    return _run_id(value)


@dataclass(frozen=True)
class WarehouseConnection:
    """A data warehouse connection; ``config`` comes back with secrets masked by mParticle."""

    id: str
    name: str
    state: str | None
    status: str | None
    errors: list[str]
    service_provider: str | None
    config: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> WarehouseConnection:
        data = as_object(body)
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            state=data.get("state"),
            status=data.get("status"),
            errors=_messages(data.get("errors")),
            service_provider=data.get("service_provider"),
            config=as_object(data.get("config")),
            raw=data,
        )


@dataclass(frozen=True)
class DataModel:
    """A SQL data model."""

    id: str
    name: str
    state: str | None
    status: str | None
    errors: list[str]
    type: str | None
    sql_query: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> DataModel:
        data = as_object(body)
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            state=data.get("state"),
            status=data.get("status"),
            errors=_messages(data.get("errors")),
            type=data.get("type"),
            sql_query=as_object(data.get("config")).get("sql_query"),
            raw=data,
        )


@dataclass(frozen=True)
class Pipeline:
    """A data pipeline: a data model run against a connection on a schedule or on demand."""

    id: str
    name: str
    pipeline_type: str | None
    connection_id: str | None
    data_model_id: str | None
    state: str | None
    status: PipelineStatus | None
    status_text: str | None
    errors: list[str]
    sync_mode: dict[str, Any]
    schedule: dict[str, Any]
    environment: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> Pipeline:
        data = as_object(body)
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            pipeline_type=data.get("pipeline_type"),
            connection_id=data.get("connection_id"),
            data_model_id=data.get("data_model_id"),
            state=data.get("state"),
            status=PipelineStatus.parse(data.get("status")),
            status_text=data.get("status"),
            errors=_messages(data.get("errors")),
            sync_mode=as_object(data.get("sync_mode")),
            schedule=as_object(data.get("schedule")),
            environment=data.get("environment"),
            raw=data,
        )

    @property
    def is_on_demand(self) -> bool:
        # The reference spells it both ways.
        return str(self.schedule.get("type", "")).replace("-", "_") == "on_demand"

    @property
    def is_paused(self) -> bool:
        return self.state == "paused"

    def writable_body(self) -> dict[str, Any]:
        """The pipeline as a PUT body: every field but the computed ones."""
        return {k: v for k, v in self.raw.items() if k not in READ_ONLY_FIELDS}


@dataclass(frozen=True)
class PipelineRun:
    """One run of a pipeline. ``status`` is None when mParticle sends a status this client does not know."""

    id: int | str | None
    pipeline_id: str | None
    type: str | None
    status: PipelineRunStatus | None
    status_text: str | None
    errors: list[str]
    logical_date: str | None
    started_on: str | None
    ended_on: str | None
    range_start: str | None
    range_end: str | None
    successful_records: int | None
    failed_records: int | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> PipelineRun:
        data = as_object(body)
        return cls(
            id=_run_id(data.get("id")),
            pipeline_id=data.get("pipeline_id"),
            type=data.get("type"),
            status=PipelineRunStatus.parse(data.get("status")),
            status_text=data.get("status"),
            errors=_messages(data.get("errors")),
            logical_date=data.get("logical_date"),
            started_on=data.get("started_on"),
            ended_on=data.get("ended_on"),
            range_start=data.get("range_start"),
            range_end=data.get("range_end"),
            successful_records=_count(data.get("successful_records")),
            failed_records=_count(data.get("failed_records")),
            raw=data,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status is not None and self.status.is_terminal

    def summary(self) -> dict[str, Any]:
        """JSON primitives describing the run (trigger events, XCom)."""
        return {
            "pipeline_id": self.pipeline_id,
            "run_id": self.id,
            "run_status": self.status_text,
            "successful_records": self.successful_records,
            "failed_records": self.failed_records,
            "errors": list(self.errors),
            "logical_date": self.logical_date,
            "started_on": self.started_on,
            "ended_on": self.ended_on,
        }

    def result(self) -> dict[str, Any]:
        """What a task waiting for the run returns (XCom): ids, status and record counts."""
        return {
            "pipeline_id": self.pipeline_id,
            "run_id": self.id,
            "status": self.status_text,
            "successful_records": self.successful_records,
            "failed_records": self.failed_records,
        }

    def failure_message(self, problems: list[str]) -> str:
        """The run's errors and the pipeline's, connection's and data model's ``problems``, in one line."""
        details = [*self.errors, *(p for p in problems if p.split(": ", 1)[-1] not in self.errors)]
        text = "; ".join(details) if details else "mParticle gave no error details"
        return f"Pipeline {self.pipeline_id} run {self.id} ended {self.status_text}: {text}"


@dataclass(frozen=True)
class PipelineReport:
    """``GET .../data-pipelines/{id}/report``: pipeline, connection and data model health, latest run."""

    pipeline_id: str | None
    status: PipelineStatus | None
    status_text: str | None
    errors: list[str]
    connection_status: str | None
    connection_errors: list[str]
    data_model_status: str | None
    data_model_errors: list[str]
    latest_successful_pipeline_run_id: int | str | None
    latest_pipeline_run: PipelineRun | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, body: Any) -> PipelineReport:
        data = as_object(body)
        latest = data.get("latest_pipeline_run")
        return cls(
            pipeline_id=data.get("pipeline_id"),
            status=PipelineStatus.parse(data.get("status")),
            status_text=data.get("status"),
            errors=_messages(data.get("errors")),
            connection_status=data.get("connection_status"),
            connection_errors=_messages(data.get("connection_errors")),
            data_model_status=data.get("data_model_status"),
            data_model_errors=_messages(data.get("data_model_errors")),
            latest_successful_pipeline_run_id=_run_id(data.get("latest_successful_pipeline_run_id")),
            latest_pipeline_run=PipelineRun.from_api(latest) if isinstance(latest, dict) else None,
            raw=data,
        )

    def problems(self) -> list[str]:
        """Every error the report carries, each prefixed with what it is about."""
        return [
            *(f"pipeline: {m}" for m in self.errors),
            *(f"connection: {m}" for m in self.connection_errors),
            *(f"data model: {m}" for m in self.data_model_errors),
        ]


@dataclass(frozen=True)
class TriggerResult:
    """``POST .../data-pipelines/trigger``: the new run's id and ``attempt_requested``."""

    pipeline_run_id: int | str | None
    status: str | None

    @classmethod
    def from_api(cls, body: Any) -> TriggerResult:
        data = as_object(body)
        return cls(pipeline_run_id=_run_id(data.get("pipeline_run_id")), status=data.get("status"))


@dataclass(frozen=True)
class RunsPage:
    """One page of ``GET .../data-pipelines/{id}/runs``."""

    items: list[PipelineRun]
    current_page: int
    page_size: int
    total_pages: int
    total_items: int
    has_previous_page: bool
    has_next_page: bool

    @classmethod
    def from_api(cls, body: Any) -> RunsPage:
        data = as_object(body)
        items = data.get("items") if isinstance(data.get("items"), list) else []
        return cls(
            items=[PipelineRun.from_api(item) for item in items or []],
            current_page=_count(data.get("current_page")) or 1,
            page_size=_count(data.get("page_size")) or len(items or []),
            total_pages=_count(data.get("total_pages")) or 0,
            total_items=_count(data.get("total_items")) or 0,
            has_previous_page=bool(data.get("has_previous_page")),
            has_next_page=bool(data.get("has_next_page")),
        )


def is_already_in_progress(error: BaseException) -> bool:
    """Whether a trigger was refused because the pipeline is not idle (400 "... already in progress.")."""
    return isinstance(error, MParticleValidationError) and any(
        ALREADY_IN_PROGRESS.search(m) for m in error.messages
    )


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


def _path_id(value: Any, what: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text or "/" in text:
        raise MParticleConfigError(f"Invalid {what} {value!r}.")
    return text


CONNECTION_FIELDS = ("id", "name", "state", "service_provider", "config")
DATA_MODEL_FIELDS = ("id", "name", "type", "config")
PIPELINE_FIELDS = (
    "id", "name", "pipeline_type", "connection_id", "data_model_id", "state", "sync_mode", "schedule",
    "environment",
)  # fmt: skip


class WarehouseSyncCalls:
    """The calls of the Warehouse Sync API for one workspace, shared by both clients."""

    def __init__(self, settings: ClientSettings) -> None:
        self.base = f"{settings.api_base_url}/platform/v2/workspaces/{settings.require_workspace()}"

    def _request(self, method: str, path: str, **kwargs: Any) -> ApiRequest:
        return ApiRequest(method, self.base + path, "bearer", **kwargs)

    # --- connections ----------------------------------------------------------------------------

    def list_connections(self, service_provider: str | None = None) -> Call[list[WarehouseConnection]]:
        params = {"serviceProvider": service_provider} if service_provider else None

        def parse(response: ApiResponse) -> list[WarehouseConnection]:
            items = response.body if isinstance(response.body, list) else []
            return [WarehouseConnection.from_api(item) for item in items]

        return Call(self._request("GET", "/connections", params=params), parse)

    def get_connection(self, connection_id: str) -> Call[WarehouseConnection]:
        path = f"/connections/{_path_id(connection_id, 'connection id')}"
        return Call(self._request("GET", path), lambda r: WarehouseConnection.from_api(r.body))

    def create_connection(self, body: Mapping[str, Any]) -> Call[WarehouseConnection]:
        payload = _check_resource(body, "connection", CONNECTION_FIELDS)
        return Call(
            self._request("POST", "/connections", json=payload),
            lambda r: WarehouseConnection.from_api(r.body),
        )

    def update_connection(self, connection_id: str, body: Mapping[str, Any]) -> Call[WarehouseConnection]:
        payload = _check_resource(body, "connection", CONNECTION_FIELDS)
        path = f"/connections/{_path_id(connection_id, 'connection id')}"
        return Call(self._request("PUT", path, json=payload), lambda r: WarehouseConnection.from_api(r.body))

    def delete_connection(self, connection_id: str) -> Call[None]:
        return Call(
            self._request("DELETE", f"/connections/{_path_id(connection_id, 'connection id')}"), ignore_body
        )

    # --- data models ----------------------------------------------------------------------------

    def list_data_models(self) -> Call[list[DataModel]]:
        def parse(response: ApiResponse) -> list[DataModel]:
            items = response.body if isinstance(response.body, list) else []
            return [DataModel.from_api(item) for item in items]

        return Call(self._request("GET", "/data-models"), parse)

    def get_data_model(self, model_id: str) -> Call[DataModel]:
        path = f"/data-models/{_path_id(model_id, 'data model id')}"
        return Call(self._request("GET", path), lambda r: DataModel.from_api(r.body))

    def create_data_model(self, body: Mapping[str, Any]) -> Call[DataModel]:
        payload = _check_resource(body, "data model", DATA_MODEL_FIELDS)
        return Call(self._request("POST", "/data-models", json=payload), lambda r: DataModel.from_api(r.body))

    def update_data_model(self, model_id: str, body: Mapping[str, Any]) -> Call[DataModel]:
        payload = _check_resource(body, "data model", DATA_MODEL_FIELDS)
        path = f"/data-models/{_path_id(model_id, 'data model id')}"
        return Call(self._request("PUT", path, json=payload), lambda r: DataModel.from_api(r.body))

    def delete_data_model(self, model_id: str) -> Call[None]:
        return Call(
            self._request("DELETE", f"/data-models/{_path_id(model_id, 'data model id')}"), ignore_body
        )

    # --- pipelines ------------------------------------------------------------------------------

    def _pipeline_path(self, pipeline_id: str, suffix: str = "") -> str:
        return f"/inputs/data-pipelines/{_path_id(pipeline_id, 'pipeline id')}{suffix}"

    def list_pipelines(self) -> Call[list[Pipeline]]:
        def parse(response: ApiResponse) -> list[Pipeline]:
            items = response.body if isinstance(response.body, list) else []
            return [Pipeline.from_api(item) for item in items]

        return Call(self._request("GET", "/inputs/data-pipelines"), parse)

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
        return Call(self._request("DELETE", self._pipeline_path(pipeline_id)), ignore_body)

    def trigger(self, pipeline_id: str) -> Call[TriggerResult]:
        body = {"pipeline_id": _path_id(pipeline_id, "pipeline id")}
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
        path = self._pipeline_path(pipeline_id, f"/runs/{_path_id(run_id, 'pipeline run id')}")
        return Call(self._request("GET", path), lambda r: PipelineRun.from_api(r.body))


class WarehouseSyncApi:
    """Warehouse Sync API over the sync transport."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self.calls = WarehouseSyncCalls(transport.settings)

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
    """Warehouse Sync API over the async transport (the read methods triggers need, and trigger)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self.calls = WarehouseSyncCalls(transport.settings)

    async def list_connections(self, service_provider: str | None = None) -> list[WarehouseConnection]:
        return await self._transport.execute(self.calls.list_connections(service_provider))

    async def get_connection(self, connection_id: str) -> WarehouseConnection:
        return await self._transport.execute(self.calls.get_connection(connection_id))

    async def list_data_models(self) -> list[DataModel]:
        return await self._transport.execute(self.calls.list_data_models())

    async def get_data_model(self, model_id: str) -> DataModel:
        return await self._transport.execute(self.calls.get_data_model(model_id))

    async def list_pipelines(self) -> list[Pipeline]:
        return await self._transport.execute(self.calls.list_pipelines())

    async def get_pipeline(self, pipeline_id: str) -> Pipeline:
        return await self._transport.execute(self.calls.get_pipeline(pipeline_id))

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
