"""The one request-building and response-parsing core shared by the sync and async transports.

An API method is written once as a :class:`Call`: the request to send and the function that turns the
answer into a typed value. The sync transport (``requests``) and the async transport (``httpx``) only
move bytes: they drive :meth:`SendPolicy.flow`, where status mapping, the retry budget and token handling
live, so a fix lands in both.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from threading import Lock
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import quote

import orjson

from airflow_provider_mparticle import __version__
from airflow_provider_mparticle.client.answers import OBJECT, Expect
from airflow_provider_mparticle.client.answers import ApiResponse as ApiResponse
from airflow_provider_mparticle.client.config import (
    TOKEN_AUDIENCE,
    ClientSettings,
    RetrySettings,
    TransportSettings,
)
from airflow_provider_mparticle.client.errors import (
    MParticleAuthError,
    MParticleConfigError,
    MParticleError,
    MParticleRateLimitError,
    MParticleServerError,
    MParticleTransportError,
)
from airflow_provider_mparticle.client.tokens import TOKENS, CachedToken, TokenKey

if TYPE_CHECKING:
    from tenacity import RetryCallState, Retrying

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
    # What a good answer is (statuses, body); anything else raises MParticleUnexpectedResponseError.
    expect: Expect = OBJECT

    def body_bytes(self) -> bytes | None:
        if self.content is not None:
            return self.content
        if self.json is None:
            return None
        return encode_json(self.json)


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request plus the parser of its answer: an API method written once for both transports."""

    request: ApiRequest
    parse: Callable[[ApiResponse], T]


# Types orjson would encode on its own where json.dumps refuses or encodes otherwise: they go to json.dumps.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding used for every body (and so for size limits).

    The same JSON as ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, key order
    included, through orjson (numbers may be spelled differently: ``1e16`` for ``1e+16``); what orjson
    does not take as plain JSON types (subclasses, integers beyond 64 bits, non-string keys, datetimes)
    goes through ``json.dumps``, which encodes or refuses it as before.
    """
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_id(value: Any, what: str) -> str:
    """An id as its literal text; empty, ``.`` and ``..`` are refused (they would change a URL path)."""
    if isinstance(value, bool) or value is None:
        raise MParticleConfigError(f"Invalid {what} {value!r}: expected a string or a number.")
    text = str(value)
    if not text.strip():
        raise MParticleConfigError(f"Invalid {what} {value!r}: it must not be empty.")
    if text in (".", ".."):
        raise MParticleConfigError(f"Invalid {what} {value!r}: '.' and '..' would change the request path.")
    return text


def path_segment(value: Any, what: str) -> str:
    """An id quoted as one URL path segment, so that ``/``, ``?``, ``#`` or ``%`` in it stay part of it."""
    return quote(check_id(value, what), safe="")


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object from an answer, or an empty one when the answer is something else."""
    return value if isinstance(value, dict) else {}


def ignore_body(_: ApiResponse) -> None:
    return None


# --- retries: one flat budget per call ------------------------------------------------------------


def is_transient(error: BaseException) -> bool:
    """429, 5xx and answers that never arrived are worth retrying; other errors are not."""
    if isinstance(error, MParticleRateLimitError | MParticleServerError | MParticleTransportError):
        return True
    return bool(getattr(error, "retryable", False))


class WaitRetryAfter:
    """A tenacity wait: what the server's ``Retry-After`` says; without it, exponential backoff with full
    jitter (tenacity's ``wait_random_exponential``)."""

    def __init__(self, settings: RetrySettings) -> None:
        from tenacity import wait_random_exponential

        self.max_backoff = settings.max_backoff
        self.fallback = wait_random_exponential(multiplier=settings.initial_backoff, max=settings.max_backoff)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome is not None else None
        if isinstance(error, MParticleRateLimitError) and error.retry_after is not None:
            # A little jitter above the asked wait spreads concurrent senders apart.
            return min(error.retry_after + random.uniform(0, 0.1), self.max_backoff)
        return float(self.fallback(retry_state))


def retry_strategy(settings: RetrySettings) -> Retrying:
    """tenacity's strategy for one call: transient errors only, ``max_attempts`` in all, Retry-After first.

    :meth:`SendPolicy.flow` asks it what to do after each failed attempt instead of letting it drive the
    call, so that one generator serves the sync and the async transport.
    """
    # Imported here: importing errors, settings or models must not load the retry library.
    from tenacity import Retrying, retry_if_exception, stop_after_attempt

    return Retrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=WaitRetryAfter(settings),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )


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


# --- the send flow, written once and driven by both transports -------------------------------------


@dataclass(frozen=True)
class Send:
    """Step: send ``request`` once with ``token`` (bearer requests); the driver answers an ApiResponse."""

    request: ApiRequest
    token: str | None
    timeout: float


@dataclass(frozen=True)
class FetchToken:
    """Step: under the key's lock, take the cached token or send ``request`` once and cache the answer."""

    key: TokenKey
    request: ApiRequest
    timeout: float


@dataclass(frozen=True)
class Sleep:
    """Step: wait before the next attempt."""

    seconds: float


Step = Send | FetchToken | Sleep
Flow = Generator[Step, Any, ApiResponse]


def token_key(auth: AuthProvider, request: ApiRequest) -> TokenKey:
    """The process-wide cache key of the token that ``request`` fetches for ``auth``'s client."""
    return TokenKey.of(request.url, auth.client_id, request.body_bytes())


@dataclass
class SendPolicy:
    """How one call is sent, whatever the transport: like httpx's ``Auth.auth_flow``, :meth:`flow` is a
    generator yielding the steps (send, fetch a token, sleep) that a sync or async driver performs and
    answers (or throws the step's error back in).

    One flat budget per call: at most ``retry.max_attempts`` attempts, an attempt being the token fetch
    (when one is needed) and the request, and nothing after ``retry.max_elapsed`` seconds: every step's
    timeout is cut to what remains. A 401 on the request drops that token, fetches a new one and resends
    once, within the same attempt.
    """

    auth: AuthProvider
    settings: TransportSettings
    stats: TransportStats
    on_retry: RetryObserver | None = None

    def flow(self, request: ApiRequest) -> Flow:
        deadline = time.monotonic() + self.settings.retry.max_elapsed
        retrying: tuple[Retrying, RetryCallState] | None = None  # built at the first failure only
        while True:
            try:
                return (yield from self._attempt(request, deadline))
            except MParticleError as error:
                if retrying is None:
                    from tenacity import RetryCallState

                    strategy = retry_strategy(self.settings.retry)
                    retrying = (strategy, RetryCallState(strategy, fn=None, args=(), kwargs={}))
                wait = self._retry_wait(*retrying, error, deadline)
                if wait is None:
                    raise
                self.stats.add(retries=1, throttled=1 if isinstance(error, MParticleRateLimitError) else 0)
                if self.on_retry is not None:
                    self.on_retry(error, wait)
                yield Sleep(wait)

    def token_flow(self) -> Generator[Step, Any, str]:
        """Only the token (for callers that need it alone)."""
        token_request, key = self._token_request
        deadline = time.monotonic() + self.settings.retry.max_elapsed
        token: str = yield FetchToken(key, token_request, self._timeout(deadline))
        return token

    @cached_property
    def _token_request(self) -> tuple[ApiRequest, TokenKey]:
        """The token request and its cache key, made once: the credentials of a client never change."""
        token_request = self.auth.token_request()
        return token_request, token_key(self.auth, token_request)

    def _attempt(self, request: ApiRequest, deadline: float) -> Flow:
        if request.auth != "bearer":
            response: ApiResponse = yield Send(request, None, self._timeout(deadline))
            return response
        token_request, key = self._token_request
        token = TOKENS.valid(key)
        if token is None:
            token = yield FetchToken(key, token_request, self._timeout(deadline))
        try:
            response = yield Send(request, token, self._timeout(deadline))
        except MParticleAuthError as error:
            if error.status_code != 401 or token is None:
                raise
            # An expired or revoked token: drop it (only it: another caller may hold a newer one).
            TOKENS.invalidate(key, token)
            token = yield FetchToken(key, token_request, self._timeout(deadline))
            response = yield Send(request, token, self._timeout(deadline))
        return response

    def store_token(self, key: TokenKey, response: ApiResponse) -> str:
        """Read a token answer into the process-wide cache (drivers call this under the key's lock)."""
        token = parse_token(response)
        TOKENS.store(key, token)
        self.stats.add(token_fetches=1)
        return token.value

    def _timeout(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MParticleTransportError(
                f"No time left of the call's {self.settings.retry.max_elapsed:g} s budget ('max_elapsed')."
            )
        return min(self.settings.timeout, remaining)

    @staticmethod
    def _retry_wait(
        strategy: Retrying, state: RetryCallState, error: MParticleError, deadline: float
    ) -> float | None:
        """The wait before the next attempt, or None when the error is final or the budget is spent."""
        state.set_exception((type(error), error, error.__traceback__))
        if not strategy.retry(state) or strategy.stop(state):
            return None
        wait = float(strategy.wait(state))
        if time.monotonic() + wait >= deadline:
            return None
        state.prepare_for_next_attempt()
        return wait


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


@dataclass(frozen=True)
class NoAuth:
    """No credentials: only ``auth="none"`` requests can be sent (a transport built without a provider)."""

    client_id: str | None = None

    def token_request(self) -> ApiRequest:
        raise MParticleConfigError("This transport has no credentials to fetch a bearer token with.")

    def headers(self, request: ApiRequest, token: str | None) -> dict[str, str]:
        if request.auth != "none":
            raise MParticleConfigError(f"This transport has no {request.auth!r} credentials.")
        return base_headers(request)
