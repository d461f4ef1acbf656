"""The AEP sensor in poke, reschedule and deferrable modes, and its failure paths."""

from __future__ import annotations

import time

import pytest
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.exceptions import MParticleRetryableError
from airflow_provider_mparticle.sensors.adobe import (
    AdobeComputedAttributeFailedError,
    AdobeComputedAttributeSensor,
)
from airflow_provider_mparticle.triggers.adobe import AdobeComputedAttributeTrigger
from tests.adobe_helpers import context, definition
from tests.deferral import run_deferred


def create(settings, status=ComputedAttributeStatus.NEW) -> str:
    with AdobeClient(settings) as client:
        return client.computed_attributes.create(definition(), status).id


def sensor(attribute_id: str, **kwargs) -> AdobeComputedAttributeSensor:
    return AdobeComputedAttributeSensor(
        task_id="wait", attribute_id=attribute_id, poke_interval=0.01, **kwargs
    )


def test_poke_until_processed(adobe_aep_conn_id, adobe_aep_settings):
    s = sensor(create(adobe_aep_settings))
    assert [s.poke(context()) for _ in range(3)] == [False, False, True]


def test_poke_mode_execute_returns_when_processed(adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator):
    attribute_id = create(adobe_aep_settings)
    sensor(attribute_id, deferrable=False).execute(context())
    assert mparticle_emulator.control.adobe_attributes()[0]["status"] == "PROCESSED"


@pytest.mark.parametrize("final", ["FAILED", "DISABLED"])
def test_failure_statuses_fail_and_soft_fail_skips(
    adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator, final
):
    attribute_id = create(adobe_aep_settings)
    mparticle_emulator.control.adobe_set_status(attribute_id, final)
    with pytest.raises(AdobeComputedAttributeFailedError, match=final):
        sensor(attribute_id).execute(context())
    with pytest.raises(AirflowSkipException):
        sensor(attribute_id, soft_fail=True).execute(context())


@pytest.mark.parametrize("final", ["FAILED", "DISABLED"])
def test_deferrable_soft_fail_skips_an_attribute_already_failed(
    adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator, final
):
    attribute_id = create(adobe_aep_settings)
    mparticle_emulator.control.adobe_set_status(attribute_id, final)
    # Checked on the worker before deferring...
    with pytest.raises(AirflowSkipException):
        sensor(attribute_id, deferrable=True, check_before_defer=True, soft_fail=True).execute(context())
    with pytest.raises(AdobeComputedAttributeFailedError, match=final):
        sensor(attribute_id, deferrable=True, check_before_defer=True).execute(context())
    # ... or deferred at once: the trigger's first poll finds it.
    skipped = run_deferred(
        lambda: sensor(attribute_id, deferrable=True, soft_fail=True), context(), mparticle_emulator.control
    )
    assert isinstance(skipped.error, AirflowSkipException)
    failed = run_deferred(
        lambda: sensor(attribute_id, deferrable=True), context(), mparticle_emulator.control
    )
    assert isinstance(failed.error, AdobeComputedAttributeFailedError)
    assert final in str(failed.error)


def test_draft_fails_rather_than_waiting_forever(adobe_aep_conn_id, adobe_aep_settings):
    attribute_id = create(adobe_aep_settings, ComputedAttributeStatus.DRAFT)
    with pytest.raises(AdobeComputedAttributeFailedError, match="DRAFT"):
        sensor(attribute_id).execute(context())


def test_reschedule_mode_frees_the_slot_until_processed(adobe_aep_conn_id, adobe_aep_settings):
    s = sensor(create(adobe_aep_settings), mode="reschedule")
    for _ in range(2):
        with pytest.raises(AirflowRescheduleException):
            s.execute(context())
    s.execute(context())


def test_deferrable_defers_with_a_deadline_then_completes(adobe_aep_conn_id, adobe_aep_settings):
    attribute_id = create(adobe_aep_settings)
    s = sensor(attribute_id, deferrable=True, timeout=120)
    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        s.execute(context())
    trigger = info.value.trigger
    assert isinstance(trigger, AdobeComputedAttributeTrigger)
    assert info.value.method_name == "execute_complete"
    assert before + 120 <= trigger.deadline <= time.time() + 120
    assert trigger.serialize()[1]["attribute_id"] == attribute_id


async def test_deferrable_end_to_end_through_the_trigger(adobe_aep_conn_id, adobe_aep_settings):
    attribute_id = create(adobe_aep_settings)
    s = sensor(attribute_id, deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        s.execute(context())
    trigger = info.value.trigger
    trigger.poll_interval = 0.01
    [event] = [e.payload async for e in trigger.run()]
    assert s.execute_complete(context(), event) is None


def test_already_processed_ends_at_the_check_before_defer_or_the_first_poll(
    adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator
):
    attribute_id = create(adobe_aep_settings)
    mparticle_emulator.control.adobe_set_status(attribute_id, "PROCESSED")
    assert sensor(attribute_id, deferrable=True, check_before_defer=True).execute(context()) is None
    run = run_deferred(lambda: sensor(attribute_id, deferrable=True), context(), mparticle_emulator.control)
    assert (run.worker.tokens, run.worker.calls, run.error, run.result) == (0, [], None, None)
    assert run.trigger.calls == [f"GET /data/core/ca/attributes/{attribute_id}"]


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (
            {"status": "failed", "attribute_id": "a", "message": "is FAILED"},
            AdobeComputedAttributeFailedError,
            "is FAILED",
        ),
        (
            {"status": "timeout", "attribute_id": "a", "message": "still NEW"},
            AirflowSensorTimeout,
            "still NEW",
        ),
        ({"status": "error", "attribute_id": "a", "message": "404"}, AirflowException, "404"),
        (
            {"status": "error", "attribute_id": "a", "message": "503", "reason": "transient"},
            MParticleRetryableError,
            "503",
        ),
        ({"status": "success", "attribute_id": "b", "message": "ok"}, AirflowException, "expected 'a'"),
        (
            {"status": "done", "attribute_id": "a", "message": "?"},
            AirflowException,
            "Unexpected trigger event",
        ),
        ({"status": "success", "attribute_id": "a"}, AirflowException, "without a message"),
        (None, AirflowException, "Unexpected trigger event"),
        ("success", AirflowException, "Unexpected trigger event"),
    ],
)
def test_execute_complete_validates_the_event(event, error, message):
    with pytest.raises(error, match=message):
        sensor("a").execute_complete(context(), event)
