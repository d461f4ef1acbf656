"""The mParticle clients: :class:`MParticleClient` (``requests``) and :class:`AsyncMParticleClient`
(``httpx``), with the same resource attributes over one shared request core.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.calculated_attributes.api import (
    AsyncCalculatedAttributesApi,
    CalculatedAttributesApi,
)
from airflow_provider_mparticle.client.core.flow import MParticleAuth
from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport
from airflow_provider_mparticle.client.data_planning.api import AsyncDataPlanningApi, DataPlanningApi
from airflow_provider_mparticle.client.seeding.api import AsyncSeedingApi, SeedingApi
from airflow_provider_mparticle.client.warehouse_sync.api import AsyncWarehouseSyncApi, WarehouseSyncApi

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.core.config import ClientSettings
    from airflow_provider_mparticle.client.core.flow import RetryObserver


class MParticleClient:
    """Synchronous client of one mParticle workspace.

    :param settings: credentials, hosts, timeouts and retries.
    :param pool_size: pooled connections per host (match the number of threads sharing the client).
    :param on_retry: called with the error and the wait before each retry.
    """

    def __init__(
        self, settings: ClientSettings, pool_size: int = 16, on_retry: RetryObserver | None = None
    ) -> None:
        self.settings = settings
        self.transport = SyncTransport(
            settings.transport_settings(pool_size), auth=MParticleAuth(settings), on_retry=on_retry
        )

    @cached_property
    def seeding(self) -> SeedingApi:
        return SeedingApi(self.transport, self.settings)

    @cached_property
    def calculated_attributes(self) -> CalculatedAttributesApi:
        return CalculatedAttributesApi(self.transport, self.settings)

    @cached_property
    def data_planning(self) -> DataPlanningApi:
        return DataPlanningApi(self.transport, self.settings)

    @cached_property
    def warehouse_sync(self) -> WarehouseSyncApi:
        return WarehouseSyncApi(self.transport, self.settings)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> MParticleClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncMParticleClient:
    """Asynchronous client of one mParticle workspace (used by triggers); same attributes as the sync one.

    :param settings: credentials, hosts, timeouts and retries.
    :param pool_size: pooled connections per host.
    :param on_retry: called with the error and the wait before each retry.
    :param shared: share the process's HTTP client (pool, TLS context) for these settings on this event
        loop with the other clients built so; :meth:`aclose` gives it back. Build it inside the loop.
    """

    def __init__(
        self,
        settings: ClientSettings,
        pool_size: int = 16,
        on_retry: RetryObserver | None = None,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.transport = AsyncTransport(
            settings.transport_settings(pool_size),
            auth=MParticleAuth(settings),
            on_retry=on_retry,
            shared=shared,
        )

    @cached_property
    def seeding(self) -> AsyncSeedingApi:
        return AsyncSeedingApi(self.transport, self.settings)

    @cached_property
    def calculated_attributes(self) -> AsyncCalculatedAttributesApi:
        return AsyncCalculatedAttributesApi(self.transport, self.settings)

    @cached_property
    def data_planning(self) -> AsyncDataPlanningApi:
        return AsyncDataPlanningApi(self.transport, self.settings)

    @cached_property
    def warehouse_sync(self) -> AsyncWarehouseSyncApi:
        return AsyncWarehouseSyncApi(self.transport, self.settings)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncMParticleClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
