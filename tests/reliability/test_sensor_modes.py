"""Airflow's guarantees, the same in poke, reschedule and deferrable modes, for every sensor.

For each sensor and mode, the awaited thing first is still going, then one of:

- ``failed``: it fails for good: the task fails without a retry (an ``AirflowFailException``), and is
  skipped instead with ``soft_fail``;
- ``transient``: mParticle answers 503 to everything (past the client's retries): the task fails with a
  retryable error (not an ``AirflowFailException``), and ``soft_fail`` does not turn it into a skip (as
  Airflow's own poke loop does for a non-Airflow exception);
- ``timeout``: the deadline passes: ``AirflowSensorTimeout`` (no retry), or a skip with ``soft_fail``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC

import pytest
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.sensors.adobe import AdobeComputedAttributeSensor
from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor
from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.adobe_helpers import definition as adobe_definition
from tests.conftest import VALID_DEFINITION

pytestmark = pytest.mark.reliability

MODES = ("poke", "reschedule", "deferrable")
OUTCOMES = ("failed", "transient", "timeout")


@pytest.fixture
def env(mparticle_emulator, monkeypatch, client, adobe_aep_settings, adobe_aep_conn_id):
    """One attempt per request (a 503 is final at once), work that never finishes by itself."""
    control = mparticle_emulator.control
    control.configure(progress_mode="reads", progress_steps=10_000)
    conn = mparticle_emulator.connection_uri_json()
    conn["extra"]["max_attempts"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    from airflow_provider_mparticle.testing.emulator.adobe.models import connection_json

    adobe = connection_json(mparticle_emulator.url, mparticle_emulator.state)
    adobe["extra"]["max_attempts"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_AEP_DEFAULT", json.dumps(adobe))
    return {"control": control, "client": client, "adobe": adobe_aep_settings}


def calculation(env):
    ca_id = env["client"].calculated_attributes.create("LTV", VALID_DEFINITION)
    env["client"].calculated_attributes.activate(ca_id)
    return {"ca_id": ca_id}, lambda: env["client"].calculated_attributes.delete(ca_id)


def pipeline(env):
    create_pipeline(env["client"], "p1")
    env["control"].plan_pipeline_runs("p1", hold=True)
    run_id = env["client"].warehouse_sync.trigger("p1").pipeline_run_id
    return {"pipeline_id": "p1", "run_id": run_id}, lambda: env["control"].release_pipeline_run(
        run_id, outcome="failed", errors=["boom"]
    )


def adobe(env):
    with AdobeClient(env["adobe"]) as client:
        attribute_id = client.computed_attributes.create(adobe_definition(), ComputedAttributeStatus.NEW).id
    return {"attribute_id": attribute_id}, lambda: env["control"].adobe_set_status(attribute_id, "FAILED")


SENSORS = {
    "calculation": (MParticleCalculationSensor, calculation),
    "pipeline_run": (MParticlePipelineRunSensor, pipeline),
    "adobe": (AdobeComputedAttributeSensor, adobe),
}


def run(sensor, mode, change, context):
    """Run the sensor as Airflow would in ``mode``; ``change`` happens after the first look."""
    if mode == "poke":
        timer = threading.Timer(0.3, change)
        timer.start()
        try:
            return sensor.execute(context)
        finally:
            timer.join()
    if mode == "reschedule":
        with pytest.raises(AirflowRescheduleException):
            sensor.execute(context)
        change()
        while True:
            try:
                return sensor.execute(context)
            except AirflowRescheduleException:
                time.sleep(0.05)
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context)
    change()

    async def first_event():
        async for event in info.value.trigger.run():
            return event.payload

    event = asyncio.run(first_event())
    # What the task runner calls on resume (it applies soft_fail there).
    return sensor.resume_execution(info.value.method_name, {"event": event}, context)


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SENSORS)
@pytest.mark.parametrize("soft_fail", [False, True])
def test_same_outcome_in_every_mode(env, task_context, name, mode, outcome, soft_fail):
    sensor_class, setup = SENSORS[name]
    kwargs, fail = setup(env)
    control = env["control"]
    changes = {
        "failed": fail,
        "transient": lambda: control.add_fault(status=503, message="Service unavailable"),
        "timeout": lambda: None,
    }
    timeout = 1.0 if outcome == "timeout" else 30
    mode_kwargs = {"deferrable": True} if mode == "deferrable" else {"mode": mode, "deferrable": False}
    sensor = sensor_class(
        task_id="wait", poke_interval=0.1, timeout=timeout, soft_fail=soft_fail, **kwargs, **mode_kwargs
    )
    if outcome == "timeout" and mode == "reschedule":
        # Reschedule mode measures the timeout from the first try's start date.
        from datetime import datetime, timedelta

        task_context["ti"].get_first_reschedule_date = lambda _: datetime.now(UTC) - timedelta(seconds=5)  # fmt: skip
    try:
        run(sensor, mode, changes[outcome], task_context)
    except AirflowSkipException:
        kind = "skip"
    except (AirflowFailException, AirflowSensorTimeout):
        kind = "fail"
    except Exception as error:
        kind = f"retry ({type(error).__name__})"
    else:
        kind = "success"
    expected = {
        "failed": "skip" if soft_fail else "fail",
        "timeout": "skip" if soft_fail else "fail",
        "transient": "retry",
    }[outcome]
    assert kind.split(" ")[0] == expected, kind
