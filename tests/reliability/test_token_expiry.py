"""Tokens expiring during a long seed and during a long deferred wait: the work goes on after a refresh."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.client.bulk_seeding import BulkSeeder
from airflow_provider_mparticle.testing.examples import create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger
from benchmarks.seeding import chunks

pytestmark = pytest.mark.reliability

TOKEN = "/oauth/token"


def keep_expiring(control, stop: threading.Event, every: float = 0.3) -> threading.Thread:
    """Revoke every token issued so far, every ``every`` seconds, until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(every):
            control.expire_tokens()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_long_seed_with_platform_calls_survives_token_expiry(fresh_remote):
    control = fresh_remote.control
    control.set_latency(20)
    stop = threading.Event()
    with MParticleClient(fresh_remote.settings(), pool_size=8) as client:
        ca = client.calculated_attributes.find_by_name("LTV")  # a first token
        thread = keep_expiring(control, stop)
        try:
            with BulkSeeder(fresh_remote.settings(), concurrency=8, client=client) as seeder:
                # Platform API calls between the bulk requests, on the same client and token cache.
                report = seeder.run(chunks(30_000))
            again = client.calculated_attributes.get(ca.id)
        finally:
            stop.set()
            thread.join()
    assert report.users_sent == 30_000
    assert again.id == ca.id
    assert control.seeds_digest("LTV")["users"] == 30_000
    refused = [e for e in control.journal() if e["status"] == 401]
    tokens = [e for e in control.journal(path=TOKEN) if e["status"] == 200]
    assert refused, "the token was never refused: the test did not expire it"
    assert len(tokens) >= 2


def test_deferred_wait_outlives_expired_tokens(mparticle_emulator, mparticle_conn_id, client):
    control = mparticle_emulator.control
    create_pipeline(client, "long-wait")
    control.plan_pipeline_runs("long-wait", hold=True, successful_records=3)
    run_id = client.warehouse_sync.trigger("long-wait").pipeline_run_id
    trigger = MParticlePipelineRunTrigger(
        pipeline_id="long-wait", run_id=run_id, mparticle_conn_id=mparticle_conn_id,
        deadline=time.time() + 120, poll_interval=0.1,
    )  # fmt: skip
    stop = threading.Event()
    thread = keep_expiring(control, stop, every=0.25)

    async def wait() -> list:
        async def release() -> None:
            await asyncio.sleep(2.0)
            await asyncio.to_thread(control.release_pipeline_run, run_id)

        task = asyncio.create_task(release())
        events = [e.payload async for e in trigger.run()]
        await task
        return events

    try:
        [event] = asyncio.run(wait())
    finally:
        stop.set()
        thread.join()
    assert event["status"] == "success", event
    assert event["successful_records"] == 3
    refused = [e for e in control.journal() if e["status"] == 401]
    tokens = [e for e in control.journal(path=TOKEN) if e["status"] == 200]
    assert refused
    assert len(tokens) >= 3
