"""The emulator's ASGI app: one server for the s2s host, the Platform API host and the OAuth endpoint.

A middleware in front of every API route applies what the control plane set up (latency, injected
faults, dropped connections, the rate limit) and writes the journal; the routes hold no such logic.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request

from airflow_provider_mparticle.testing.emulator import console, control, oauth
from airflow_provider_mparticle.testing.emulator.adobe import routes as adobe_routes
from airflow_provider_mparticle.testing.emulator.calculated_attributes import (
    routes as calculated_attributes_routes,
)
from airflow_provider_mparticle.testing.emulator.data_planning import routes as data_planning_routes
from airflow_provider_mparticle.testing.emulator.errors import EmulatorHTTPError
from airflow_provider_mparticle.testing.emulator.redaction import (
    may_hold_secrets,
    redact_body,
    redact_headers,
)
from airflow_provider_mparticle.testing.emulator.seeding import routes as seeding_routes
from airflow_provider_mparticle.testing.emulator.state import EmulatorSettings, EmulatorState, JournalEntry
from airflow_provider_mparticle.testing.emulator.warehouse_sync import routes as warehouse_sync_routes

if TYPE_CHECKING:
    from fastapi.responses import JSONResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_emulator"
# The routes of each API; each module exposes ``register(app, state)``.
API_MODULES = [
    oauth,
    seeding_routes,
    calculated_attributes_routes,
    warehouse_sync_routes,
    data_planning_routes,
    adobe_routes,
]


class DroppedConnection(Exception):
    """Raised after the response started so that the server closes the connection mid-answer."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _units(path: str, body: Any) -> int:
    # The rate limit counts users for bulk seeding (as mParticle counts batches), else requests.
    if path.rstrip("/").endswith("/bulkcalculatedattributes") and isinstance(body, list):
        return max(1, len(body))
    return 1


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _journal_body(body: Any, raw: bytes, state: EmulatorState) -> Any:
    secrets = state.secrets()
    return redact_body(body, secrets) if may_hold_secrets(raw, secrets) else body


def is_loopback(host: str, resolve: bool = False) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is a loopback one.

    :param host: the host.
    :param resolve: look a name up (binding); without it only ``localhost`` counts (a ``Host`` header,
        whose name an attacker's DNS may point at 127.0.0.1).
    """
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not resolve:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def control_refusal(scope: Scope, allow_remote: bool) -> EmulatorHTTPError | None:
    """Why a control-plane request is refused, or None.

    A web page the user has open can send requests to a loopback port. A page on another site cannot
    set ``Content-Type: application/json`` without the browser asking first (a CORS preflight, which the
    emulator never grants), so requests that change state must carry it; and a page that rebinds its
    own name to 127.0.0.1 still sends its own name as ``Host``, so a loopback-only emulator refuses
    other names.
    """
    if not allow_remote and not is_loopback(urlsplit("//" + _header(scope, b"host")).hostname or ""):
        return EmulatorHTTPError(403, "The emulator's control plane answers only loopback host names.")
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return None
    media_type = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return EmulatorHTTPError(
            415, "Control requests that change state must be sent with Content-Type: application/json."
        )
    return None


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, state: EmulatorState, allow_remote: bool = False) -> None:
        self.app = app
        self.state = state
        self.allow_remote = allow_remote

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            refusal = control_refusal(scope, self.allow_remote)
            if refusal is not None:
                await refusal.response()(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        state = self.state
        method, path = scope["method"], scope["path"]
        raw = await _read_body(receive)
        body = _parse_body(raw, _header(scope, b"content-type"))
        entry = JournalEntry(
            seq=state.next_seq(),
            time=state.clock.now(),
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            status=0,
            body=_journal_body(body, raw, state) if state.settings.journal_bodies else None,
            units=_units(path, body),
            headers=redact_headers(scope.get("headers", [])),
        )
        state.record(entry)
        fault = state.match_fault(method, path)
        latency = state.latency_ms + (fault.latency_ms if fault else 0.0)
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)
        if fault is not None and fault.drop:
            entry.status = -1
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
            )
            raise DroppedConnection(path)
        if fault is not None and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            if fault.status == 429:
                headers["X-mp-rate-limit-exceeded"] = "workspace"
            error = EmulatorHTTPError(
                fault.status, fault.message or f"Injected fault {fault.status}.", headers=headers
            )
            entry.status = fault.status
            await error.response()(scope, _replay(raw), send)
            return
        limited = state.rate_limit(path, entry.units)
        extra_headers: list[tuple[bytes, bytes]] = []
        if limited is not None:
            if not limited.allowed:
                entry.status = 429
                error = EmulatorHTTPError(
                    429,
                    "Rate limit exceeded.",
                    headers={
                        "Retry-After": str(limited.retry_after),
                        "X-mp-rate-limit-exceeded": limited.scope,
                    },
                )
                await error.response()(scope, _replay(raw), send)
                return
            if limited.report_usage:
                extra_headers.append((b"x-mp-rate-limit-percentage-used", f"{limited.used:.0f}".encode()))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                if extra_headers:
                    message = {**message, "headers": [*message.get("headers", []), *extra_headers]}
            await send(message)

        await self.app(scope, _replay(raw), send_wrapper)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(raw: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # like a client that sent everything and waits
        return {"type": "http.disconnect"}

    return receive


def create_app(state: EmulatorState | None = None, allow_remote: bool = False, **settings: Any) -> FastAPI:
    """Build the emulator app.

    :param state: the state to serve (default: a new one).
    :param allow_remote: let the control plane answer host names other than loopback ones (an emulator
        bound to a non-loopback address).
    :param settings: :class:`EmulatorSettings` fields.
    """
    state = state or EmulatorState(settings=EmulatorSettings(**settings), base_settings=dict(settings))
    app = FastAPI(
        title="mParticle emulator", docs_url="/_emulator/docs", openapi_url="/_emulator/openapi.json"
    )
    app.state.emulator = state

    @app.exception_handler(EmulatorHTTPError)
    async def _emulator_error(_: Request, error: EmulatorHTTPError) -> JSONResponse:
        return error.response()

    for module in API_MODULES:
        module.register(app, state)
    control.register(app, state)
    console.register(app, state)
    state.reset()
    app.add_middleware(EmulatorMiddleware, state=state, allow_remote=allow_remote)
    return app
