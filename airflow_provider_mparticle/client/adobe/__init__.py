"""Pure-Python Adobe Experience Platform clients over the shared core. This package never imports Airflow.

:class:`AdobeClient` (``requests``) and :class:`AsyncAdobeClient` (``httpx``) use the same transports,
retry policy and error classes as the mParticle clients, with IMS authentication
(:class:`~airflow_provider_mparticle.client.adobe.config.AdobeImsAuth`).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_mparticle.client.adobe.computed_attributes import (
    AsyncComputedAttributesApi,
    ComputedAttribute,
    ComputedAttributeDefinition,
    ComputedAttributeError,
    ComputedAttributePage,
    ComputedAttributesApi,
    ComputedAttributeStatus,
    Duration,
    DurationUnit,
)
from airflow_provider_mparticle.client.adobe.config import AdobeClientSettings, AdobeImsAuth
from airflow_provider_mparticle.client.transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.core import RetryObserver

__all__ = [
    "AdobeClient",
    "AdobeClientSettings",
    "AdobeImsAuth",
    "AsyncAdobeClient",
    "ComputedAttribute",
    "ComputedAttributeDefinition",
    "ComputedAttributeError",
    "ComputedAttributePage",
    "ComputedAttributeStatus",
    "Duration",
    "DurationUnit",
]


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
            settings.transport_settings(), pool_size=pool_size, on_retry=on_retry, auth=AdobeImsAuth(settings)
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
    """Asynchronous client of one AEP sandbox (used by triggers); same attributes as :class:`AdobeClient`."""

    def __init__(
        self,
        settings: AdobeClientSettings,
        pool_size: int = 4,
        on_retry: RetryObserver | None = None,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.transport = AsyncTransport(
            settings.transport_settings(),
            pool_size=pool_size,
            on_retry=on_retry,
            auth=AdobeImsAuth(settings),
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
