from __future__ import annotations

import pytest
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor
from airflow_provider_mparticle.testing.examples import create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger
from tests.deferral import run_deferred

PIPELINE = "example-pipeline"


@pytest.fixture
def pipeline(client, mparticle_conn_id):
    return create_pipeline(client)


def sensor(**kwargs):
    kwargs.setdefault("deferrable", False)
    return MParticlePipelineRunSensor(task_id="wait", pipeline_id=PIPELINE, poke_interval=0.01, **kwargs)


def test_poke_follows_a_given_run_to_success(pipeline, client):
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    s = sensor(run_id=str(run_id))  # as rendered from a template
    assert s.poke({}) is False
    assert s.poke({}) is False
    done = s.poke({})
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value["run_id"] == run_id
    assert done.xcom_value["successful_records"] == 100


def test_latest_run_mode_and_no_run_yet(pipeline, client):
    s = sensor()
    assert s.poke({}) is False
    client.warehouse_sync.trigger(PIPELINE)
    assert s.execute({})["status"] == "success"


def test_failed_run_fails_or_skips_with_soft_fail(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.configure(progress_mode="immediate")
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, outcome="stopped", errors=["Stopped"])
    client.warehouse_sync.trigger(PIPELINE)
    with pytest.raises(MParticleTaskFailure, match="ended stopped: Stopped"):
        sensor().poke({})


def test_poke_mode_times_out(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    client.warehouse_sync.trigger(PIPELINE)
    with pytest.raises(AirflowSensorTimeout):
        sensor(timeout=0.05).execute({})


def test_deferrable_checks_once_then_defers(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    s = sensor(deferrable=True, run_id=run_id, timeout=120)
    with pytest.raises(TaskDeferred) as caught:
        s.execute({})
    trigger = caught.value.trigger
    assert isinstance(trigger, MParticlePipelineRunTrigger)
    assert trigger.run_id == run_id
    result = {"pipeline_id": PIPELINE, "run_id": run_id, "status": "success", "successful_records": 1,
              "failed_records": 0}  # fmt: skip
    event = {"status": "success", "message": "ok", "result": result}
    assert s.execute_complete({}, event)["successful_records"] == 1
    with pytest.raises(AirflowSensorTimeout):
        s.execute_complete({}, {"status": "timeout", "message": "late"})
    with pytest.raises(MParticleTaskFailure):
        s.execute_complete({}, {"status": "failed", "message": "boom"})


def test_a_run_already_done_ends_after_the_first_poll_or_the_check_before_defer(
    pipeline, client, mparticle_emulator
):
    control = mparticle_emulator.control
    control.configure(progress_mode="immediate")
    client.warehouse_sync.trigger(PIPELINE)
    assert sensor(deferrable=True, check_before_defer=True).execute({})["status"] == "success"
    run = run_deferred(lambda: sensor(deferrable=True), {}, control)
    assert (run.worker.tokens, run.worker.calls) == (0, [])
    assert len(run.trigger.calls) == 1  # the report, which holds the latest run
    assert run.result["status"] == "success"
