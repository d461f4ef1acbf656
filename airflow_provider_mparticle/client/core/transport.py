"""Sync (``requests``) and async (``httpx``) transports: two drivers of the one send flow.

Both run :meth:`~airflow_provider_mparticle.client.core.flow.SendPolicy.flow` (one retry budget per call, the
process-wide OAuth token cache, one refresh and resend after a 401) and differ only in how they move
bytes, sleep and lock: a fix to the policy lands in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import requests
import requests.auth
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy

from airflow_provider_mparticle.client.core.answers import build_response, parse_answer
from airflow_provider_mparticle.client.core.errors import MParticleError, MParticleTransportError
from airflow_provider_mparticle.client.core.flow import (
    AuthProvider,
    NoAuth,
    RetryObserver,
    Send,
    SendPolicy,
    Sleep,
    Step,
    TransportStats,
)
from airflow_provider_mparticle.client.core.http11 import (
    ACCEPT_ENCODING,
    ConnectionPool,
    HttpProtocolError,
    Origin,
)
from airflow_provider_mparticle.client.core.shared import SHARED_HTTP_CLIENTS, HttpClientOptions
from airflow_provider_mparticle.client.core.tokens import TOKENS

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, MutableMapping
    from contextlib import AbstractAsyncContextManager

    from airflow_provider_mparticle.client.core.config import TransportSettings
    from airflow_provider_mparticle.client.core.messages import ApiRequest, ApiResponse, Call

T = TypeVar("T")
#: Header blocks the direct path keeps (see SyncTransport._head).
_HEADS_KEPT = 32


class _KeepHeaders(requests.auth.AuthBase):
    """Leaves the request as built: the headers carry the credentials (see :class:`SyncTransport`)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _advance(flow: Generator[Step, Any, T], result: Any, error: MParticleError | None) -> Step:
    """Answer the flow's last step with its result, or throw the step's error into it."""
    return flow.throw(error) if error is not None else flow.send(result)


class SyncTransport:
    """Sends calls with a pooled ``requests.Session``.

    A request goes over a kept-alive connection of the transport's own pool for its origin (the *direct
    path*, :mod:`~airflow_provider_mparticle.client.core.http11`), with the headers, body, timeouts and
    TLS settings that ``Session.request`` would use: the session's per-request work (merging settings,
    preparing the request, cookies, hooks, the response object) and urllib3's and ``http.client``'s cost
    more CPU than the rest of a bulk seed request. ``Session.request`` still sends a request with
    ``params``, a non-ASCII URL, one through a proxy from the environment, and every request once a
    response hook is on the session. Redirects are never followed, and no cookie is kept on either path
    (every request carries its credentials).

    :param settings: timeout, retry budget, TLS verification and pool size.
    :param auth: how requests authenticate (mParticle's or Adobe's); without it only ``auth="none"``
        requests can be sent.
    :param on_retry: called with the error and the wait before each retry (for logging).
    """

    def __init__(
        self,
        settings: TransportSettings,
        auth: AuthProvider | None = None,
        on_retry: RetryObserver | None = None,
    ) -> None:
        self.settings = settings
        self.auth: AuthProvider = auth if auth is not None else NoAuth()
        self.stats = TransportStats()
        self.policy = SendPolicy(self.auth, settings, self.stats, on_retry)
        self.session = requests.Session()
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.pool_size, max_retries=0)
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        self.session.verify = settings.verify
        # Proxies and a CA bundle from the environment still apply, read once per host (see _route):
        # requests would read them on every request. The session itself reads nothing
        # from the environment, so ~/.netrc never replaces the connection's credentials; the auth that
        # changes nothing keeps it so should trust_env be switched back on.
        self.session.trust_env = False
        self.session.auth = _KeepHeaders()
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._env_reader = requests.Session()
        self._routes: dict[tuple[str, str], _Route] = {}
        self._pools: dict[Origin, ConnectionPool] = {}
        self._heads: dict[tuple[Any, ...], bytes] = {}  # see _head
        # Both paths ask for the content codings the direct path decodes.
        self.session.headers["Accept-Encoding"] = ACCEPT_ENCODING

    def close(self) -> None:
        for pool in list(self._pools.values()):
            pool.close()
        self.session.close()
        self._env_reader.close()

    def _route(self, url: str) -> _Route:
        # requests would read proxies and a CA bundle from the environment on every request: per bulk
        # request that costs more CPU than sending it. The environment is read once per host instead.
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        route = self._routes.get(key)
        if route is None:
            merged = self._env_reader.merge_environment_settings(url, {}, None, self.settings.verify, None)
            proxies = merged["proxies"]
            verify: bool | str = self.settings.verify if merged["verify"] is None else merged["verify"]
            origin = None
            if not select_proxy(url, proxies) and parts.hostname:
                default = 443 if parts.scheme == "https" else 80
                origin = Origin(parts.scheme, parts.hostname, parts.port or default, verify)
            route = _Route(proxies, verify, origin)
            self._routes[key] = route
        return route

    def __enter__(self) -> SyncTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, call: Call[T]) -> T:
        """Send a call within its retry budget and return its parsed value."""
        return parse_answer(call, self.send(call.request))

    def send(self, request: ApiRequest) -> ApiResponse:
        return self._drive(self.policy.flow(request))

    def bearer_token(self) -> str:
        """A valid bearer token, fetched once per process and credential until shortly before expiry."""
        return self._drive(self.policy.token_flow())

    def _drive(self, flow: Generator[Step, Any, T]) -> T:
        result: Any = None
        error: MParticleError | None = None
        while True:
            try:
                step = _advance(flow, result, error)
            except StopIteration as done:
                value: T = done.value
                return value
            result, error = None, None
            try:
                result = self._perform(step)
            except MParticleError as failure:
                error = failure

    def _perform(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            time.sleep(step.seconds)
            return None
        if isinstance(step, Send):
            return self._send_once(step.request, step.token, step.timeout)
        with TOKENS.thread_lock(step.key):
            token = TOKENS.valid(step.key)
            if token is None:
                token = self.policy.store_token(step.key, self._send_once(step.request, None, step.timeout))
            return token

    def _send_once(self, request: ApiRequest, token: str | None, limit: float) -> ApiResponse:
        headers = self.auth.headers(request, token)
        self.stats.add(requests=1)
        route = self._route(request.url)
        if (
            route.origin is None
            or request.params
            or not request.url.isascii()
            or self.session.hooks["response"]
        ):
            return self._send_with_session(request, headers, limit, route)
        # The direct path: one kept-alive connection of this transport's own pool for the origin,
        # sending what Session.request would send (see http11).
        origin = route.origin
        pool = self._pools.get(origin)
        if pool is None:
            # A CA bundle that is not there raises OSError here, as requests would.
            pool = self._pools.setdefault(origin, ConnectionPool(origin, self.settings.pool_size))
        body = request.body_bytes()
        length = str(len(body or b"")) if body is not None or request.method not in ("GET", "HEAD") else None
        head = self._head(request, headers, route.target(request.url), origin.host_header, length)
        try:
            status, fields, content = pool.request(
                head,
                body,
                method=request.method,
                connect_timeout=min(limit, 10.0),
                read_timeout=limit,
            )
        except HttpProtocolError as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no HTTP answer: {error}"
            ) from error
        except OSError as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no answer: {type(error).__name__}"
            ) from error
        return build_response(request, status, fields, content)

    def _head(
        self, request: ApiRequest, headers: dict[str, str], target: str, host: str, length: str | None
    ) -> bytes:
        """The request line and header block of the direct path, ending with the empty line.

        The fields are the merge of ``CaseInsensitiveDict(session.headers).update(headers)``, done on a
        plain dict (its Mapping methods cost more than the rest of the block): a field keeps the place
        of its first setting and the spelling of its last; ``Content-Length`` comes last. The block
        before ``Content-Length`` is kept for the same request line and fields (a bulk load sends one
        block with another length each time).
        """
        key = (request.method, target, host, tuple(headers.items()), tuple(_items(self.session.headers)))
        prefix = self._heads.get(key)
        if prefix is None:
            sent: dict[str, tuple[str, str | bytes]] = {name.lower(): (name, field) for name, field in key[4]}
            for name, text in key[3]:
                sent[name.lower()] = (name, text)
            if length is not None and "content-length" in sent:  # set by hand: keeps its place
                sent["content-length"] = ("Content-Length", length)
                length = None
            lines = [f"{request.method} {target} HTTP/1.1", "Host: " + host]
            for name, field in sent.values():
                value = field.decode("latin-1") if isinstance(field, bytes) else str(field)
                if "\n" in value or "\r" in value:
                    raise MParticleTransportError(
                        f"{request.method} {request.url}: header {name!r} is not valid"
                    )
                lines.append(f"{name}: {value}")
            prefix = "".join(line + "\r\n" for line in lines).encode("latin-1")
            if "content-length" not in sent:
                if len(self._heads) >= _HEADS_KEPT:  # other paths and tokens: keep a few only
                    self._heads.clear()
                self._heads[key] = prefix
        if length is None:
            return prefix + b"\r\n"
        return b"%sContent-Length: %s\r\n\r\n" % (prefix, length.encode("ascii"))

    def _send_with_session(
        self, request: ApiRequest, headers: dict[str, str], limit: float, route: _Route
    ) -> ApiResponse:
        try:
            answer = self.session.request(
                request.method,
                request.url,
                params=request.params,
                data=request.body_bytes(),
                headers=headers,
                timeout=(min(limit, 10.0), limit),
                allow_redirects=False,
                proxies=route.proxies,
                verify=route.verify,
            )
            content = answer.content
        except requests.RequestException as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no answer: {type(error).__name__}"
            ) from error
        return build_response(request, answer.status_code, answer.headers, content)


def _items(headers: MutableMapping[str, str | bytes]) -> Iterable[tuple[str, str | bytes]]:
    """(name, value) of a session's headers: a CaseInsensitiveDict's store as it is (its ``items()``
    goes through ``Mapping``'s generic methods, a lookup per field), else ``items()``."""
    if isinstance(headers, CaseInsensitiveDict):
        store: dict[str, tuple[str, str | bytes]] = headers._store  # type: ignore[attr-defined]
        return store.values()  # requests' own layout: lowered name -> (name, value)
    return headers.items()


@dataclass(frozen=True)
class _Route:
    """How requests to one scheme and host go out: read once from the environment (see SyncTransport).

    :param proxies: the proxies the environment sets for the host (none when ``NO_PROXY`` bypasses it).
    :param verify: TLS verification: a bool, or a CA bundle (the setting, else ``REQUESTS_CA_BUNDLE``).
    :param origin: where the direct path connects, when no proxy applies (None: requests sends through
        the proxy).
    """

    proxies: MutableMapping[str, str]
    verify: bool | str
    origin: Origin | None

    @staticmethod
    def target(url: str) -> str:
        """The request target of an absolute URL: its path and query."""
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class AsyncTransport:
    """Sends calls with an ``httpx.AsyncClient``; same policy and parameters as :class:`SyncTransport`.

    :param shared: use the process's ``httpx.AsyncClient`` for these credentials and options on the
        running event loop (see :mod:`~airflow_provider_mparticle.client.core.shared`) instead of building
        one; :meth:`aclose` then gives it back. Needs a running loop and a hashable ``auth``.
    """

    def __init__(
        self,
        settings: TransportSettings,
        auth: AuthProvider | None = None,
        on_retry: RetryObserver | None = None,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.auth: AuthProvider = auth if auth is not None else NoAuth()
        self.stats = TransportStats()
        self.policy = SendPolicy(self.auth, settings, self.stats, on_retry)
        options = HttpClientOptions(
            timeout=settings.timeout, verify=settings.verify, pool_size=settings.pool_size
        )
        self._lease = SHARED_HTTP_CLIENTS.lease(self.auth, options) if shared else None
        #: the shared connections (``shared=True``), else None
        self.pool = self._lease.pool if self._lease is not None else None
        #: the transport's own client (``shared=False``), else None
        self.client = options.build() if self._lease is None else None

    async def aclose(self) -> None:
        if self._lease is not None:
            await self._lease.aclose()
        elif self.client is not None:
            await self.client.aclose()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def execute(self, call: Call[T]) -> T:
        """Send a call within its retry budget and return its parsed value."""
        return parse_answer(call, await self.send(call.request))

    async def send(self, request: ApiRequest) -> ApiResponse:
        return await self._drive(self.policy.flow(request))

    async def bearer_token(self) -> str:
        """A valid bearer token, fetched once per process and credential until shortly before expiry."""
        return await self._drive(self.policy.token_flow())

    async def _drive(self, flow: Generator[Step, Any, T]) -> T:
        result: Any = None
        error: MParticleError | None = None
        while True:
            try:
                step = _advance(flow, result, error)
            except StopIteration as done:
                value: T = done.value
                return value
            result, error = None, None
            try:
                result = await self._perform(step)
            except MParticleError as failure:
                error = failure

    async def _perform(self, step: Step) -> Any:
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Send):
            return await self._send_once(step.request, step.token, step.timeout)
        async with TOKENS.task_lock(step.key):
            token = TOKENS.valid(step.key)
            if token is None:
                answer = await self._send_once(step.request, None, step.timeout)
                token = self.policy.store_token(step.key, answer)
            return token

    async def _send_once(self, request: ApiRequest, token: str | None, limit: float) -> ApiResponse:
        headers = self.auth.headers(request, token)
        self.stats.add(requests=1)
        params: Any = dict(request.params) if request.params else None
        lending: AbstractAsyncContextManager[httpx.AsyncClient] = (
            self.pool.connection()
            if self.pool is not None
            else contextlib.nullcontext(cast("httpx.AsyncClient", self.client))
        )
        try:
            async with lending as client:
                answer = await client.request(
                    request.method,
                    request.url,
                    params=params,
                    content=request.body_bytes(),
                    headers=headers,
                    # Waiting for a pooled connection is not a network failure (see client/shared.py).
                    timeout=httpx.Timeout(limit, connect=min(limit, 10.0), pool=None),
                    follow_redirects=False,
                )
        except httpx.HTTPError as error:
            raise MParticleTransportError(
                f"{request.method} {request.url} got no answer: {type(error).__name__}"
            ) from error
        return build_response(request, answer.status_code, answer.headers, answer.content)
