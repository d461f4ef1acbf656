"""Errors shaped like mParticle's error body: ``{"errors": [{"code": ..., "message": ...}]}``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import Request


class EmulatorHTTPError(Exception):
    """Raised by a backend; the app turns it into mParticle's error body."""

    def __init__(
        self,
        status_code: int,
        messages: list[str] | str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.code = code or _DEFAULT_CODES.get(status_code, "ERROR")
        self.headers = headers or {}
        super().__init__("; ".join(self.messages))

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "message": m} for m in self.messages]}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


_DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def bad_request(messages: list[str] | str) -> EmulatorHTTPError:
    return EmulatorHTTPError(400, messages)


def not_found(message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(404, message)


async def read_json(request: Request, malformed: EmulatorHTTPError | None = None) -> Any:
    """The request body as JSON (None when empty); malformed JSON raises ``malformed``, by default
    mParticle's 400."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise malformed or EmulatorHTTPError(400, "The request JSON was malformed.") from None
