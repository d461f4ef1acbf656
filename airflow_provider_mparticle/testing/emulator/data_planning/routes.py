"""The HTTP routes of the emulated Data Planning API: requests in, answers out; the state and its rules are in :mod:`.models`."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from airflow_provider_mparticle.testing.emulator.errors import bad_request, read_json

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState
from airflow_provider_mparticle.testing.emulator.data_planning.models import (
    BASE,
    CONTROL,
    DataPlanningBackend,
)


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = DataPlanningBackend(state)
    state.backends["data_planning"] = backend

    def guard(request: Request, workspace_id: str) -> dict[str, str]:
        state.check_bearer(request.headers.get("authorization"))
        state.check_workspace(workspace_id)
        used = backend.take(request.method)
        return {} if used is None else {"X-mp-rate-limit-percentage-used": f"{used:.0f}"}

    def answer(body: Any, headers: dict[str, str]) -> JSONResponse:
        return JSONResponse(body, status_code=200, headers=headers)

    @app.get(BASE)
    @app.get(BASE + "/", include_in_schema=False)
    async def list_plans(request: Request, workspace_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        return answer([p.as_json(with_documents=False) for p in backend.plans.values()], headers)

    @app.post(BASE)
    @app.post(BASE + "/", include_in_schema=False)
    async def create_plan(request: Request, workspace_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        return answer(backend.create_plan(await read_json(request)).as_json(), headers)

    # Registered before "/{plan_id}" routes so that "validate" is never read as a plan id.
    @app.post(BASE + "/validate")
    async def validate(request: Request, workspace_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        return answer(backend.validate(await read_json(request)), headers)

    @app.get(BASE + "/{plan_id}")
    async def get_plan(request: Request, workspace_id: str, plan_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        return answer(backend.get(plan_id).as_json(), headers)

    @app.patch(BASE + "/{plan_id}")
    async def update_plan(request: Request, workspace_id: str, plan_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        return answer(backend.update_plan(plan_id, await read_json(request)).as_json(), headers)

    @app.delete(BASE + "/{plan_id}")
    async def delete_plan(request: Request, workspace_id: str, plan_id: str) -> Response:
        guard(request, workspace_id)
        backend.get(plan_id)
        del backend.plans[plan_id]
        return Response(status_code=204)

    @app.post(BASE + "/{plan_id}/versions")
    async def create_version(request: Request, workspace_id: str, plan_id: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        plan, stored = backend.create_version(plan_id, await read_json(request))
        return answer(stored.as_json(plan.plan_id), headers)

    @app.get(BASE + "/{plan_id}/versions/{version}")
    async def get_version(request: Request, workspace_id: str, plan_id: str, version: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        plan, stored = backend.get_version(plan_id, version)
        return answer(stored.as_json(plan.plan_id), headers)

    @app.patch(BASE + "/{plan_id}/versions/{version}")
    async def update_version(request: Request, workspace_id: str, plan_id: str, version: str) -> JSONResponse:
        headers = guard(request, workspace_id)
        plan, stored = backend.update_version(plan_id, version, await read_json(request))
        return answer(stored.as_json(plan.plan_id), headers)

    @app.delete(BASE + "/{plan_id}/versions/{version}")
    async def delete_version(request: Request, workspace_id: str, plan_id: str, version: str) -> Response:
        guard(request, workspace_id)
        backend.delete_version(plan_id, version)
        return Response(status_code=204)

    # --- control plane ----------------------------------------------------------------------------

    @app.get(CONTROL + "/config")
    async def get_config() -> dict[str, Any]:
        return asdict(backend.config)

    @app.post(CONTROL + "/config")
    async def set_config(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise bad_request("Control requests take a JSON object.")
        for key, value in body.items():
            if not hasattr(backend.config, key):
                raise bad_request(f"Unknown data planning setting {key!r}.")
            setattr(backend.config, key, int(value))
        return asdict(backend.config)

    @app.get(CONTROL + "/plans")
    async def dump_plans() -> list[dict[str, Any]]:
        return [p.as_json() for p in backend.plans.values()]
