"""The HTTP routes of the emulated Platform API, calculated attributes: requests in, answers out; the state and its rules are in :mod:`.models`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from airflow_provider_mparticle.testing.emulator.errors import (
    read_json,
)
from airflow_provider_mparticle.testing.emulator.state import iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState
from airflow_provider_mparticle.testing.emulator.calculated_attributes.models import (
    ACTOR,
    CalculatedAttributesBackend,
)


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = CalculatedAttributesBackend(state)
    state.backends["calculated_attributes"] = backend
    base = "/platform/v2/workspaces/{workspace_id}/calculatedattributes"

    def guard(request: Request, workspace_id: str) -> None:
        state.check_bearer(request.headers.get("authorization"))
        state.check_workspace(workspace_id)

    @app.get(base)
    async def list_cas(request: Request, workspace_id: str, name: str | None = None) -> JSONResponse:
        guard(request, workspace_id)
        items = [ca.as_json() for ca in backend.items.values() if name is None or ca.name == name]
        return JSONResponse(items)

    @app.head(base)
    async def exists(request: Request, workspace_id: str, name: str | None = None) -> Response:
        guard(request, workspace_id)
        found = any(name is None or ca.name == name for ca in backend.items.values())
        return Response(status_code=204 if found else 404)

    @app.post(base)
    async def create(request: Request, workspace_id: str) -> JSONResponse:
        guard(request, workspace_id)
        ca = backend.create(await read_json(request))
        return JSONResponse(ca.id)

    @app.get(base + "/{ca_id}")
    async def get(request: Request, workspace_id: str, ca_id: int) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse(backend.get(ca_id).as_json())

    @app.put(base + "/{ca_id}")
    async def update(request: Request, workspace_id: str, ca_id: int) -> Response:
        guard(request, workspace_id)
        backend.update(ca_id, await read_json(request))
        return Response(status_code=204)

    def action_route(method: str, path: str, action: Callable[[int], object]) -> None:
        """A route that applies ``action`` to one calculated attribute and answers 204."""

        async def endpoint(request: Request, workspace_id: str, ca_id: int) -> Response:
            guard(request, workspace_id)
            action(ca_id)
            return Response(status_code=204)

        app.add_api_route(base + path, endpoint, methods=[method], name=action.__name__)

    action_route("DELETE", "/{ca_id}", backend.delete)
    action_route("DELETE", "/{ca_id}/draft", backend.delete_draft)
    action_route("POST", "/{ca_id}/activation", backend.activate)

    @app.get(base + "/{ca_id}/activation")
    async def activation(request: Request, workspace_id: str, ca_id: int) -> JSONResponse:
        guard(request, workspace_id)
        ca = backend.get(ca_id)
        return JSONResponse(
            {
                "calculated_attribute_id": ca.id,
                "is_active": ca.active_definition is not None,
                "activated_on": iso(ca.activated_on) if ca.activated_on else None,
                "activated_by": ACTOR if ca.activated_on else None,
            }
        )

    @app.get(base + "/{ca_id}/calculation")
    async def calculation(request: Request, workspace_id: str, ca_id: int) -> JSONResponse:
        guard(request, workspace_id)
        return JSONResponse(backend.calculation(ca_id))
