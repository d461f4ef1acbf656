"""The AEP trigger against the emulator: success, failure, deadline, errors, serialize round-trip."""

from __future__ import annotations

import importlib
import json
import time

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.triggers.adobe import AdobeComputedAttributeTrigger
from tests.adobe_helpers import definition


def create(settings, status=ComputedAttributeStatus.NEW) -> str:
    with AdobeClient(settings) as client:
        return client.computed_attributes.create(definition(), status).id


def trigger(attribute_id: str, deadline_in: float = 60.0, conn_id: str = "adobe_aep_default"):
    return AdobeComputedAttributeTrigger(
        attribute_id, conn_id, poll_interval=0.01, deadline=time.time() + deadline_in
    )


async def events(t) -> list[dict]:
    return [e.payload async for e in t.run()]


async def test_success_when_processed(adobe_aep_conn_id, adobe_aep_settings):
    attribute_id = create(adobe_aep_settings)
    [event] = await events(trigger(attribute_id))
    assert event["status"] == "success"
    assert event["attribute_status"] == "PROCESSED"
    assert event["attribute_id"] == attribute_id


async def test_failed_when_evaluation_fails(adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator):
    mparticle_emulator.control.adobe_configure(final_status="FAILED")
    [event] = await events(trigger(create(adobe_aep_settings)))
    assert (event["status"], event["attribute_status"]) == ("failed", "FAILED")


async def test_failed_when_disabled_or_draft(adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator):
    attribute_id = create(adobe_aep_settings)
    mparticle_emulator.control.adobe_set_status(attribute_id, "DISABLED")
    [event] = await events(trigger(attribute_id))
    assert (event["status"], event["attribute_status"]) == ("failed", "DISABLED")
    mparticle_emulator.control.reset()
    [event] = await events(trigger(create(adobe_aep_settings, ComputedAttributeStatus.DRAFT)))
    assert event["status"] == "failed"
    assert "DRAFT" in event["message"]


async def test_deadline_yields_a_timeout_event(adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator):
    mparticle_emulator.control.configure(progress_mode="reads", progress_steps=1000)
    [event] = await events(trigger(create(adobe_aep_settings), deadline_in=0.2))
    assert event["status"] == "timeout"
    assert event["attribute_status"] in ("INITIALIZING", "PROCESSING")


async def test_api_error_is_an_error_event(adobe_aep_conn_id):
    [event] = await events(trigger("does-not-exist"))
    assert event["status"] == "error"
    assert "404" in event["message"]


async def test_unknown_connection_is_an_error_event_not_a_crash(monkeypatch, mparticle_emulator):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN_AEP", json.dumps({"conn_type": "adobe_aep", "extra": {"x": 1}}))
    [event] = await events(trigger("a", conn_id="broken_aep"))
    assert event["status"] == "error"
    assert "unknown extra field(s): x" in event["message"]


def test_serialize_round_trip_uses_json_primitives():
    original = AdobeComputedAttributeTrigger("abc", "conn", poll_interval=5, deadline=1_800_000_000.5)
    path, kwargs = original.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, name = path.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)
    assert kwargs == {
        "attribute_id": "abc",
        "adobe_aep_conn_id": "conn",
        "poll_interval": 5.0,
        "deadline": 1_800_000_000.5,
    }
