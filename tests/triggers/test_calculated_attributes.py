"""MParticleCalculationTrigger: success, missing attribute, deadline, serialization, token refresh."""

from __future__ import annotations

import asyncio
import importlib
import time

import pytest

from airflow_provider_mparticle.events import validate_event
from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger
from tests.conftest import VALID_DEFINITION


def make_trigger(ca_id, deadline_in=60.0, poll_interval=0.01, **kwargs):
    return MParticleCalculationTrigger(
        ca_id=ca_id,
        mparticle_conn_id="mparticle_default",
        deadline=time.time() + deadline_in,
        poll_interval=poll_interval,
        **kwargs,
    )


async def events(trigger):
    return [e.payload async for e in trigger.run()]


def active_ca(client):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    client.calculated_attributes.activate(ca_id)
    return ca_id


async def test_runs_to_success(mparticle_conn_id, mparticle_emulator, client, caplog, capsys):
    ca_id = active_ca(client)
    caplog.set_level("INFO")
    [event] = await events(make_trigger(ca_id))
    assert validate_event(event, ("ca_id", "is_calculated")) is event
    assert event["status"] == "success"
    assert (event["ca_id"], event["name"], event["is_calculated"]) == (ca_id, "LTV", True)
    assert event["calculation_percent_complete"] == 100
    assert "'LTV' (id 1) is calculated" in event["message"]
    logged = caplog.text + capsys.readouterr().out
    assert "calculation 33% complete, estimated completion" in logged
    assert "calculation 67% complete" in logged


async def test_missing_attribute_is_an_error_event(mparticle_conn_id, mparticle_emulator):
    [event] = await events(make_trigger(42))
    assert event["status"] == "error"
    assert event["reason"] == "not_found"
    assert "Calculated attribute id 42 does not exist in workspace" in event["message"]


async def test_a_name_is_looked_up_by_the_first_poll(mparticle_conn_id, mparticle_emulator, client):
    control = mparticle_emulator.control
    ca_id = active_ca(client)
    trigger = make_trigger(None, ca_name="LTV")
    assert trigger.serialize()[1]["ca_id"] is None
    [event] = await events(trigger)
    assert (event["status"], event["ca_id"], event["name"]) == ("success", ca_id, "LTV")
    # One look-up, then the calculation only.
    assert len(control.journal(path="/calculatedattributes", method="GET")) == 1 + len(
        control.journal(path="/calculation")
    )


async def test_a_name_that_matches_nothing_is_not_found(mparticle_conn_id, mparticle_emulator, client):
    active_ca(client)
    [event] = await events(make_trigger(None, ca_name="ltv"))
    assert (event["status"], event["reason"]) == ("error", "not_found")
    assert "No calculated attribute named 'ltv' in workspace" in event["message"]
    assert mparticle_emulator.control.journal(path="/calculation") == []


def test_an_id_or_a_name_is_required():
    with pytest.raises(ValueError, match="ca_id or ca_name"):
        make_trigger(None)


async def test_deadline_gives_a_timeout_event(mparticle_conn_id, mparticle_emulator, client):
    mparticle_emulator.control.configure(progress_steps=10_000)
    ca_id = active_ca(client)
    [event] = await events(make_trigger(ca_id, deadline_in=0.05, ca_name="LTV"))
    assert event["status"] == "timeout"
    assert "'LTV' (id 1): still not finished at the deadline" in event["message"]


def test_serialize_round_trip():
    trigger = make_trigger(7, ca_name="LTV")
    classpath, kwargs = trigger.serialize()
    assert (
        classpath == "airflow_provider_mparticle.triggers.calculated_attributes.MParticleCalculationTrigger"
    )
    assert all(isinstance(v, str | int | float | type(None)) for v in kwargs.values())
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert (again.ca_id, again.ca_name, again.deadline) == (7, "LTV", trigger.deadline)


async def test_token_expiring_between_polls_is_refreshed(mparticle_conn_id, mparticle_emulator, client):
    control = mparticle_emulator.control
    control.configure(progress_steps=3)
    ca_id = active_ca(client)
    calculation = f"/calculatedattributes/{ca_id}/calculation"

    async def expire_after_first_poll():
        while not await asyncio.to_thread(control.journal, calculation):  # noqa: ASYNC110 (polls another process)
            await asyncio.sleep(0.01)
        await asyncio.to_thread(control.expire_tokens)

    tokens_before = len(control.journal("/oauth/token"))
    expiring = asyncio.create_task(expire_after_first_poll())
    [event] = await events(make_trigger(ca_id, poll_interval=0.5))
    await expiring
    assert event["status"] == "success"
    statuses = [e["status"] for e in control.journal(calculation)]
    assert statuses == [200, 401, 200, 200]
    # The trigger reuses the token the process already holds; the 401 costs exactly one new fetch.
    assert len(control.journal("/oauth/token")) - tokens_before == 1
