"""The process's shared async HTTP clients: one per settings and event loop, closed by the last user."""

from __future__ import annotations

import asyncio
import threading

from airflow_provider_mparticle.client import AsyncMParticleClient
from airflow_provider_mparticle.client.adobe import AsyncAdobeClient
from airflow_provider_mparticle.client.shared import SHARED_HTTP_CLIENTS, HttpClientOptions, SharedHttpClients


async def test_clients_with_the_same_settings_share_one_http_client(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    second = AsyncMParticleClient(mparticle_settings, shared=True)
    other = AsyncMParticleClient(mparticle_settings.with_overrides(timeout=5.0), shared=True)
    private = AsyncMParticleClient(mparticle_settings)
    http = first.transport.client
    assert second.transport.client is http
    assert other.transport.client is not http
    assert private.transport.client is not http
    assert len(SHARED_HTTP_CLIENTS) == 2
    # Both work through the one pool.
    assert await first.calculated_attributes.list() == []
    assert await second.calculated_attributes.list() == []
    await first.aclose()
    assert not http.is_closed
    assert await second.calculated_attributes.list() == []
    await second.aclose()
    assert http.is_closed
    await other.aclose()
    await private.aclose()
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_vendors_and_credentials_do_not_share(mparticle_settings, adobe_aep_settings):
    mparticle = AsyncMParticleClient(mparticle_settings, shared=True)
    other_credentials = AsyncMParticleClient(
        mparticle_settings.with_overrides(client_id="someone-else"), shared=True
    )
    adobe = AsyncAdobeClient(adobe_aep_settings, shared=True)
    clients = {id(c.transport.client) for c in (mparticle, other_credentials, adobe)}
    assert len(clients) == 3
    for client in (mparticle, other_credentials, adobe):
        await client.aclose()
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_closing_a_client_twice_returns_its_lease_once(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    second = AsyncMParticleClient(mparticle_settings, shared=True)
    await first.aclose()
    await first.aclose()
    assert not second.transport.client.is_closed
    assert await second.calculated_attributes.list() == []
    await second.aclose()
    assert second.transport.client.is_closed


async def test_a_user_arriving_after_the_last_left_gets_a_fresh_client(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    await first.aclose()
    again = AsyncMParticleClient(mparticle_settings, shared=True)
    assert again.transport.client is not first.transport.client
    assert await again.calculated_attributes.list() == []
    await again.aclose()


async def test_each_event_loop_has_its_own_client():
    registry = SharedHttpClients()
    options = HttpClientOptions(timeout=5.0)
    here = registry.lease("key", options)
    seen: list[object] = []

    def other_thread() -> None:
        async def take() -> None:
            lease = registry.lease("key", options)
            seen.append(lease.client)
            await lease.aclose()
            seen.append(lease.client.is_closed)

        asyncio.run(take())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0] is not here.client
    assert seen[1] is True
    assert registry.users("key", options) == 1
    assert not here.client.is_closed
    await here.aclose()
    assert here.client.is_closed
    assert len(registry) == 0
