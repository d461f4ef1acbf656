"""Errors raised by the mParticle clients.

One function, :func:`error_for_response`, maps an HTTP answer to an exception class, so that the
sync and async transports raise the same errors. Messages never contain credentials or tokens.
"""

from __future__ import annotations

from typing import Any


class MParticleError(Exception):
    """Base class of every error raised by this package."""


class MParticleConfigError(MParticleError):
    """A client or connection setting is missing or invalid; the message names the setting."""


class MParticleTransportError(MParticleError):
    """The request did not get an HTTP answer: timeout, refused or dropped connection."""


class MParticleAPIError(MParticleError):
    """mParticle answered with an error status.

    :param status_code: the HTTP status.
    :param method: the HTTP method of the request.
    :param url: the URL of the request (never carries credentials).
    :param messages: the ``errors[].message`` strings of the body, verbatim.
    :param body: the parsed body, when it was JSON.
    """

    def __init__(
        self,
        status_code: int,
        method: str,
        url: str,
        messages: list[str] | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.url = url
        self.messages = list(messages or [])
        self.body = body
        detail = "; ".join(self.messages) if self.messages else "no error details in the response"
        super().__init__(f"{method} {url} answered {status_code}: {detail}")


class MParticleAuthError(MParticleAPIError):
    """401 (credentials missing or token expired) or 403 (credentials invalid)."""


class MParticleNotFoundError(MParticleAPIError):
    """404: the resource does not exist."""


class MParticleValidationError(MParticleAPIError):
    """400 / 422: mParticle refused the request; ``messages`` holds its ``errors[]`` messages verbatim."""


class MParticleConflictError(MParticleAPIError):
    """409: the request conflicts with the resource's current state."""


class MParticleRateLimitError(MParticleAPIError):
    """429: too many requests. ``retry_after`` is the server's ``Retry-After`` in seconds, if any."""

    def __init__(self, *args: Any, retry_after: float | None = None, limit_scope: str | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after
        self.limit_scope = limit_scope


class MParticleServerError(MParticleAPIError):
    """5xx: a server-side failure, worth retrying."""


class MParticleUnexpectedResponseError(MParticleAPIError):
    """An answer that is not what the call expects: a redirect (never followed), a status the API does
    not document for it, an HTML page, an empty or truncated body, JSON of another shape, or a field the
    client needs (such as a run's status) that cannot be read. The message names the request, the status
    and what was wrong, with at most a short sanitised excerpt of the body.

    :param problem: what was wrong.
    :param retryable: whether sending the request again may help (truncated JSON on a safe request).
    :param location: the ``Location`` of a redirect.
    """

    def __init__(
        self,
        status_code: int,
        method: str,
        url: str,
        problem: str,
        *,
        retryable: bool = False,
        location: str | None = None,
    ) -> None:
        super().__init__(status_code, method, url, [f"unexpected answer: {problem}"])
        self.problem = problem
        self.retryable = retryable
        self.location = location


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (integer or decimal seconds); None if absent or odd."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def extract_messages(body: Any) -> list[str]:
    """The ``message`` of each entry of an mParticle ``errors`` array, tolerating the other shapes seen."""
    messages: list[str] = []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict) and item.get("message") is not None:
                    messages.append(str(item["message"]))
                elif isinstance(item, str):
                    messages.append(item)
        for key in ("message", "error_description", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value and not messages:
                messages.append(value)
    elif isinstance(body, str) and body.strip():
        messages.append(body.strip()[:500])
    return messages


def error_for_response(
    status_code: int, method: str, url: str, headers: dict[str, str], body: Any
) -> MParticleAPIError:
    """Map an error answer to the exception class users catch."""
    messages = extract_messages(body)
    args = (status_code, method, url, messages, body)
    if status_code in (401, 403):
        return MParticleAuthError(*args)
    if status_code == 404:
        return MParticleNotFoundError(*args)
    if status_code == 409:
        return MParticleConflictError(*args)
    if status_code == 429:
        return MParticleRateLimitError(
            *args,
            retry_after=parse_retry_after(headers.get("retry-after")),
            limit_scope=headers.get("x-mp-rate-limit-exceeded"),
        )
    if status_code in (400, 422):
        return MParticleValidationError(*args)
    if status_code >= 500:
        return MParticleServerError(*args)
    return MParticleAPIError(*args)
