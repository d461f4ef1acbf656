"""The Adobe Experience Platform clients: :class:`AdobeClient` (``requests``) and
:class:`AsyncAdobeClient` (``httpx``), with IMS authentication over the shared transports.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.adobe.computed_attributes import (
    AsyncComputedAttributesApi,
    ComputedAttributesApi,
)
from airflow_provider_mparticle.client.adobe.config import AdobeImsAuth
from airflow_provider_mparticle.client.core.transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.adobe.config import AdobeClientSettings
    from airflow_provider_mparticle.client.core.flow import RetryObserver


class AdobeClient:
    """Synchronous client of one AEP sandbox.

    :param settings: credentials, organisation, sandbox, hosts, timeouts and retries.
    :param pool_size: pooled connections per host.
    :param on_retry: called with the error and the wait before each retry.
    """

    def __init__(
        self, settings: AdobeClientSettings, pool_size: int = 16, on_retry: RetryObserver | None = None
    ) -> None:
        self.settings = settings
        self.transport = SyncTransport(
            settings.transport_settings(pool_size), auth=AdobeImsAuth(settings), on_retry=on_retry
        )

    @cached_property
    def computed_attributes(self) -> ComputedAttributesApi:
        return ComputedAttributesApi(self.transport, self.settings)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> AdobeClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncAdobeClient:
    """Asynchronous client of one AEP sandbox (used by triggers); same attributes as :class:`AdobeClient`.

    :param shared: share the process's HTTP client for these settings on this event loop (see
        :class:`~airflow_provider_mparticle.client.clients.AsyncMParticleClient`).
    """

    def __init__(
        self,
        settings: AdobeClientSettings,
        pool_size: int = 4,
        on_retry: RetryObserver | None = None,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.transport = AsyncTransport(
            settings.transport_settings(pool_size),
            auth=AdobeImsAuth(settings),
            on_retry=on_retry,
            shared=shared,
        )

    @cached_property
    def computed_attributes(self) -> AsyncComputedAttributesApi:
        return AsyncComputedAttributesApi(self.transport, self.settings)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncAdobeClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
