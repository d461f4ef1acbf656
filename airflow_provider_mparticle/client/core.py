"""The one request-building and response-parsing core shared by the sync and async transports.

An API method is written once as a :class:`Call`: the request to send and the function that turns the
answer into a typed value. The sync transport (``requests``) and the async transport (``httpx``) only
move bytes; status mapping, retry policy and token handling live here so a fix lands in both.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, Generic, Literal, Protocol, TypeVar

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_base

from airflow_provider_mparticle import __version__
from airflow_provider_mparticle.client.config import TOKEN_AUDIENCE, ClientSettings, RetrySettings
from airflow_provider_mparticle.client.errors import (
    MParticleAuthError,
    MParticleConfigError,
    MParticleRateLimitError,
    MParticleServerError,
    MParticleTransportError,
    error_for_response,
)
from airflow_provider_mparticle.client.tokens import CachedToken

T = TypeVar("T")
AuthKind = Literal["basic", "bearer", "none"]
USER_AGENT = f"airflow-provider-mparticle/{__version__}"


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, transport-neutral. ``url`` is absolute; ``auth`` picks the credentials."""

    method: str
    url: str
    auth: AuthKind
    params: Mapping[str, Any] | None = None
    # Bodies stay out of repr(): the token request carries the client secret.
    json: Any = field(default=None, repr=False)
    # A precomputed JSON body (bytes); used for bulk payloads already measured for size.
    content: bytes | None = field(default=None, repr=False)
    # Error statuses that are an expected answer here (404 for an existence check), handed to the parser.
    accept: frozenset[int] = frozenset()
    # Media type of ``content`` / ``json`` (a form-encoded token request sets its own).
    content_type: str = "application/json"

    def body_bytes(self) -> bytes | None:
        if self.content is not None:
            return self.content
        if self.json is None:
            return None
        return encode_json(self.json)


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP answer: status, lower-cased headers, and the body parsed as JSON when it is JSON."""

    status_code: int
    headers: Mapping[str, str]
    body: Any

    @property
    def rate_limit_percentage_used(self) -> float | None:
        """mParticle's ``X-mp-rate-limit-percentage-used`` header, when present."""
        value = self.headers.get("x-mp-rate-limit-percentage-used")
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request plus the parser of its answer: an API method written once for both transports."""

    request: ApiRequest
    parse: Callable[[ApiResponse], T]


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding used for every body (and so for size limits)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_body(content: bytes, content_type: str | None) -> Any:
    """Parse a body as JSON when it is JSON (by type or by sniffing); otherwise return the text."""
    if not content:
        return None
    text = content.decode("utf-8", errors="replace")
    if (content_type and "json" in content_type) or text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def build_response(
    request: ApiRequest, status: int, headers: Mapping[str, str], content: bytes
) -> ApiResponse:
    """Turn raw answer parts into an :class:`ApiResponse`, raising the mapped error on a non-2xx status."""
    lowered = {k.lower(): v for k, v in headers.items()}
    body = decode_body(content, lowered.get("content-type"))
    if status >= 400 and status not in request.accept:
        raise error_for_response(status, request.method, request.url, lowered, body)
    return ApiResponse(status_code=status, headers=lowered, body=body)


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or an empty one when the answer is something else."""
    return value if isinstance(value, dict) else {}


def ignore_body(_: ApiResponse) -> None:
    return None


def json_body(response: ApiResponse) -> Any:
    return response.body


# --- retries -------------------------------------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """429, 5xx and answers that never arrived are worth retrying; other errors are not."""
    return isinstance(error, MParticleRateLimitError | MParticleServerError | MParticleTransportError)


class wait_retry_after_or_backoff(wait_base):
    """Wait what the server's ``Retry-After`` says; without it, exponential backoff with full jitter."""

    def __init__(self, settings: RetrySettings) -> None:
        self.settings = settings

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, MParticleRateLimitError) and error.retry_after is not None:
            # A little jitter above the asked wait spreads concurrent senders apart.
            return min(error.retry_after + random.uniform(0, 0.1), self.settings.max_backoff)
        ceiling = self.settings.initial_backoff * (2 ** (retry_state.attempt_number - 1))
        return random.uniform(0, min(ceiling, self.settings.max_backoff))


@dataclass
class TransportStats:
    """Counters a transport keeps for progress reports and benchmarks (thread-safe)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    token_fetches: int = 0
    _lock: Lock = field(default_factory=Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "throttled": self.throttled,
                "token_fetches": self.token_fetches,
            }


RetryObserver = Callable[[BaseException, float], None]


def retry_arguments(
    settings: RetrySettings, stats: TransportStats, observer: RetryObserver | None = None
) -> dict[str, Any]:
    """Keyword arguments for tenacity's ``Retrying`` / ``AsyncRetrying``: one retry policy for both."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        stats.add(retries=1, throttled=1 if isinstance(error, MParticleRateLimitError) else 0)
        if observer is not None and error is not None:
            observer(error, state.upcoming_sleep)

    return {
        "retry": retry_if_exception(is_transient),
        "wait": wait_retry_after_or_backoff(settings),
        "stop": stop_after_attempt(settings.max_attempts) | stop_after_delay(settings.max_elapsed),
        "before_sleep": before_sleep,
        "reraise": True,
    }


# --- OAuth token -----------------------------------------------------------------------------------


def token_request(settings: ClientSettings) -> ApiRequest:
    """The client-credentials request for a Platform API token."""
    if not settings.has_platform_credentials:
        raise MParticleConfigError(
            "The Platform API needs 'client_id' and 'client_secret' (OAuth client credentials); "
            "they are not set on this connection."
        )
    return ApiRequest(
        method="POST",
        url=settings.oauth_token_url,
        auth="none",
        json={
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "audience": TOKEN_AUDIENCE,
            "grant_type": "client_credentials",
        },
    )


def parse_token(response: ApiResponse, now: float | None = None) -> CachedToken:
    """Read a token answer; refresh a little before ``expires_in`` (10%, at most 5 minutes early)."""
    body = response.body if isinstance(response.body, dict) else {}
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise MParticleAuthError(
            response.status_code, "POST", "oauth token endpoint", ["no access_token in answer"]
        )
    try:
        expires_in = float(body.get("expires_in", 28800))
    except (TypeError, ValueError):
        expires_in = 28800.0
    margin = min(300.0, expires_in * 0.1)
    start = time.monotonic() if now is None else now
    return CachedToken(value=token, refresh_at=start + max(expires_in - margin, 0.0))


def base_headers(request: ApiRequest) -> dict[str, str]:
    """Headers every request carries, whatever the vendor: user agent, accepted and sent media types."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if request.content is not None or request.json is not None:
        headers["Content-Type"] = request.content_type
    return headers


def auth_headers(request: ApiRequest, settings: ClientSettings, token: str | None) -> dict[str, str]:
    """Headers for one attempt. Basic auth is computed here so both transports send the same bytes."""
    headers = base_headers(request)
    if request.auth == "basic":
        if not settings.has_seeding_credentials:
            raise MParticleConfigError(
                "The seeding API needs the workspace 'api_key' and 'api_secret' (HTTP Basic); "
                "they are not set on this connection."
            )
        pair = f"{settings.api_key}:{settings.api_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif request.auth == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    return headers


# --- auth providers --------------------------------------------------------------------------------


class AuthProvider(Protocol):
    """How a transport authenticates: the token request to send when a ``bearer`` request needs a token,
    and the headers of each attempt. The transport owns caching, refreshing and the resend after a 401.
    """

    @property
    def client_id(self) -> str | None:
        """The OAuth client id (part of the process-wide token cache key)."""
        ...

    def token_request(self) -> ApiRequest:
        """The request that fetches a bearer token (answered with ``access_token`` / ``expires_in``)."""
        ...

    def headers(self, request: ApiRequest, token: str | None) -> dict[str, str]:
        """Headers for one attempt of ``request``; ``token`` is set for ``bearer`` requests."""
        ...


@dataclass(frozen=True)
class MParticleAuth:
    """mParticle: HTTP Basic for seeding, an OAuth client-credentials token for the Platform APIs."""

    settings: ClientSettings

    @property
    def client_id(self) -> str | None:
        return self.settings.client_id

    def token_request(self) -> ApiRequest:
        return token_request(self.settings)

    def headers(self, request: ApiRequest, token: str | None) -> dict[str, str]:
        return auth_headers(request, self.settings, token)
