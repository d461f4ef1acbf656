"""The HTTP routes of the emulated Warehouse Sync API v2: requests in, answers out; the state and its rules are in :mod:`.backend`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from airflow_provider_mparticle.testing.emulator.errors import (
    EmulatorHTTPError,
    bad_request,
    not_found,
    read_json,
)
from airflow_provider_mparticle.testing.emulator.warehouse_sync.models import (
    StoredResource,
    run_plan,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState
from airflow_provider_mparticle.testing.emulator.warehouse_sync.backend import CONTROL, WarehouseSyncBackend


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = WarehouseSyncBackend(state)
    state.backends["warehouse_sync"] = backend
    base = "/platform/v2/workspaces/{workspace_id}"
    pipelines = base + "/inputs/data-pipelines"

    async def hold_answer(seconds: float) -> None:
        """Wait ``seconds`` or until the held answers are released (what was asked is already done)."""
        if seconds <= 0:
            return
        answer = asyncio.Event()
        backend.held_answers.append(answer)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answer.wait(), seconds)
        with contextlib.suppress(ValueError):
            backend.held_answers.remove(answer)

    def guard(request: Request, workspace_id: str) -> None:
        state.check_bearer(request.headers.get("authorization"))
        state.check_workspace(workspace_id)

    def item_routes(
        path: str,
        store: str,  # the backend's attribute (reset() replaces the dicts)
        what: str,
        to_json: Callable[[StoredResource], dict[str, Any]],
        put: Callable[[Any, str | None], StoredResource],
        delete: Callable[[str], None],
    ) -> None:
        """GET, POST (create) and PUT (replace) of one kind of resource answering its JSON; DELETE."""

        @app.get(path + "/{item_id}", name=f"get {what}")
        async def get_item(request: Request, workspace_id: str, item_id: str) -> JSONResponse:
            guard(request, workspace_id)
            return JSONResponse(to_json(backend._get(getattr(backend, store), item_id, what)))

        @app.post(path, name=f"create {what}")
        async def create_item(request: Request, workspace_id: str) -> JSONResponse:
            guard(request, workspace_id)
            created = put(await read_json(request), None)
            await hold_answer(backend.create_answer_delay(what))
            return JSONResponse(to_json(created))

        @app.put(path + "/{item_id}", name=f"update {what}")
        async def update_item(request: Request, workspace_id: str, item_id: str) -> JSONResponse:
            guard(request, workspace_id)
            return JSONResponse(to_json(put(await read_json(request), item_id)))

        @app.delete(path + "/{item_id}", name=f"delete {what}")
        async def delete_item(request: Request, workspace_id: str, item_id: str) -> Response:
            guard(request, workspace_id)
            delete(item_id)
            return Response(status_code=204)

    def fault_route(
        path: str,
        store: str,
        what: str,
        default: str,
        to_json: Callable[[StoredResource], dict[str, Any]],
    ) -> None:
        """Control plane: fault a resource (until it is next updated) with a message."""

        @app.post(CONTROL + path + "/{item_id}/fault", name=f"fault {what}")
        async def fault_item(request: Request, item_id: str) -> dict[str, Any]:
            item = backend._get(getattr(backend, store), item_id, what)
            message = (await control_body(request)).get("message") or default
            item.fault = [str(message)]
            return to_json(item)

    # --- connections ------------------------------------------------------------------------------

    @app.get(base + "/connections")
    async def list_connections(
        request: Request, workspace_id: str, serviceProvider: str | None = None
    ) -> JSONResponse:
        guard(request, workspace_id)
        items = [
            backend.connection_json(c)
            for c in backend.connections.values()
            if serviceProvider is None or c.body.get("service_provider") == serviceProvider
        ]
        return JSONResponse(items)

    item_routes(
        base + "/connections",
        "connections",
        "Connection",
        backend.connection_json,
        backend.put_connection,
        backend.delete_connection,
    )

    # --- data models ------------------------------------------------------------------------------

    @app.get(base + "/data-models")
    async def list_models(request: Request, workspace_id: str) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse([backend.data_model_json(m) for m in backend.data_models.values()])

    item_routes(
        base + "/data-models",
        "data_models",
        "Data model",
        backend.data_model_json,
        backend.put_data_model,
        backend.delete_data_model,
    )

    # --- pipelines --------------------------------------------------------------------------------

    @app.get(pipelines)
    async def list_pipelines(request: Request, workspace_id: str) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse([backend.pipeline_json(p) for p in backend.pipelines.values()])

    @app.post(pipelines + "/trigger")
    async def trigger(request: Request, workspace_id: str) -> JSONResponse:
        guard(request, workspace_id)
        try:
            run = backend.trigger(await read_json(request))
        except EmulatorHTTPError as error:
            if error.status_code != 400:
                raise
            # The reference's error example carries ``statusCode`` beside ``errors``.
            return JSONResponse(
                {"statusCode": 400, "errors": [{"message": m} for m in error.messages]}, status_code=400
            )
        # The run exists from here on; only the answer waits (until released or the delay is over).
        await hold_answer(run.plan.answer_delay)
        return JSONResponse({"pipeline_run_id": run.id, "status": "attempt_requested"})

    item_routes(
        pipelines,
        "pipelines",
        "Pipeline",
        backend.pipeline_json,
        backend.put_pipeline,
        backend.delete_pipeline,
    )

    @app.get(pipelines + "/{item_id}/report")
    async def report(request: Request, workspace_id: str, item_id: str) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse(backend.report(item_id))

    @app.get(pipelines + "/{item_id}/runs")
    async def list_runs(
        request: Request,
        workspace_id: str,
        item_id: str,
        currentPage: int = 1,
        pageSize: int = 50,
        startDate: str | None = None,
        endDate: str | None = None,
    ) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse(backend.list_runs(item_id, currentPage, pageSize, startDate, endDate))

    @app.get(pipelines + "/{item_id}/runs/{run_id}")
    async def get_run(request: Request, workspace_id: str, item_id: str, run_id: int) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse(backend.get_run(item_id, run_id).as_json(backend.now))

    # --- control plane ----------------------------------------------------------------------------

    async def control_body(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        if body is not None and not isinstance(body, dict):
            raise bad_request("Control requests take a JSON object.")
        return body or {}

    @app.post(CONTROL + "/pipelines/{item_id}/plan")
    async def set_plan(request: Request, item_id: str) -> dict[str, Any]:
        """How the pipeline's next runs end: outcome, errors, record counts, retrying, hold, answer_delay."""
        backend.plans[item_id] = run_plan(await control_body(request))
        return vars(backend.plans[item_id])

    @app.post(CONTROL + "/runs/{run_id}/release")
    async def release(request: Request, run_id: int) -> dict[str, Any]:
        """Let a held run finish (optionally with another outcome); it ends on its next read."""
        run = backend.runs.get(run_id)
        if run is None:
            raise not_found(f"Pipeline run {run_id} was not found.")
        body = await control_body(request)
        if body:
            run.plan = run_plan(body, run.plan)
        run.held = False
        run.progress.mode = "immediate"
        return run.as_json(backend.now, read=False)

    @app.post(CONTROL + "/create-answers/hold")
    async def hold_create_answers(request: Request) -> dict[str, Any]:
        """Hold the answer of the next ``times`` creates of ``kind`` (``Connection``, ``Data model``,
        ``Pipeline``) for ``seconds`` (or until released): each object is created before its answer waits."""
        body = await control_body(request)
        kind = str(body.get("kind"))
        if kind not in ("Connection", "Data model", "Pipeline"):
            raise bad_request("kind must be one of Connection, Data model, Pipeline.")
        backend.held_creates[kind] = [float(body.get("times", 1)), float(body.get("seconds", 60))]
        return {"kind": kind, "times": body.get("times", 1), "seconds": body.get("seconds", 60)}

    @app.post(CONTROL + "/trigger-answers/release")
    async def release_answers() -> dict[str, int]:
        """Send every answer being held now (of triggers and of creates)."""
        held = list(backend.held_answers)
        for answer in held:
            answer.set()
        return {"released": len(held)}

    fault_route(
        "/connections", "connections", "Connection", "The connection failed.", backend.connection_json
    )
    fault_route(
        "/data-models",
        "data_models",
        "Data model",
        "The data model is invalid.",
        backend.data_model_json,
    )

    @app.get(CONTROL + "/runs")
    async def all_runs() -> list[dict[str, Any]]:
        """Every run, without counting as an observation."""
        return [r.as_json(backend.now, read=False) for r in backend.runs.values()]
