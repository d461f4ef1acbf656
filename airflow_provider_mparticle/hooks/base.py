"""What the provider's hooks share: settings read from the connection once, clients built from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Connection

    from airflow_provider_mparticle.client.core import RetryObserver

SettingsT = TypeVar("SettingsT")
#: the time budget of each call ``test_connection`` makes (two credential sets at most: 12 s in all)
TEST_CALL_SECONDS = 6.0
ClientT = TypeVar("ClientT")
AsyncClientT = TypeVar("AsyncClientT")


def number_extra(extra: dict[str, Any], name: str, default: float) -> float:
    """A numeric connection extra, ``default`` when absent or empty; an error names the extra."""
    value = extra.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        from airflow_provider_mparticle.client import MParticleConfigError

        raise MParticleConfigError(f"Connection extra {name!r} must be a number, got {value!r}.") from None


class ApiClientHook(BaseHook, Generic[SettingsT, ClientT, AsyncClientT]):
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

    def settings_from_connection(self, conn: Connection) -> SettingsT:
        """Client settings from the connection; errors name the connection and the offending field."""
        raise NotImplementedError

    def client_class(self) -> Callable[..., ClientT]:
        """The synchronous client class (imported here, on first use)."""
        raise NotImplementedError

    def async_client_class(self) -> Callable[..., AsyncClientT]:
        """The asynchronous client class (imported here, on first use)."""
        raise NotImplementedError

    @property
    def settings(self) -> SettingsT:
        """Client settings read from the connection (once per hook)."""
        if self._settings is None:
            self._settings = self.settings_from_connection(self.get_connection(self._conn_id))
        return self._settings

    async def aget_settings(self) -> SettingsT:
        """Client settings, looking the connection up without blocking the event loop (for triggers)."""
        if self._settings is None:
            conn = await self.aget_connection(self._conn_id)
            self._settings = self.settings_from_connection(conn)
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

    async def aget_client(self, pool_size: int | None = None) -> AsyncClientT:
        """An asynchronous client (for triggers); the caller closes it with ``aclose()``.

        :param pool_size: connections kept per host (default: the hook's ``default_async_pool_size``).
        """
        return self.async_client_class()(
            await self.aget_settings(),
            pool_size=self.default_async_pool_size if pool_size is None else pool_size,
            on_retry=self._log_retry,
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
