"""Warehouse Sync API v2: connections, data models, pipelines, trigger, report and runs.

Documented rules implemented: pipeline status ``idle`` / ``running`` / ``faulted`` / ``stopped``; runs
go ``queued`` -> ``running`` (-> ``retrying`` -> ``running``) -> ``success`` | ``failed`` | ``stopped``
by the emulator's progress rule; the trigger answers 400 "Pipeline X is already in progress." while a run
is in flight; a faulted pipeline may be triggered again (the reference says both "400 if not idle" and
"use trigger to re-attempt a faulted pipeline": the emulator refuses only running and stopped pipelines);
a PUT clears the fault of what it replaces; at most 5 active pipelines; secrets come back masked; a
pipeline naming a missing connection or data model is refused. The field validations of the bodies (an
empty data model SQL, the fields each warehouse requires, a data plan without a version...) and the
refusal to update or delete a running pipeline are in
:mod:`~airflow_provider_mparticle.testing.emulator.warehouse_sync.rules`.

Control plane under ``/_emulator/warehouse-sync``: the outcome, record counts and errors of a
pipeline's next runs, holding a run until released, holding the trigger's *answer* (the run is created,
the HTTP answer waits ``answer_delay`` seconds or until released: a client killed meanwhile never learns
the run id), faults on connections and data models, and holding the answer of the next creates of a
kind (the object is created, the answer waits: a client killed meanwhile never learns that it exists).
Every trigger is in the shared journal (``POST .../inputs/data-pipelines/trigger``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.testing.emulator.errors import (
    EmulatorHTTPError,
    bad_request,
    not_found,
)
from airflow_provider_mparticle.testing.emulator.redaction import redact_body
from airflow_provider_mparticle.testing.emulator.state import Progress, iso
from airflow_provider_mparticle.testing.emulator.warehouse_sync import rules
from airflow_provider_mparticle.testing.emulator.warehouse_sync.models import (
    OUTCOMES,
    RunPlan,
    StoredResource,
    StoredRun,
)

if TYPE_CHECKING:
    from airflow_provider_mparticle.testing.emulator.state import EmulatorState


ACTOR = "airflow@emulator.local"


SLUG = re.compile(r"^[A-Za-z0-9_-]+$")


SECRET_CONFIG_KEYS = {"password", "service_account_key"}


MAX_ACTIVE_PIPELINES = 5


CONTROL = "/_emulator/warehouse-sync"


def parse_iso(value: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid date {value!r}.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class WarehouseSyncBackend:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        self.connections: dict[str, StoredResource] = {}
        self.data_models: dict[str, StoredResource] = {}
        self.pipelines: dict[str, StoredResource] = {}
        self.runs: dict[int, StoredRun] = {}
        self.plans: dict[str, RunPlan] = {}
        self.next_run_id = 1
        # Kind ("Connection", "Data model", "Pipeline") -> [creates left, seconds each answer is held].
        self.held_creates: dict[str, list[float]] = {}
        for answer in getattr(self, "held_answers", []):
            answer.set()
        # Trigger answers being held (see RunPlan.answer_delay); set() sends one.
        self.held_answers: list[asyncio.Event] = []

    def snapshot(self) -> dict[str, Any]:
        return {
            # The API never hands warehouse passwords back, so a snapshot need not hold them either.
            "connections": {k: redact_body(asdict(v)) for k, v in self.connections.items()},
            "data_models": {k: asdict(v) for k, v in self.data_models.items()},
            "pipelines": {k: asdict(v) for k, v in self.pipelines.items()},
            "runs": [asdict(run) for run in self.runs.values()],
            "plans": {k: asdict(v) for k, v in self.plans.items()},
            "next_run_id": self.next_run_id,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()
        for store in ("connections", "data_models", "pipelines"):
            getattr(self, store).update({k: StoredResource(**v) for k, v in (data.get(store) or {}).items()})
        for item in data.get("runs") or []:
            run = StoredRun(
                **{**item, "progress": Progress(**item["progress"]), "plan": RunPlan(**item["plan"])}
            )
            self.runs[run.id] = run
        self.plans = {k: RunPlan(**v) for k, v in (data.get("plans") or {}).items()}
        self.next_run_id = int(data.get("next_run_id") or max(self.runs, default=0) + 1)

    @property
    def now(self) -> float:
        return self.state.clock.now()

    # --- generic resources ------------------------------------------------------------------------

    @staticmethod
    def _get(store: dict[str, StoredResource], item_id: str, what: str) -> StoredResource:
        item = store.get(item_id)
        if item is None:
            raise not_found(f"{what} {item_id} was not found.")
        return item

    def _common(self, item: StoredResource) -> dict[str, Any]:
        return {
            "created_on": iso(item.created_on),
            "created_by": ACTOR,
            "last_modified_on": iso(item.modified_on) if item.modified_on else None,
            "last_modified_by": ACTOR if item.modified_on else None,
        }

    def _check_id(self, body: Any, path_id: str | None) -> str:
        """The id of a resource body (which must be a JSON object), matching the path's when updating."""
        if not isinstance(body, dict):
            raise bad_request("The request JSON was malformed.")
        item_id = body.get("id")
        if not isinstance(item_id, str) or not SLUG.match(item_id):
            raise bad_request("Field 'id' is required and may contain only letters, numbers, _ and -.")
        if path_id is not None and item_id != path_id:
            raise bad_request(f"Field 'id' ({item_id}) does not match the path ({path_id}).")
        return item_id

    def _store(
        self,
        store: dict[str, StoredResource],
        what: str,
        body: dict[str, Any],
        item_id: str,
        path_id: str | None,
    ) -> StoredResource:
        """Create (path_id None) or replace a validated resource; replacing it clears its fault."""
        if path_id is None and item_id in store:
            raise bad_request(f"{what} {item_id} already exists.")
        if path_id is not None:
            existing = self._get(store, path_id, what)
            # The reference: updating the affected resource clears the fault.
            existing.body, existing.modified_on, existing.fault = dict(body), self.now, []
            return existing
        item = StoredResource(dict(body), self.now)
        store[item_id] = item
        return item

    def create_answer_delay(self, what: str) -> float:
        """Seconds to hold the answer of a create of ``what`` just made (0: answer at once)."""
        held = self.held_creates.get(what)
        if not held or held[0] <= 0:
            return 0.0
        held[0] -= 1
        return held[1]

    # --- connections ------------------------------------------------------------------------------

    def connection_json(self, item: StoredResource) -> dict[str, Any]:
        body = item.body
        config = {
            k: ("************" if k in SECRET_CONFIG_KEYS else v)
            for k, v in (body.get("config") or {}).items()
        }
        return {
            "id": body["id"],
            "name": body.get("name"),
            "state": body.get("state"),
            "status": "faulted" if item.fault else "healthy",
            "errors": [{"message": m} for m in item.fault],
            "service_provider": body.get("service_provider"),
            "config": config,
            **self._common(item),
        }

    def put_connection(self, body: Any, path_id: str | None) -> StoredResource:
        item_id = self._check_id(body, path_id)
        rules.check_connection(body)
        return self._store(self.connections, "Connection", body, item_id, path_id)

    # --- data models ------------------------------------------------------------------------------

    def data_model_json(self, item: StoredResource) -> dict[str, Any]:
        body = item.body
        return {
            "id": body["id"],
            "name": body.get("name"),
            "state": body.get("state", "active"),
            "status": "invalid" if item.fault else "valid",
            "errors": [{"message": m} for m in item.fault],
            "type": body.get("type"),
            "config": body.get("config"),
            **self._common(item),
        }

    def put_data_model(self, body: Any, path_id: str | None) -> StoredResource:
        item_id = self._check_id(body, path_id)
        rules.check_data_model(body)
        return self._store(self.data_models, "Data model", body, item_id, path_id)

    # --- pipelines --------------------------------------------------------------------------------

    def active_run(self, pipeline_id: str) -> StoredRun | None:
        for run in self.runs.values():
            if run.pipeline_id == pipeline_id and run.status(self.now) not in OUTCOMES:
                return run
        return None

    def upstream_faults(self, pipeline: StoredResource) -> tuple[list[str], list[str]]:
        connection = self.connections.get(pipeline.body.get("connection_id", ""))
        model = self.data_models.get(pipeline.body.get("data_model_id", ""))
        return (connection.fault if connection else []), (model.fault if model else [])

    def pipeline_status(self, pipeline: StoredResource) -> str:
        if pipeline.body.get("state") == "paused":
            return "stopped"
        if self.active_run(pipeline.body["id"]) is not None:
            return "running"
        connection_fault, model_fault = self.upstream_faults(pipeline)
        if pipeline.fault or connection_fault or model_fault:
            return "faulted"
        return "idle"

    def pipeline_errors(self, pipeline: StoredResource) -> list[str]:
        connection_fault, model_fault = self.upstream_faults(pipeline)
        return [*pipeline.fault, *connection_fault, *model_fault]

    def pipeline_json(self, item: StoredResource) -> dict[str, Any]:
        self.settle(item)
        return {
            **item.body,
            "status": self.pipeline_status(item),
            "errors": [{"message": m} for m in self.pipeline_errors(item)],
            **self._common(item),
        }

    def settle(self, pipeline: StoredResource) -> None:
        """Apply finished runs to the pipeline: a failed run faults it, a successful one clears that."""
        finished = [
            r
            for r in self.runs.values()
            if r.pipeline_id == pipeline.body["id"] and r.status(self.now) in OUTCOMES
        ]
        if finished:
            last = max(finished, key=lambda r: r.id)
            if last.plan.outcome == "failed":
                pipeline.fault = list(last.plan.errors) or ["The pipeline run failed."]
            elif last.plan.outcome == "success":
                pipeline.fault = []

    def put_pipeline(self, body: Any, path_id: str | None) -> StoredResource:
        item_id = self._check_id(body, path_id)
        rules.check_pipeline(body)
        if path_id is not None and path_id in self.pipelines and self.active_run(path_id) is not None:
            rules.running_change(path_id, self.pipelines[path_id].body, body)
        if body["connection_id"] not in self.connections:
            raise bad_request(f"Connection {body['connection_id']} does not exist.")
        if body["data_model_id"] not in self.data_models:
            raise bad_request(f"Data model {body['data_model_id']} does not exist.")
        planning = self.state.backends.get("data_planning")
        rules.check_data_plan(body, getattr(planning, "plans", None), self.state.settings.workspace_id)
        if body["state"] == "active":
            active = sum(
                1
                for other_id, other in self.pipelines.items()
                if other.body.get("state") == "active" and other_id != item_id
            )
            if active >= MAX_ACTIVE_PIPELINES:
                raise bad_request(f"A workspace can have at most {MAX_ACTIVE_PIPELINES} active pipelines.")
        return self._store(self.pipelines, "Pipeline", body, item_id, path_id)

    def delete_pipeline(self, pipeline_id: str) -> None:
        pipeline = self._get(self.pipelines, pipeline_id, "Pipeline")
        if self.active_run(pipeline_id) is not None:
            rules.running_change(pipeline_id, pipeline.body, None)
        del self.pipelines[pipeline_id]
        for run_id in [r.id for r in self.runs.values() if r.pipeline_id == pipeline_id]:
            del self.runs[run_id]

    def delete_connection(self, connection_id: str) -> None:
        self.delete_used(self.connections, connection_id, "Connection", "connection_id")

    def delete_data_model(self, model_id: str) -> None:
        self.delete_used(self.data_models, model_id, "Data model", "data_model_id")

    def delete_used(self, store: dict[str, StoredResource], item_id: str, what: str, key: str) -> None:
        self._get(store, item_id, what)
        users = sorted(p for p, item in self.pipelines.items() if item.body.get(key) == item_id)
        if users:
            raise bad_request(f"{what} {item_id} is used by pipeline(s): {', '.join(users)}.")
        del store[item_id]

    # --- runs ----------------------------------------------------------------------------------

    def plan_for(self, pipeline_id: str) -> RunPlan:
        return self.plans.get(pipeline_id) or RunPlan()

    def trigger(self, body: Any) -> StoredRun:
        pipeline_id = body.get("pipeline_id") if isinstance(body, dict) else None
        if not pipeline_id:
            raise bad_request("Field 'pipeline_id' is required.")
        pipeline = self._get(self.pipelines, str(pipeline_id), "Pipeline")
        self.settle(pipeline)
        status = self.pipeline_status(pipeline)
        if status == "running":
            raise EmulatorHTTPError(400, f"Pipeline {pipeline_id} is already in progress.")
        if status == "stopped":
            raise EmulatorHTTPError(400, f"Pipeline {pipeline_id} is paused.")
        plan = self.plan_for(pipeline_id)
        connection_fault, model_fault = self.upstream_faults(pipeline)
        if connection_fault or model_fault:
            # Nothing syncs while the connection or data model is faulted: the retry fails with their errors.
            plan = RunPlan(
                "failed", [*connection_fault, *model_fault], 0, 0, plan.retrying, plan.hold, plan.answer_delay
            )
        previous = [
            r for r in self.runs.values() if r.pipeline_id == pipeline_id and r.plan.outcome == "success"
        ]
        now = self.now
        range_start = max((r.range_end for r in previous), default=pipeline.created_on)
        run = StoredRun(
            id=self.next_run_id,
            pipeline_id=pipeline_id,
            type="manual",
            logical_date=now,
            range_start=range_start,
            range_end=now,
            progress=self.state.progress(),
            plan=plan,
            held=plan.hold,
        )
        self.runs[run.id] = run
        self.next_run_id += 1
        return run

    def get_run(self, pipeline_id: str, run_id: int) -> StoredRun:
        self._get(self.pipelines, pipeline_id, "Pipeline")
        run = self.runs.get(run_id)
        if run is None or run.pipeline_id != pipeline_id:
            raise not_found(f"Pipeline run {run_id} was not found.")
        return run

    def report(self, pipeline_id: str) -> dict[str, Any]:
        pipeline = self._get(self.pipelines, pipeline_id, "Pipeline")
        runs = sorted(
            (r for r in self.runs.values() if r.pipeline_id == pipeline_id),
            key=lambda r: (r.logical_date, r.id),
        )
        latest = runs[-1].as_json(self.now) if runs else None
        successful = [r.id for r in runs if r.status(self.now) == "success"]
        connection = self.connections.get(pipeline.body.get("connection_id", ""))
        model = self.data_models.get(pipeline.body.get("data_model_id", ""))
        self.settle(pipeline)
        return {
            "pipeline_id": pipeline_id,
            "status": self.pipeline_status(pipeline),
            "errors": [{"message": m} for m in pipeline.fault],
            "connection_status": "faulted" if connection and connection.fault else "healthy",
            "connection_errors": [{"message": m} for m in (connection.fault if connection else [])],
            "data_model_status": "invalid" if model and model.fault else "valid",
            "data_model_errors": [{"message": m} for m in (model.fault if model else [])],
            "latest_successful_pipeline_run_id": successful[-1] if successful else None,
            "latest_pipeline_run": latest,
        }

    def list_runs(
        self, pipeline_id: str, page: int, page_size: int, start: str | None, end: str | None
    ) -> dict[str, Any]:
        self._get(self.pipelines, pipeline_id, "Pipeline")
        if page < 1 or page_size < 1:
            raise bad_request("currentPage and pageSize must be positive.")
        # Compared in whole milliseconds, the precision of the dates the API hands out.
        low = round(parse_iso(start) * 1000) if start else None
        high = round(parse_iso(end) * 1000) if end else None
        runs = [
            r
            for r in sorted(self.runs.values(), key=lambda r: r.id)
            if r.pipeline_id == pipeline_id
            and (low is None or int(r.logical_date * 1000) >= low)
            and (high is None or int(r.logical_date * 1000) <= high)
        ]
        total_pages = (len(runs) + page_size - 1) // page_size
        chosen = runs[(page - 1) * page_size : page * page_size]
        return {
            "items": [r.as_json(self.now) for r in chosen],
            "current_page": page,
            "page_size": page_size,
            "total_pages": total_pages,
            "total_items": len(runs),
            "has_previous_page": page > 1,
            "has_next_page": page < total_pages,
        }
