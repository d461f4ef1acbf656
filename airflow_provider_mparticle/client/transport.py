"""Sync (``requests``) and async (``httpx``) transports over the shared core.

Both send a :class:`~airflow_provider_mparticle.client.core.Call` with the same retry policy, the same
OAuth token handling (cached, refreshed before expiry, refreshed once on a 401 then resent) and the same
error mapping.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
import requests
import requests.auth
from requests.adapters import HTTPAdapter
from tenacity import AsyncRetrying, Retrying

from airflow_provider_mparticle.client.core import (
    ApiRequest,
    ApiResponse,
    AuthProvider,
    Call,
    MParticleAuth,
    RetryObserver,
    TransportStats,
    build_response,
    parse_token,
    retry_arguments,
)
from airflow_provider_mparticle.client.errors import MParticleAuthError, MParticleTransportError
from airflow_provider_mparticle.client.shared import SHARED_HTTP_CLIENTS, HttpClientOptions
from airflow_provider_mparticle.client.tokens import TOKENS, CachedToken, TokenKey

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.config import ClientSettings

T = TypeVar("T")


class _KeepHeaders(requests.auth.AuthBase):
    """Leaves the request as built: the headers carry the credentials (see :class:`SyncTransport`)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def token_key(auth: AuthProvider, request: ApiRequest) -> TokenKey:
    """The process-wide cache key of the token that ``request`` fetches for ``auth``'s client."""
    return TokenKey.of(request.url, auth.client_id, request.body_bytes())


class SyncTransport:
    """Sends calls with a pooled ``requests.Session``.

    :param settings: the client settings.
    :param pool_size: connections kept per host; set it to the number of threads that share the client.
    :param on_retry: called with the error and the wait before each retry (for logging).
    :param auth: how requests authenticate; default mParticle's (Basic / OAuth from ``settings``).
        With another provider only ``settings``' timeout, retry and TLS options are used.
    """

    def __init__(
        self,
        settings: ClientSettings,
        pool_size: int = 16,
        on_retry: RetryObserver | None = None,
        auth: AuthProvider | None = None,
    ) -> None:
        self.settings = settings
        self.auth: AuthProvider = auth if auth is not None else MParticleAuth(settings)
        self.stats = TransportStats()
        self.on_retry = on_retry
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.verify = settings.verify
        # Proxies and a CA bundle from the environment still apply, read once per host (see
        # _environment): requests would read them on every request. The session itself reads nothing
        # from the environment, so ~/.netrc never replaces the connection's credentials; the auth that
        # changes nothing keeps it so should trust_env be switched back on.
        self.session.trust_env = False
        self.session.auth = _KeepHeaders()
        self._env_reader = requests.Session()
        self._env: dict[tuple[str, str], dict[str, Any]] = {}

    def close(self) -> None:
        self.session.close()
        self._env_reader.close()

    def _environment(self, url: str) -> dict[str, Any]:
        # requests would read proxies and a CA bundle from the environment on every request: per bulk
        # request that costs more CPU than sending it. The environment is read once per host instead.
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        env = self._env.get(key)
        if env is None:
            merged = self._env_reader.merge_environment_settings(url, {}, None, self.settings.verify, None)
            env = {"proxies": merged["proxies"], "verify": merged["verify"]}
            self._env[key] = env
        return env

    def __enter__(self) -> SyncTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, call: Call[T]) -> T:
        """Send a call with retries and return its parsed value."""
        return call.parse(self.send(call.request))

    def send(self, request: ApiRequest) -> ApiResponse:
        for attempt in Retrying(**retry_arguments(self.settings.retry, self.stats, self.on_retry)):
            with attempt:
                return self._send_authenticated(request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def bearer_token(self) -> str:
        """A valid bearer token, fetched once per process and credential until shortly before expiry."""
        request = self.auth.token_request()
        key = token_key(self.auth, request)
        token = TOKENS.valid(key)
        if token is not None:
            return token
        with TOKENS.thread_lock(key):
            token = TOKENS.valid(key)
            if token is None:
                fetched = self._fetch_token(request)
                TOKENS.store(key, fetched)
                token = fetched.value
            return token

    def _fetch_token(self, request: ApiRequest) -> CachedToken:
        for attempt in Retrying(**retry_arguments(self.settings.retry, self.stats, self.on_retry)):
            with attempt:
                response = self._send_once(request, None)
        self.stats.add(token_fetches=1)
        return parse_token(response)

    def _send_authenticated(self, request: ApiRequest) -> ApiResponse:
        if request.auth != "bearer":
            return self._send_once(request, None)
        token = self.bearer_token()
        try:
            return self._send_once(request, token)
        except MParticleAuthError as error:
            if error.status_code != 401:
                raise
            # An expired or revoked token: fetch a new one once and resend.
            TOKENS.invalidate(token_key(self.auth, self.auth.token_request()), token)
            return self._send_once(request, self.bearer_token())

    def _send_once(self, request: ApiRequest, token: str | None) -> ApiResponse:
        headers = self.auth.headers(request, token)
        self.stats.add(requests=1)
        try:
            answer = self.session.request(
                request.method,
                request.url,
                params=request.params,
                data=request.body_bytes(),
                headers=headers,
                timeout=(min(self.settings.timeout, 10.0), self.settings.timeout),
                allow_redirects=False,
                **self._environment(request.url),
            )
            content = answer.content
        except requests.RequestException as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no answer: {type(error).__name__}"
            ) from error
        return build_response(request, answer.status_code, answer.headers, content)


class AsyncTransport:
    """Sends calls with an ``httpx.AsyncClient``; same policy and parameters as :class:`SyncTransport`.

    :param shared: use the process's ``httpx.AsyncClient`` for these credentials and options on the
        running event loop (see :mod:`~airflow_provider_mparticle.client.shared`) instead of building
        one; :meth:`aclose` then gives it back. Needs a running loop and a hashable ``auth``.
    """

    def __init__(
        self,
        settings: ClientSettings,
        pool_size: int = 16,
        on_retry: RetryObserver | None = None,
        auth: AuthProvider | None = None,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.auth: AuthProvider = auth if auth is not None else MParticleAuth(settings)
        self.stats = TransportStats()
        self.on_retry = on_retry
        options = HttpClientOptions(timeout=settings.timeout, verify=settings.verify, pool_size=pool_size)
        self._lease = SHARED_HTTP_CLIENTS.lease(self.auth, options) if shared else None
        self.client = self._lease.client if self._lease is not None else options.build()

    async def aclose(self) -> None:
        if self._lease is not None:
            await self._lease.aclose()
        else:
            await self.client.aclose()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def execute(self, call: Call[T]) -> T:
        """Send a call with retries and return its parsed value."""
        return call.parse(await self.send(call.request))

    async def send(self, request: ApiRequest) -> ApiResponse:
        async for attempt in AsyncRetrying(**retry_arguments(self.settings.retry, self.stats, self.on_retry)):
            with attempt:
                return await self._send_authenticated(request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def bearer_token(self) -> str:
        """A valid bearer token, fetched once per process and credential until shortly before expiry."""
        request = self.auth.token_request()
        key = token_key(self.auth, request)
        token = TOKENS.valid(key)
        if token is not None:
            return token
        async with TOKENS.task_lock(key):
            token = TOKENS.valid(key)
            if token is None:
                fetched = await self._fetch_token(request)
                TOKENS.store(key, fetched)
                token = fetched.value
            return token

    async def _fetch_token(self, request: ApiRequest) -> CachedToken:
        async for attempt in AsyncRetrying(**retry_arguments(self.settings.retry, self.stats, self.on_retry)):
            with attempt:
                response = await self._send_once(request, None)
        self.stats.add(token_fetches=1)
        return parse_token(response)

    async def _send_authenticated(self, request: ApiRequest) -> ApiResponse:
        if request.auth != "bearer":
            return await self._send_once(request, None)
        token = await self.bearer_token()
        try:
            return await self._send_once(request, token)
        except MParticleAuthError as error:
            if error.status_code != 401:
                raise
            TOKENS.invalidate(token_key(self.auth, self.auth.token_request()), token)
            return await self._send_once(request, await self.bearer_token())

    async def _send_once(self, request: ApiRequest, token: str | None) -> ApiResponse:
        headers = self.auth.headers(request, token)
        self.stats.add(requests=1)
        params: Any = dict(request.params) if request.params else None
        # A shared pool admits as many requests as it has connections: httpcore scans its whole queue
        # on every pool event, so a thousand queued requests cost quadratic CPU on the loop.
        admission = self._lease.slots if self._lease is not None else contextlib.nullcontext()
        try:
            async with admission:
                answer = await self.client.request(
                    request.method, request.url, params=params, content=request.body_bytes(), headers=headers
                )
        except httpx.HTTPError as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no answer: {type(error).__name__}"
            ) from error
        return build_response(request, answer.status_code, answer.headers, answer.content)
