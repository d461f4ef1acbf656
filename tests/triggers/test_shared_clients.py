"""Many waits in one event loop, as a triggerer runs them: one pool, one token, no cross-talk."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.client.core.flow import MParticleAuth
from airflow_provider_mparticle.client.core.shared import SHARED_HTTP_CLIENTS, HttpClientOptions
from airflow_provider_mparticle.hooks.base import CONNECTION_SETTINGS_CACHE, DEFAULT_TRIGGER_POOL_SIZE
from airflow_provider_mparticle.hooks.mparticle import MParticleHook
from airflow_provider_mparticle.triggers.adobe import AdobeComputedAttributeTrigger
from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger
from tests.adobe_helpers import definition
from tests.conftest import VALID_DEFINITION

WAITS = 12


def calculation_trigger(ca_id, deadline_in=60.0, poll_interval=0.05):
    return MParticleCalculationTrigger(
        ca_id=ca_id,
        mparticle_conn_id="mparticle_default",
        deadline=time.time() + deadline_in,
        poll_interval=poll_interval,
    )


async def run_trigger(trigger):
    return [event.payload async for event in trigger.run()]


def active_cas(client, count):
    ids = []
    for i in range(count):
        ca_id = client.calculated_attributes.create(f"LTV{i}", VALID_DEFINITION)
        client.calculated_attributes.activate(ca_id)
        ids.append(ca_id)
    return ids


async def polled(control, path_part, count):
    """Wait until the emulator has answered ``count`` requests whose path contains ``path_part``."""
    while len(await asyncio.to_thread(control.journal, path_part, bodies=False)) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("configured", [None, "3"])
async def test_waits_share_one_pool(configured, mparticle_conn_id, mparticle_emulator, client, monkeypatch):
    if configured is not None:
        monkeypatch.setenv("AIRFLOW__MPARTICLE__TRIGGER_POOL_SIZE", configured)
    pool_size = DEFAULT_TRIGGER_POOL_SIZE if configured is None else int(configured)
    control = mparticle_emulator.control
    control.configure(progress_steps=4)
    ids = active_cas(client, WAITS)
    tasks = [asyncio.create_task(run_trigger(calculation_trigger(ca_id))) for ca_id in ids]
    await polled(control, "/calculation", WAITS)
    settings = await MParticleHook(mparticle_conn_id).aget_settings()
    assert len(SHARED_HTTP_CLIENTS) == 1
    assert [t.done() for t in tasks] == [False] * WAITS
    options = HttpClientOptions(timeout=settings.timeout, verify=settings.verify, pool_size=pool_size)
    assert SHARED_HTTP_CLIENTS.users(MParticleAuth(settings), options) == WAITS
    results = await asyncio.gather(*tasks)
    assert [events[0]["status"] for events in results] == ["success"] * WAITS
    # The last wait to finish closed the pool.
    assert len(SHARED_HTTP_CLIENTS) == 0


@pytest.mark.parametrize("configured", ["0", "many"])
async def test_a_bad_pool_size_setting_is_an_error_event_naming_it(
    configured, mparticle_conn_id, mparticle_emulator, client, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__MPARTICLE__TRIGGER_POOL_SIZE", configured)
    [ca_id] = active_cas(client, 1)
    [event] = await run_trigger(calculation_trigger(ca_id))
    assert event["status"] == "error"
    assert (
        f"[mparticle] trigger_pool_size must be a whole number >= 1, got {configured!r}" in event["message"]
    )
    assert mparticle_emulator.control.journal("/calculation", bodies=False) == []


async def test_waits_refresh_a_refused_token_once(mparticle_conn_id, mparticle_emulator, client):
    control = mparticle_emulator.control
    control.configure(progress_steps=3)
    ids = active_cas(client, WAITS)
    # Any token cached so far is now refused: every wait meets the 401 together, one refreshes it.
    control.expire_tokens()
    tokens_before = len(control.journal("/oauth/token"))
    results = await asyncio.gather(*(run_trigger(calculation_trigger(ca_id)) for ca_id in ids))
    assert [events[0]["status"] for events in results] == ["success"] * WAITS
    assert len(control.journal("/oauth/token")) - tokens_before == 1


async def test_cancelling_one_wait_mid_request_leaves_the_others_running(
    mparticle_conn_id, mparticle_emulator, client
):
    control = mparticle_emulator.control
    control.configure(progress_steps=3)
    ids = active_cas(client, WAITS)
    control.set_latency(300)
    tasks = [asyncio.create_task(run_trigger(calculation_trigger(ca_id))) for ca_id in ids]
    await asyncio.sleep(0.15)  # every wait has a request in flight (300 ms of latency)
    tasks[0].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [events[0]["status"] for events in results[1:]] == ["success"] * (WAITS - 1)
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_an_error_or_a_deadline_in_one_wait_does_not_end_the_others(
    mparticle_conn_id, mparticle_emulator, client
):
    control = mparticle_emulator.control
    control.configure(progress_steps=6)
    ids = active_cas(client, 4)
    missing = max(ids) + 100
    triggers = [
        calculation_trigger(missing),  # 404: an error event
        calculation_trigger(ids[0], deadline_in=0.01),  # a timeout event
        *(calculation_trigger(ca_id) for ca_id in ids[1:]),
    ]
    results = await asyncio.gather(*(run_trigger(t) for t in triggers))
    statuses = [events[0]["status"] for events in results]
    assert statuses == ["error", "timeout", "success", "success", "success"]
    assert results[0][0]["reason"] == "not_found"


async def test_a_failing_request_in_one_wait_is_not_seen_by_the_others(
    mparticle_conn_id, mparticle_emulator, client, monkeypatch
):
    connection = mparticle_emulator.connection_uri_json()
    extra = {**connection["extra"], "max_attempts": 2}
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps({**connection, "extra": extra}))
    control = mparticle_emulator.control
    control.configure(progress_steps=3)
    ids = active_cas(client, 4)
    # A permanent 500 on one calculated attribute only (retries exhausted: an error event).
    control.add_fault(path=f"/calculatedattributes/{ids[0]}/calculation", status=500)
    results = await asyncio.gather(*(run_trigger(calculation_trigger(ca_id)) for ca_id in ids))
    statuses = [events[0]["status"] for events in results]
    assert statuses == ["error", "success", "success", "success"]
    assert results[0][0]["reason"] == "transient"


async def test_mparticle_and_adobe_waits_run_side_by_side(
    mparticle_conn_id, adobe_aep_conn_id, mparticle_emulator, client, adobe_aep_settings
):
    control = mparticle_emulator.control
    control.configure(progress_steps=3)
    [ca_id] = active_cas(client, 1)
    with AdobeClient(adobe_aep_settings) as adobe_client:
        attribute_id = adobe_client.computed_attributes.create(definition(), ComputedAttributeStatus.NEW).id
    adobe = AdobeComputedAttributeTrigger(
        attribute_id=attribute_id,
        adobe_aep_conn_id=adobe_aep_conn_id,
        poll_interval=0.05,
        deadline=time.time() + 60,
    )
    mparticle_events, adobe_events = await asyncio.gather(
        run_trigger(calculation_trigger(ca_id)), run_trigger(adobe)
    )
    assert mparticle_events[0]["status"] == "success"
    assert adobe_events[0]["status"] == "success"
    assert len(SHARED_HTTP_CLIENTS) == 0


async def test_concurrent_connection_look_ups_are_made_once(mparticle_conn_id):
    hooks = [MParticleHook(mparticle_conn_id) for _ in range(WAITS)]
    settings = await asyncio.gather(*(hook.aget_settings() for hook in hooks))
    # Each look-up builds a new settings object: one object means one look-up.
    assert all(s is settings[0] for s in settings)
    assert await MParticleHook(mparticle_conn_id).aget_settings() is settings[0]
    CONNECTION_SETTINGS_CACHE.clear()
    assert await MParticleHook(mparticle_conn_id).aget_settings() is not settings[0]


async def test_connection_look_ups_expire_and_failures_are_not_kept(
    mparticle_conn_id, mparticle_emulator, monkeypatch
):
    good = await MParticleHook(mparticle_conn_id).aget_settings()
    monkeypatch.setattr("airflow_provider_mparticle.hooks.base.CONNECTION_CACHE_SECONDS", 0.0)
    CONNECTION_SETTINGS_CACHE.clear()
    connection = mparticle_emulator.connection_uri_json()
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps({**connection, "extra": {"pod": "mars"}}))
    from airflow_provider_mparticle.client import MParticleConfigError

    with pytest.raises(MParticleConfigError, match="pod"):
        await MParticleHook(mparticle_conn_id).aget_settings()
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(connection))
    again = await MParticleHook(mparticle_conn_id).aget_settings()
    assert again == good
    assert again is not good
