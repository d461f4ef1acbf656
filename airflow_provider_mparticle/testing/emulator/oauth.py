"""OAuth client-credentials token endpoint (``POST /oauth/token``), as the Platform APIs use it."""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import FastAPI

    from airflow_provider_mparticle.testing.emulator.state import EmulatorState

AUDIENCE = "https://api.mparticle.com"


class OAuthBackend:
    def __init__(self) -> None:
        self.issued = 0

    def reset(self) -> None:
        self.issued = 0

    def snapshot(self) -> dict[str, Any]:
        return {}  # tokens issued are a count of requests, not workspace data

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def register(app: FastAPI, state: EmulatorState) -> None:
    backend = OAuthBackend()
    state.backends["oauth"] = backend

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        raw = await request.body()
        body: dict[str, Any]
        if "json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return _oauth_error(400, "invalid_request", "The request body is not valid JSON.")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if body.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        if body.get("audience") != AUDIENCE:
            return _oauth_error(
                403, "access_denied", f"Service not enabled within domain: {body.get('audience')}"
            )
        ok_id = hmac.compare_digest(str(body.get("client_id", "")), state.settings.client_id)
        ok_secret = hmac.compare_digest(str(body.get("client_secret", "")), state.settings.client_secret)
        if not (ok_id and ok_secret):
            return _oauth_error(401, "access_denied", "Unauthorized")
        access_token, expires_in = state.issue_token()
        backend.issued += 1
        return JSONResponse({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"})
