"""The HTTP routes of the emulated Calculated Attributes Seeding API: requests in, answers out; the state and its rules are in :mod:`.models`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request, Response

from airflow_provider_mparticle.testing.emulator.errors import bad_request, read_json

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState
from airflow_provider_mparticle.testing.emulator.seeding.models import SeedingBackend


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = SeedingBackend(state)
    state.backends["seeding"] = backend

    @app.post("/v2/calculatedattributes")
    @app.post("/v2/calculatedattributes/")
    async def seed_one(request: Request) -> Response:
        state.check_basic(request.headers.get("authorization"))
        body = await read_json(request)
        if not isinstance(body, dict):
            raise bad_request("The request JSON was malformed or had missing fields.")
        backend.accept([body])
        return Response(status_code=202)

    @app.post("/v2/bulkcalculatedattributes")
    @app.post("/v2/bulkcalculatedattributes/")
    async def seed_bulk(request: Request) -> Response:
        state.check_basic(request.headers.get("authorization"))
        body = await read_json(request)
        if not isinstance(body, list) or not body:
            raise bad_request("The request JSON must be a non-empty array of users.")
        backend.accept(body)
        return Response(status_code=202)
