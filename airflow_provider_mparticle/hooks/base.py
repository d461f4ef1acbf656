"""What the provider's hooks share: settings read from the connection once, clients built from them."""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow.sdk import Connection

    from airflow_provider_mparticle.client.core.flow import RetryObserver

SettingsT = TypeVar("SettingsT")
#: the time budget of each call ``test_connection`` makes (two credential sets at most: 12 s in all)
TEST_CALL_SECONDS = 6.0
ClientT = TypeVar("ClientT")
AsyncClientT = TypeVar("AsyncClientT")


def number_extra(extra: dict[str, Any], name: str, default: float) -> float:
    """A numeric connection extra, ``default`` when absent or empty; an error names the extra."""
    value = extra.get(name)
    if value in (None, ""):
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        from airflow_provider_mparticle.client import MParticleConfigError

        raise MParticleConfigError(f"extra {name!r} must be a number, got {value!r}.") from None


def connection_error(conn: Connection, error: Exception, name_connection: bool = True) -> Exception:
    """A settings error for the user: prefixed with the connection id unless ``name_connection`` is off."""
    from airflow_provider_mparticle.client import MParticleConfigError

    return MParticleConfigError(f"Connection {conn.conn_id!r}: {error}" if name_connection else str(error))


#: connections a triggerer keeps open per connection's settings when ``[mparticle] trigger_pool_size`` is unset
DEFAULT_TRIGGER_POOL_SIZE = 20


def shared_pool_size() -> int:
    """``[mparticle] trigger_pool_size``: the connections of the pool the waits of a process share.

    Every answer that arrives in the same turn of the event loop is handled in that turn: the pool's size
    bounds how long one turn takes (a poll costs 1 to 3 ms of CPU), and so how long a triggerer's other
    waits are held up: 100 answers at once hold it for a tenth of a second or more. At 20 connections the
    waits are still polled at 20 / latency per second (100 per second at 200 ms).
    """
    from airflow.sdk import conf

    from airflow_provider_mparticle.client import MParticleConfigError

    raw = conf.get("mparticle", "trigger_pool_size", fallback=str(DEFAULT_TRIGGER_POOL_SIZE))
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise MParticleConfigError(f"[mparticle] trigger_pool_size must be a whole number >= 1, got {raw!r}.")
    return size


#: seconds a connection read by one trigger is reused by the other triggers of the process
CONNECTION_CACHE_SECONDS = 30.0


class _SharedResults:
    """Results shared per key by the triggers of a process, each made once for ``seconds`` (None: for good).

    Callers queue on a lock rather than await one shared result: a lock wakes one waiter at a time, so a
    thousand waits starting together resume one per loop iteration instead of all in the same one (which
    held the loop for a third of a second at 300 waits). A caller cancelled while making the result leaves
    it to the next one; failures are not kept.

    :param seconds: how long a result is reused, or None for the life of the process.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._values: dict[object, tuple[float, Any]] = {}
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[object, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    def _fresh(self, key: object) -> tuple[bool, Any]:
        cached = self._values.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return True, cached[1]
        return False, None

    async def get(self, key: object, load: Callable[[], Awaitable[Any]]) -> Any:
        found, value = self._fresh(key)
        if found:
            return value
        lock = self._locks.setdefault(asyncio.get_running_loop(), {}).setdefault(key, asyncio.Lock())
        async with lock:
            found, value = self._fresh(key)
            if not found:
                value = await load()
                until = math.inf if self.seconds is None else time.monotonic() + self.seconds
                self._values[key] = (until, value)
            return value

    def clear(self) -> None:
        """Forget every result (tests that change a connection between runs call this)."""
        self._values.clear()


#: client settings per (hook class, connection id): a triggerer starting a thousand waits on one
#: connection looks it up once
CONNECTION_SETTINGS_CACHE = _SharedResults(CONNECTION_CACHE_SECONDS)

#: per hook class, its async client stack imported in a worker thread. The client modules load on first
#: use (importing a hook must stay cheap), and the first trigger of a process would otherwise import them
#: on the event loop: about 0.2 s during which no other trigger runs. A worker thread holds the
#: interpreter lock only a switch interval (5 ms) at a time.
ASYNC_IMPORTS = _SharedResults(None)


class BaseApiClientHook(BaseHook, Generic[SettingsT, ClientT, AsyncClientT]):
    """A hook that reads client settings from its connection once and hands out sync and async clients.

    Subclasses name their connection attribute in ``conn_name_attr`` (and set it before calling
    ``super().__init__``), say how to read settings from a connection and which client classes to build.
    Client classes are returned by methods so that they are imported on first use, not with the hook.
    """

    #: the name of the attribute holding the connection id (set by each subclass)
    conn_name_attr: str
    #: what failed, in the retry warning
    service_name = "API"
    #: pool sizes when the caller gives none
    default_pool_size = 4
    default_async_pool_size = 4

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings: SettingsT | None = None

    @property
    def _conn_id(self) -> str:
        conn_id: str = getattr(self, self.conn_name_attr)
        return conn_id

    def settings_for_test(self) -> SettingsT:
        """Client settings for ``test_connection``: errors name the field but not the connection.

        Airflow's UI tests an unsaved connection under a random id the user never saw (and the user
        knows which connection they are testing).
        """
        if self._settings is None:
            conn = self.get_connection(self._conn_id)
            self._settings = self.settings_from_connection(conn, name_connection=False)
        return self._settings

    def get_conn(self) -> ClientT:
        """A synchronous client, as :meth:`get_client` gives it; the caller closes it."""
        return self.get_client()

    def settings_from_connection(self, conn: Connection, name_connection: bool = True) -> SettingsT:
        """Client settings from the connection; errors name the offending field.

        :param conn: the connection.
        :param name_connection: start error messages with the connection id.
        """
        raise NotImplementedError

    def client_class(self) -> Callable[..., ClientT]:
        """The synchronous client class (imported here, on first use)."""
        raise NotImplementedError

    def async_client_class(self) -> Callable[..., AsyncClientT]:
        """The asynchronous client class (imported here, on first use)."""
        raise NotImplementedError

    def import_async_stack(self) -> None:
        """Import what an async client needs to send and retry (run in a worker thread, see ``aget_client``)."""
        import contextlib
        import importlib

        # Airflow's asynchronous connection look-up loads asgiref and the task SDK's cache; httpx's
        # first request loads anyio's asyncio backend; retries load tenacity.
        for module in (
            "asgiref.sync",
            "airflow.sdk.execution_time.cache",
            "anyio._backends._asyncio",
            "anyio.streams.tls",
            "tenacity",
        ):
            # A module another Airflow or httpx release does not have is loaded, if at all, when used.
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
        import airflow_provider_mparticle.client.core.shared  # noqa: F401

        self.async_client_class()

    @property
    def settings(self) -> SettingsT:
        """Client settings read from the connection (once per hook)."""
        if self._settings is None:
            self._settings = self.settings_from_connection(self.get_connection(self._conn_id))
        return self._settings

    async def aget_settings(self) -> SettingsT:
        """Client settings, looking the connection up without blocking the event loop (for triggers).

        The look-up is shared with the process's other hooks of this class for the same connection for
        :data:`CONNECTION_CACHE_SECONDS`, so a triggerer resuming many waits asks for it once.
        """
        if self._settings is None:

            async def load() -> SettingsT:
                return self.settings_from_connection(await self.aget_connection(self._conn_id))

            self._settings = await CONNECTION_SETTINGS_CACHE.get((type(self), self._conn_id), load)
        return self._settings

    def get_client(self, pool_size: int | None = None, on_retry: RetryObserver | None = None) -> ClientT:
        """A synchronous client; the caller closes it (it is a context manager).

        :param pool_size: connections kept per host (default: the hook's ``default_pool_size``).
        :param on_retry: called with the error and the wait before each retry (default: a warning).
        """
        return self.client_class()(
            self.settings,
            pool_size=self.default_pool_size if pool_size is None else pool_size,
            on_retry=on_retry or self._log_retry,
        )

    async def aget_client(self, pool_size: int | None = None, shared: bool = True) -> AsyncClientT:
        """An asynchronous client (for triggers); the caller closes it with ``aclose()``.

        By default the client shares the process's HTTP connection pool and TLS context for this
        connection's settings on the running event loop (and the OAuth token, which is cached per
        process): a triggerer running a thousand waits holds one pool, not a thousand. ``aclose()`` gives
        the pool back; the last one closes it.

        :param pool_size: connections kept per host (default: ``[mparticle] trigger_pool_size`` when
            shared, ``default_async_pool_size`` otherwise).
        :param shared: False builds a private pool, closed by ``aclose()``.
        """
        await ASYNC_IMPORTS.get(type(self), lambda: asyncio.to_thread(self.import_async_stack))
        settings = await self.aget_settings()
        from airflow_provider_mparticle.client.core.shared import aprepare_tls

        if pool_size is None:
            pool_size = shared_pool_size() if shared else self.default_async_pool_size
        # The first TLS context of the process takes ~0.1 s to build: not on the loop.
        await aprepare_tls(getattr(settings, "verify", True))
        return self.async_client_class()(
            settings, pool_size=pool_size, on_retry=self._log_retry, shared=shared
        )

    def quick_client(self) -> ClientT:
        """A client for ``test_connection``: one attempt per call, each call done within
        ``TEST_CALL_SECONDS`` (token fetch included), so that the connection form answers within 15 s
        whatever the endpoint does (refused port, hung connection, dropped packets).
        """
        from airflow_provider_mparticle.client import RetrySettings

        settings: Any = self.settings
        quick = settings.with_overrides(
            timeout=min(settings.timeout, TEST_CALL_SECONDS),
            retry=RetrySettings(max_attempts=1, max_elapsed=TEST_CALL_SECONDS),
        )
        return self.client_class()(quick, pool_size=1, on_retry=self._log_retry)

    def _log_retry(self, error: BaseException, wait: float) -> None:
        self.log.warning("%s request failed (%s); retrying in %.1f s", self.service_name, error, wait)


def __getattr__(name: str) -> Any:
    # The base's name before it said it is one; kept for hooks that subclass it.
    if name == "ApiClientHook":
        from airflow_provider_mparticle.deprecations import renamed

        return renamed(__name__, name, BaseApiClientHook)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
