"""MParticleCalculationSensor in poke, reschedule and deferrable modes; soft_fail on a missing attribute."""

from __future__ import annotations

import asyncio

import pytest
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.links.calculated_attributes import XCOM_ID_KEY, XCOM_URL_KEY
from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor
from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger
from tests.conftest import VALID_DEFINITION
from tests.deferral import mark, run_deferred


def sensor(**kwargs):
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("timeout", 30)
    return MParticleCalculationSensor(task_id="wait", **kwargs)


def active_ca(client, name="LTV"):
    ca_id = client.calculated_attributes.create(name, VALID_DEFINITION)
    client.calculated_attributes.activate(ca_id)
    return ca_id


def run_trigger(trigger):
    async def collect():
        return [e.payload async for e in trigger.run()]

    [event] = asyncio.run(collect())
    return event


def test_poke_mode_waits_until_calculated(
    mparticle_conn_id, mparticle_emulator, client, task_context, capsys
):
    ca_id = active_ca(client)
    result = sensor(ca_name="LTV", mode="poke", deferrable=False).execute(task_context)
    assert result["is_calculated"] is True
    assert result["ca_id"] == ca_id
    assert task_context["ti"].xcom[XCOM_ID_KEY] == ca_id
    assert task_context["ti"].xcom[XCOM_URL_KEY]
    assert len(mparticle_emulator.control.journal(path=f"/{ca_id}/calculation")) == 3
    out = capsys.readouterr().out
    assert "calculation 33% complete, estimated completion" in out
    assert "calculation 67% complete" in out


def test_reschedule_mode(mparticle_conn_id, mparticle_emulator, client, task_context):
    ca_id = active_ca(client)
    for _ in range(2):
        with pytest.raises(AirflowRescheduleException):
            sensor(ca_id=ca_id, mode="reschedule", deferrable=False).execute(task_context)
    result = sensor(ca_id=ca_id, mode="reschedule", deferrable=False).execute(task_context)
    assert result["calculation_percent_complete"] == 100


def test_deferrable_mode(mparticle_conn_id, mparticle_emulator, client, task_context):
    ca_id = active_ca(client)
    task = sensor(ca_name="LTV", deferrable=True, poke_interval=0.01, timeout=600)
    start = mark(mparticle_emulator.control)
    with pytest.raises(TaskDeferred) as info:
        task.execute(task_context)
    assert mparticle_emulator.control.journal(since=start) == []
    trigger = info.value.trigger
    assert isinstance(trigger, MParticleCalculationTrigger)
    # Deferred at once: the trigger finds the attribute by its name.
    assert (trigger.ca_id, trigger.ca_name, trigger.poll_interval) == (None, "LTV", 0.01)
    assert trigger.mparticle_conn_id == "mparticle_default"
    assert info.value.method_name == "execute_complete"
    event = run_trigger(trigger)
    result = task.execute_complete(task_context, event)
    assert result["is_calculated"] is True
    assert result["ca_id"] == ca_id
    assert task_context["ti"].xcom[XCOM_ID_KEY] == ca_id


def test_check_before_defer_checks_once_on_the_worker(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    ca_id = active_ca(client)
    task = sensor(ca_name="LTV", deferrable=True, check_before_defer=True)
    with pytest.raises(TaskDeferred) as info:
        task.execute(task_context)
    assert (info.value.trigger.ca_id, info.value.trigger.ca_name) == (ca_id, "LTV")
    assert len(mparticle_emulator.control.journal(path="/calculation")) == 1
    mparticle_emulator.control.configure(progress_mode="immediate")
    ca_id = client.calculated_attributes.create("Now", VALID_DEFINITION)
    client.calculated_attributes.activate(ca_id)
    result = sensor(ca_id=ca_id, deferrable=True, check_before_defer=True).execute(task_context)
    assert result["is_calculated"] is True


def run_to_the_end(make, context, control, mode):
    """The task's result in ``mode``, through the trigger when it defers."""
    if mode != "deferrable":
        return make().execute(context)
    run = run_deferred(make, context, control)
    if run.error is not None:
        raise run.error
    return run.result


MODES = {
    "poke": {"mode": "poke", "deferrable": False},
    "reschedule": {"mode": "reschedule", "deferrable": False},
    "deferrable": {"deferrable": True},
    "check_before_defer": {"deferrable": True, "check_before_defer": True},
}


@pytest.mark.parametrize("mode", list(MODES))
def test_missing_attribute_fails_or_skips_with_soft_fail(
    mparticle_conn_id, mparticle_emulator, task_context, mode
):
    kwargs = MODES[mode]
    control = mparticle_emulator.control
    with pytest.raises(MParticleTaskFailure, match="No calculated attribute named 'nope'"):
        run_to_the_end(lambda: sensor(ca_name="nope", **kwargs), task_context, control, mode)
    with pytest.raises(AirflowSkipException):
        run_to_the_end(lambda: sensor(ca_name="nope", soft_fail=True, **kwargs), task_context, control, mode)
    with pytest.raises(MParticleTaskFailure, match="id 5 does not exist"):
        run_to_the_end(lambda: sensor(ca_id=5, **kwargs), task_context, control, mode)
    with pytest.raises(AirflowSkipException):
        run_to_the_end(lambda: sensor(ca_id="five", soft_fail=True, **kwargs), task_context, control, mode)


def test_attribute_deleted_while_deferred_skips_with_soft_fail(mparticle_conn_id, client, task_context):
    ca_id = active_ca(client)
    task = sensor(ca_id=ca_id, deferrable=True, soft_fail=True)
    with pytest.raises(TaskDeferred) as info:
        task.execute(task_context)
    client.calculated_attributes.delete(ca_id)
    event = run_trigger(info.value.trigger)
    assert (event["status"], event["reason"]) == ("error", "not_found")
    with pytest.raises(AirflowSkipException, match="does not exist"):
        task.execute_complete(task_context, event)
    with pytest.raises(MParticleTaskFailure, match="does not exist"):
        sensor(ca_id=ca_id, deferrable=True).execute_complete(task_context, event)
    # What Airflow calls on resume: soft_fail turns the failure into a skip.
    with pytest.raises(AirflowSkipException):
        task.resume_execution("execute_complete", {"event": event}, task_context)


def test_timeout_event(task_context):
    task = sensor(ca_id=1, deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match="deadline"):
        task.execute_complete(
            task_context, {"status": "timeout", "message": "still not finished at the deadline"}
        )
    soft = sensor(ca_id=1, deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.resume_execution(
            "execute_complete", {"event": {"status": "timeout", "message": "deadline"}}, task_context
        )


@pytest.mark.parametrize(
    "event",
    [
        None,
        "success",
        {"status": "done", "message": "x"},
        {"status": "success"},
        {"status": "success", "message": "x", "ca_id": 1},
    ],
)
def test_malformed_events_are_rejected(task_context, event):
    with pytest.raises(AirflowException):
        sensor(ca_id=1, deferrable=True).execute_complete(task_context, event)


def test_poke_survives_token_expiry(mparticle_conn_id, mparticle_emulator, client, task_context):
    control = mparticle_emulator.control
    ca_id = active_ca(client)
    task = sensor(ca_id=ca_id)
    assert task.poke(task_context) is False
    control.expire_tokens()
    assert task.poke(task_context) is False
    assert task.poke(task_context).is_done
    statuses = [e["status"] for e in control.journal(f"/calculatedattributes/{ca_id}/calculation")]
    assert statuses == [200, 401, 200, 200]


def test_link_reads_the_url_back(mparticle_conn_id, client, task_context):
    from airflow_provider_mparticle.links.calculated_attributes import (
        MParticleCalculatedAttributeLink,
        calculated_attribute_url,
    )

    assert calculated_attribute_url("1", 5, "LTV") == (
        "https://app.mparticle.com/audiences/calculated-attributes/5?workspaceId=1"
    )
    assert MParticleCalculatedAttributeLink().name == "mParticle calculated attribute"


def test_asset_uri():
    from airflow_provider_mparticle.assets import calculated_attribute_asset

    asset = calculated_attribute_asset("1", "Lifetime value")
    assert asset.uri == "mparticle://1/calculated-attributes/Lifetime%20value"
    assert asset.name == "mparticle_ca_1_Lifetime value"
