"""Tokens expiring during a long seed and during a long deferred wait: the work goes on after a refresh."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder
from airflow_provider_mparticle.testing.examples import create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger
from benchmarks.seeding import chunks

pytestmark = pytest.mark.reliability

TOKEN = "/oauth/token"


def test_long_seed_with_platform_calls_survives_token_expiry(fresh_remote):
    """Every quarter second of a long seed: revoke every token, then make a Platform call on the same client.

    Seeding itself authenticates with the API key and secret (Basic); the Platform calls around it use the
    OAuth token, which is refused (401), fetched again and the call resent, while the load goes on.
    """
    control = fresh_remote.control
    control.set_latency(20)
    calls = []
    with MParticleClient(fresh_remote.settings(), pool_size=8) as client:
        ca = client.calculated_attributes.find_by_name("LTV")  # a first token

        def between(progress) -> None:
            control.expire_tokens()
            calls.append(client.calculated_attributes.get(ca.id).id)

        with BulkSeeder(
            fresh_remote.settings(), concurrency=8, client=client, on_progress=between, progress_interval=0.25
        ) as seeder:
            report = seeder.run(chunks(30_000))
    assert report.users_sent == 30_000
    assert len(calls) >= 3
    assert set(calls) == {ca.id}
    assert control.seeds_digest("LTV")["users"] == 30_000
    refused = [e for e in control.journal() if e["status"] == 401]
    tokens = [e for e in control.journal(path=TOKEN) if e["status"] == 200]
    assert len(refused) == len(calls)
    assert len(tokens) >= len(calls) + 1  # one more per refusal


class ExpiringTrigger(MParticlePipelineRunTrigger):
    """The pipeline run trigger, with every token revoked before each poll (a test hook, not a mock)."""

    control = None

    async def poll(self, client):
        await asyncio.to_thread(self.control.expire_tokens)
        return await super().poll(client)


def test_deferred_wait_outlives_expired_tokens(mparticle_emulator, mparticle_conn_id, client):
    control = mparticle_emulator.control
    create_pipeline(client, "long-wait")
    control.plan_pipeline_runs("long-wait", hold=True, successful_records=3)
    run_id = client.warehouse_sync.trigger("long-wait").pipeline_run_id
    trigger = ExpiringTrigger(
        pipeline_id="long-wait", run_id=run_id, mparticle_conn_id=mparticle_conn_id,
        deadline=time.time() + 120, poll_interval=0.1,
    )  # fmt: skip
    trigger.control = control

    async def wait() -> list:
        async def release() -> None:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(control.release_pipeline_run, run_id)

        task = asyncio.create_task(release())
        events = [e.payload async for e in trigger.run()]
        await task
        return events

    [event] = asyncio.run(wait())
    assert event["status"] == "success", event
    assert event["successful_records"] == 3
    refused = [e for e in control.journal() if e["status"] == 401]
    tokens = [e for e in control.journal(path=TOKEN) if e["status"] == 200]
    assert len(refused) >= 5
    assert len(tokens) >= len(refused)
