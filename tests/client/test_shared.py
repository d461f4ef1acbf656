"""The process's shared connections: one pool per settings and event loop, closed by the last user."""

from __future__ import annotations

import asyncio
import threading

from airflow_provider_mparticle.client import AsyncMParticleClient
from airflow_provider_mparticle.client.adobe import AsyncAdobeClient
from airflow_provider_mparticle.client.core.shared import (
    SHARED_HTTP_CLIENTS,
    HttpClientOptions,
    SharedHttpClients,
)


async def test_clients_with_the_same_settings_share_one_http_client(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    second = AsyncMParticleClient(mparticle_settings, shared=True)
    other = AsyncMParticleClient(mparticle_settings.with_overrides(timeout=5.0), shared=True)
    private = AsyncMParticleClient(mparticle_settings)
    pool = first.transport.pool
    assert pool is not None
    assert second.transport.pool is pool
    assert other.transport.pool is not pool
    assert private.transport.pool is None
    assert private.transport.client is not None
    assert len(SHARED_HTTP_CLIENTS) == 2
    # Both work through the one pool, one request at a time on one connection.
    assert await first.calculated_attributes.list() == []
    assert await second.calculated_attributes.list() == []
    assert len(pool.clients) == 1
    await first.aclose()
    assert not pool.closed
    assert await second.calculated_attributes.list() == []
    await second.aclose()
    assert pool.closed
    assert all(client.is_closed for client in pool.clients)
    await other.aclose()
    await private.aclose()
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_vendors_and_credentials_do_not_share(mparticle_settings, adobe_aep_settings):
    mparticle = AsyncMParticleClient(mparticle_settings, shared=True)
    other_credentials = AsyncMParticleClient(
        mparticle_settings.with_overrides(client_id="someone-else"), shared=True
    )
    adobe = AsyncAdobeClient(adobe_aep_settings, shared=True)
    clients = {id(c.transport.pool) for c in (mparticle, other_credentials, adobe)}
    assert len(clients) == 3
    for client in (mparticle, other_credentials, adobe):
        await client.aclose()
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_closing_a_client_twice_returns_its_lease_once(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    second = AsyncMParticleClient(mparticle_settings, shared=True)
    await first.aclose()
    await first.aclose()
    assert not second.transport.pool.closed
    assert await second.calculated_attributes.list() == []
    await second.aclose()
    assert second.transport.pool.closed


async def test_a_user_arriving_after_the_last_left_gets_a_fresh_client(mparticle_settings):
    first = AsyncMParticleClient(mparticle_settings, shared=True)
    await first.aclose()
    again = AsyncMParticleClient(mparticle_settings, shared=True)
    assert again.transport.pool is not first.transport.pool
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
            seen.append(lease.pool)
            await lease.aclose()
            seen.append(lease.pool.closed)

        asyncio.run(take())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0] is not here.pool
    assert seen[1] is True
    assert registry.users("key", options) == 1
    assert not here.pool.closed
    await here.aclose()
    assert here.pool.closed
    assert len(registry) == 0


async def test_a_pool_lends_each_connection_to_one_request_at_a_time(mparticle_settings, mparticle_emulator):
    mparticle_emulator.control.set_latency(30)
    client = AsyncMParticleClient(mparticle_settings, pool_size=2, shared=True)
    pool = client.transport.pool
    results = await asyncio.gather(*(client.calculated_attributes.list() for _ in range(8)))
    assert results == [[]] * 8
    # Two connections, each its own client, every request on one of them.
    assert len(pool.clients) == 2
    await client.aclose()
    assert pool.closed


async def test_a_request_cancelled_mid_flight_gives_its_connection_back(
    mparticle_settings, mparticle_emulator
):
    control = mparticle_emulator.control
    client = AsyncMParticleClient(mparticle_settings, pool_size=1, shared=True)
    assert await client.calculated_attributes.list() == []  # the token, out of the way
    control.set_latency(2_000)
    pending = asyncio.create_task(client.calculated_attributes.list())
    while not (await asyncio.to_thread(control.journal, "/calculatedattributes", bodies=False))[1:]:  # noqa: ASYNC110
        await asyncio.sleep(0.02)  # the emulator has the request when it is in the journal
    pending.cancel()
    control.set_latency(0)
    # The only connection came back: the next request gets it instead of waiting for ever.
    assert await asyncio.wait_for(client.calculated_attributes.list(), timeout=5) == []
    assert len(client.transport.pool.clients) == 1
    await client.aclose()
