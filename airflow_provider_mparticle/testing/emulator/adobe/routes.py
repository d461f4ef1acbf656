"""The HTTP routes of the emulated Adobe Experience Platform computed attributes and IMS: requests in, answers out; the state and its rules are in :mod:`.models`."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError, read_json

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState
from airflow_provider_mparticle.testing.emulator.adobe.models import (
    BASE,
    PREFIX,
    STATUSES,
    TOKEN_PATH,
    TOKEN_PREFIX,
    AdobeComputedAttributesBackend,
    _bad,
)


def _ims_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _body(request: Request) -> Any:
    return await read_json(request, malformed=_bad("The request body is not valid JSON."))


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = AdobeComputedAttributesBackend(state)
    state.backends["adobe_computed_attributes"] = backend

    @app.post(TOKEN_PATH)
    async def ims_token(request: Request) -> JSONResponse:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return _ims_error(400, "invalid_request", "The token request must be form-encoded.")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return _ims_error(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        if not hmac.compare_digest(form.get("client_id", ""), backend.settings.client_id):
            return _ims_error(400, "invalid_client", "invalid client_id parameter")
        if not hmac.compare_digest(form.get("client_secret", ""), backend.settings.client_secret):
            return _ims_error(401, "invalid_client", "invalid client_secret parameter")
        if not form.get("scope"):
            return _ims_error(400, "invalid_scope", "scope is required")
        token, expires_in = state.issue_token()
        backend.tokens_issued += 1
        return JSONResponse(
            {"access_token": TOKEN_PREFIX + token, "token_type": "bearer", "expires_in": expires_in}
        )

    @app.get(BASE)
    async def list_attributes(request: Request) -> JSONResponse:
        store = backend.guard(request)
        query = parse_qs(request.url.query, keep_blank_values=True)
        return JSONResponse(backend.list(store, query))

    @app.post(BASE)
    async def create_attribute(request: Request) -> JSONResponse:
        store = backend.guard(request)
        sandbox = request.headers["x-sandbox-name"]
        ca = backend.create(store, sandbox, await _body(request))
        return JSONResponse(ca.as_json(backend.settings.org_id))

    @app.get(BASE + "/{attribute_id}")
    async def get_attribute(request: Request, attribute_id: str) -> JSONResponse:
        ca = backend.get(backend.guard(request), attribute_id)
        backend.observe(ca, count_read=True)
        return JSONResponse(ca.as_json(backend.settings.org_id))

    @app.patch(BASE + "/{attribute_id}")
    async def update_attribute(request: Request, attribute_id: str) -> JSONResponse:
        store = backend.guard(request)
        ca = backend.get(store, attribute_id)
        backend.update(store, ca, await _body(request))
        return JSONResponse(ca.as_json(backend.settings.org_id))

    @app.delete(BASE + "/{attribute_id}")
    async def delete_attribute(request: Request, attribute_id: str) -> JSONResponse:
        store = backend.guard(request)
        ca = backend.get(store, attribute_id)
        backend.delete(store, ca)
        return JSONResponse(ca.as_json(backend.settings.org_id), status_code=202)

    # --- control plane ----------------------------------------------------------------------------

    @app.get(PREFIX + "/config")
    async def get_config() -> dict[str, Any]:
        return dict(vars(backend.settings))

    @app.post(PREFIX + "/config")
    async def set_config(request: Request) -> dict[str, Any]:
        body = await _body(request)
        backend.settings.update(body if isinstance(body, dict) else {})
        return dict(vars(backend.settings))

    @app.get(PREFIX + "/attributes")
    async def all_attributes() -> list[dict[str, Any]]:
        return [
            ca.as_json(backend.settings.org_id)
            for store in backend.sandboxes.values()
            for ca in store.values()
        ]

    @app.post(PREFIX + "/attributes/{attribute_id}/status")
    async def force_status(request: Request, attribute_id: str) -> dict[str, Any]:
        body = await _body(request)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in STATUSES:
            raise EmulatorHTTPError(400, f"status must be one of {', '.join(STATUSES)}.")
        for store in backend.sandboxes.values():
            if attribute_id in store:
                ca = store[attribute_id]
                ca.status, ca.progress = status, None
                return ca.as_json(backend.settings.org_id)
        raise EmulatorHTTPError(404, f"Computed attribute {attribute_id} was not found.")

    @app.get(PREFIX + "/stats")
    async def stats() -> dict[str, Any]:
        return {
            "tokens_issued": backend.tokens_issued,
            "attributes": sum(len(store) for store in backend.sandboxes.values()),
        }
