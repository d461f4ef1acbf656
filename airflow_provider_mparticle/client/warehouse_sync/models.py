"""Warehouse Sync API v2: the typed answers (connections, data models, pipelines, runs, reports) and the
status sets, read strictly: a run or pipeline whose status cannot be read is an error, never "running".

Where the reference disagrees with itself the client accepts both forms: run ids are integers in the
examples and strings in the report table; record counts are integers in the examples and strings in the
table; the on-demand schedule is spelled ``on_demand`` and ``on-demand``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

from airflow_provider_mparticle.client.core.answers import (
    AnswerShapeError,
    parse_enum,
    require_field,
    require_list,
    require_object,
)
from airflow_provider_mparticle.client.core.errors import MParticleConfigError, MParticleValidationError
from airflow_provider_mparticle.client.core.messages import as_object

# Fields the API computes; they are dropped from a resource before it is sent back with PUT.
READ_ONLY_FIELDS = frozenset(
    {"status", "errors", "created_on", "created_by", "last_modified_on", "last_modified_by"}
)
ALREADY_IN_PROGRESS = re.compile(r"already in progress", re.IGNORECASE)


class _Status(StrEnum):
    """A status enum read leniently from an answer (the strict checks are the callers')."""

    @classmethod
    def parse(cls, value: Any) -> Self | None:
        """The status, or None for a value this client does not know."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            return None


class PipelineStatus(_Status):
    """Status of a pipeline (``GET .../data-pipelines/{id}`` and ``/report``)."""

    IDLE = "idle"
    RUNNING = "running"
    FAULTED = "faulted"
    STOPPED = "stopped"


class PipelineRunStatus(_Status):
    """Status of a pipeline run. ``retrying`` is a run that failed an attempt and will try again."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    STOPPED = "stopped"
    RETRYING = "retrying"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES

    @property
    def is_success(self) -> bool:
        return self in SUCCESS_RUN_STATUSES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_RUN_STATUSES


PIPELINE_STATUSES = ", ".join(s.value for s in PipelineStatus)
RUN_STATUSES = ", ".join(s.value for s in PipelineRunStatus)
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


def _resource_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The fields every Warehouse Sync resource answer has (id, name, state, status, errors)."""
    return {
        "id": str(data.get("id", "")),
        "name": str(data.get("name", "")),
        "state": data.get("state"),
        "status": data.get("status"),
        "errors": _messages(data.get("errors")),
    }


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
        data = require_object(body, "a warehouse connection")
        return cls(
            **_resource_fields(data),
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
        data = require_object(body, "a data model")
        return cls(
            **_resource_fields(data),
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
        data = require_object(body, "a pipeline")
        return cls(
            id=require_field(data, "id", str, "a pipeline"),
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
    """One run of a pipeline."""

    id: int | str | None
    pipeline_id: str | None
    type: str | None
    status: PipelineRunStatus
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
        """Read a run; one whose status cannot be read (missing, not a string, or not a documented
        status) is an error, never "still running" (a sensor would poll it until its timeout)."""
        data = require_object(body, "a pipeline run")
        status = parse_enum(
            data.get("status"), PipelineRunStatus.parse, "the pipeline run status", RUN_STATUSES
        )
        return cls(
            id=_run_id(data.get("id")),
            pipeline_id=data.get("pipeline_id"),
            type=data.get("type"),
            status=status,
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
        return self.status.is_terminal

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
        data = require_object(body, "a pipeline report")
        latest = data.get("latest_pipeline_run")
        status = parse_enum(
            data.get("status"), PipelineStatus.parse, "the pipeline status", PIPELINE_STATUSES
        )
        return cls(
            pipeline_id=data.get("pipeline_id"),
            status=status,
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
        data = require_object(body, "a trigger answer")
        run_id = _run_id(data.get("pipeline_run_id"))
        if run_id is None:
            raise AnswerShapeError("a trigger answer has no 'pipeline_run_id'")
        return cls(pipeline_run_id=run_id, status=data.get("status"))


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
        data = require_object(body, "a page of pipeline runs")
        items = require_list(data.get("items"), "the 'items' of a page of pipeline runs")
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


class KillPolicy(StrEnum):
    """What killing a task that triggered a pipeline run does: the API cannot stop a run.

    ``detach`` leaves the run going and logs its id and link; ``pause_pipeline`` also pauses the
    pipeline, so that no further scheduled run starts (the current run still finishes).
    """

    DETACH = "detach"
    PAUSE_PIPELINE = "pause_pipeline"

    @classmethod
    def parse(cls, value: Any, where: str = "on_kill") -> KillPolicy:
        """Read a policy, failing with the accepted values.

        :param value: ``detach`` or ``pause_pipeline`` (any case).
        :param where: the parameter's name, for the message.
        """
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(repr(p.value) for p in cls)
            raise MParticleConfigError(f"{where}: {value!r} is not one of {names}.") from None

    def message(self, pipeline_id: str, run_id: int | str | None, url: str) -> str:
        """What the policy did, for the task's log (after the pause, for ``pause_pipeline``).

        :param pipeline_id: the pipeline.
        :param run_id: the run the task was waiting for (None: the trigger had not answered).
        :param url: the pipeline's page.
        """
        run = f"run {run_id}" if run_id is not None else "the run it may have started"
        keeps = f"Pipeline {pipeline_id} {run} keeps running in mParticle (the API cannot stop a run): {url}"
        if self is KillPolicy.DETACH:
            return f"Task killed; detached (on_kill='detach'). {keeps}"
        return (
            f"Task killed; paused pipeline {pipeline_id} (on_kill='pause_pipeline') so that no further "
            f"scheduled run starts. {keeps}. Resume it with MParticleResumePipelineOperator when ready."
        )


# A run whose logical date is at most this much before the intent's time still counts as ours: the
# worker's clock and mParticle's differ, and a run already going when we triggered would have made the
# trigger answer "already in progress" (which the operator attaches to anyway).
INTENT_CLOCK_SKEW = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class TriggerIntent:
    """What a trigger is about to do, stored before the POST so that a retry can tell what happened.

    :param pipeline_id: the pipeline being triggered.
    :param at: when the trigger was about to be sent (UTC, ISO 8601).
    :param try_number: the task try that sent it (None outside Airflow).
    :param run_id: the run the trigger answered with; None while the answer has not been stored.
    """

    pipeline_id: str
    at: str
    try_number: int | None = None
    run_id: int | str | None = None

    @classmethod
    def now(cls, pipeline_id: str, try_number: int | None = None) -> TriggerIntent:
        return cls(pipeline_id, dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), try_number)

    @classmethod
    def from_json(cls, value: Any) -> TriggerIntent | None:
        """The intent stored as JSON, or None when ``value`` is not one."""
        if not isinstance(value, Mapping) or not value.get("pipeline_id") or not value.get("at"):
            return None
        try_number = value.get("try_number")
        return cls(
            str(value["pipeline_id"]),
            str(value["at"]),
            int(try_number) if isinstance(try_number, int) else None,
            _run_id(value.get("run_id")),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline_id": self.pipeline_id,
            "at": self.at,
            "try_number": self.try_number,
            "run_id": self.run_id,
        }

    def answered(self, run_id: int | str) -> TriggerIntent:
        """The same intent with the run the trigger answered with."""
        return TriggerIntent(self.pipeline_id, self.at, self.try_number, run_id)

    @property
    def search_from(self) -> str:
        """The ``startDate`` from which to look for the run this intent may have started."""
        return (_parse_time(self.at) - INTENT_CLOCK_SKEW).isoformat(timespec="milliseconds")


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def run_started_by(intent: TriggerIntent, runs: Iterable[PipelineRun]) -> PipelineRun | None:
    """The run an unanswered trigger started: the earliest run of the pipeline from the intent's time on.

    Runs are read from ``startDate = intent.search_from`` (the intent's time less the clock skew); the
    earliest ``manual`` one (scheduled runs are the pipeline's own) started from then on is the trigger's,
    since the pipeline refuses a trigger while a run is in flight. A run's start is its ``started_on``,
    or its ``logical_date`` while it is queued.

    :param intent: the stored intent, without a run id.
    :param runs: the pipeline's runs (any order).
    """
    low = _parse_time(intent.search_from)
    candidates = []
    for run in runs:
        if run.id is None or run.pipeline_id not in (None, intent.pipeline_id):
            continue
        if (run.type or "manual").lower() == "scheduled":
            continue
        when = run.started_on or run.logical_date
        try:
            started = _parse_time(when) if when else None
        except ValueError:
            started = None
        if started is not None and started >= low:
            candidates.append((started, str(run.id), run))
    return min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None
