from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS
from airflow.sdk.exceptions import AirflowException, TaskDeferred

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.operators.warehouse_sync import (
    MParticlePausePipelineOperator,
    MParticleResumePipelineOperator,
    MParticleTriggerPipelineOperator,
)
from airflow_provider_mparticle.testing.examples import CONNECTION, create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger
from tests.state_store import TaskStateStore

PIPELINE = "example-pipeline"


def operator(**kwargs):
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poll_interval", 0.01)
    return MParticleTriggerPipelineOperator(task_id="sync", pipeline_id=PIPELINE, **kwargs)


@pytest.fixture
def pipeline(client, mparticle_conn_id):
    return create_pipeline(client)


def test_trigger_and_wait_to_success(pipeline, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, successful_records=42, failed_records=1)
    result = operator().execute({"task_state_store": TaskStateStore()})
    assert result == {
        "pipeline_id": PIPELINE,
        "run_id": 1,
        "status": "success",
        "successful_records": 42,
        "failed_records": 1,
    }
    assert len(mparticle_emulator.control.pipeline_triggers(PIPELINE)) == 1


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (
            {"outcome": "failed", "errors": ["Column 'email' not found"]},
            "ended failed: Column 'email' not found",
        ),
        ({"outcome": "stopped", "errors": ["Stopped by a user"]}, "ended stopped: Stopped by a user"),
    ],
)
def test_failed_and_stopped_runs_fail_with_their_errors(pipeline, mparticle_emulator, plan, expected):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, **plan)
    with pytest.raises(MParticleTaskFailure, match=expected):
        operator().execute({})


def test_faulted_connection_fails_with_the_connection_errors(pipeline, mparticle_emulator):
    mparticle_emulator.control.fault_warehouse_connection(CONNECTION["id"], "Incorrect username or password")
    with pytest.raises(MParticleTaskFailure) as caught:
        operator().execute({})
    assert "ended failed: Incorrect username or password" in str(caught.value)


def test_faulted_data_model_reports_data_model_errors(pipeline, mparticle_emulator):
    mparticle_emulator.control.fault_data_model("example-data-model", "SQL compilation error")
    with pytest.raises(MParticleTaskFailure, match="SQL compilation error"):
        operator().execute({})


def test_missing_or_paused_pipeline_fails_without_retry(client, mparticle_conn_id, mparticle_emulator):
    with pytest.raises(MParticleTaskFailure, match="was not found"):
        operator().execute({})
    create_pipeline(client)
    client.warehouse_sync.pause_pipeline(PIPELINE)
    with pytest.raises(MParticleTaskFailure, match="is paused"):
        operator().execute({})


def test_attaches_to_the_running_run(pipeline, client, mparticle_emulator):
    running = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    result = operator().execute({})
    assert result["run_id"] == running
    assert result["status"] == "success"
    # The operator's own trigger was refused; no second run exists.
    assert [r["id"] for r in mparticle_emulator.control.pipeline_runs()] == [running]


def test_attaching_can_be_turned_off(pipeline, client):
    client.warehouse_sync.trigger(PIPELINE)
    with pytest.raises(MParticleTaskFailure, match="already in progress"):
        operator(attach_if_running=False).execute({})


# ResumableJobMixin and task_state_store arrived in Airflow 3.3; below it common.compat's stand-in
# triggers a new run on every try (the suite runs on 3.2.2 too: make test-lowest).
needs_task_state_store = pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="task_state_store is Airflow 3.3+")


@needs_task_state_store
def test_retry_after_a_crash_reconnects_instead_of_triggering_again(
    pipeline, mparticle_emulator, monkeypatch
):
    # No client-side retries, so the injected failure ends the first attempt like a dying worker.
    conn = mparticle_emulator.connection_uri_json()
    conn["extra"]["max_attempts"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    control = mparticle_emulator.control
    control.plan_pipeline_runs(PIPELINE, hold=True)
    control.add_fault(path=r"/runs/\d+$", method="GET", status=500, times=1)
    store = TaskStateStore()
    with pytest.raises(Exception, match="500"):
        operator().execute({"task_state_store": store})
    assert store.values["mparticle_pipeline_run_id"] == 1
    assert store.values["mparticle_pipeline_trigger_intent"]["run_id"] == 1  # answered: nothing to reconcile
    control.release_pipeline_run(1)
    result = operator().execute({"task_state_store": store})
    assert result["run_id"] == 1
    assert result["status"] == "success"
    assert len(control.pipeline_triggers(PIPELINE)) == 1


@needs_task_state_store
def test_retry_after_the_run_succeeded_returns_its_result_without_triggering(pipeline, mparticle_emulator):
    store = TaskStateStore()
    first = operator().execute({"task_state_store": store})
    second = operator().execute({"task_state_store": store})
    assert second == first
    assert len(mparticle_emulator.control.pipeline_triggers(PIPELINE)) == 1


@pytest.mark.skipif(AIRFLOW_V_3_3_PLUS, reason="the stand-in for Airflow < 3.3")
def test_before_airflow_3_3_a_retry_triggers_a_new_run(pipeline, mparticle_emulator):
    store = TaskStateStore()
    operator().execute({"task_state_store": store})
    operator().execute({"task_state_store": store})
    assert len(mparticle_emulator.control.pipeline_triggers(PIPELINE)) == 2


def test_failed_records_threshold(pipeline, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, successful_records=90, failed_records=10)
    assert operator(max_failed_records=10).execute({})["failed_records"] == 10
    with pytest.raises(MParticleTaskFailure, match="10 records failed, more than max_failed_records=9"):
        operator(max_failed_records=9).execute({})


def test_no_wait_returns_the_triggered_run(pipeline, mparticle_emulator):
    result = operator(wait_for_completion=False).execute({})
    assert result["run_id"] == 1
    assert result["status"] in ("queued", "running")


def test_wait_timeout_fails_retryably(pipeline, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    with pytest.raises(AirflowException, match="still running") as caught:
        operator(wait_timeout=0.05).execute({})
    assert not isinstance(caught.value, MParticleTaskFailure)


def test_deferrable_defers_with_a_deadline_then_completes_from_the_event(pipeline, mparticle_emulator):
    op = operator(deferrable=True, poll_interval=5, wait_timeout=600)
    with pytest.raises(TaskDeferred) as caught:
        op.execute({})
    trigger = caught.value.trigger
    assert isinstance(trigger, MParticlePipelineRunTrigger)
    assert (trigger.pipeline_id, trigger.run_id, trigger.poll_interval) == (PIPELINE, 1, 5.0)
    assert caught.value.method_name == "execute_complete"
    result = {"pipeline_id": PIPELINE, "run_id": 1, "status": "success", "successful_records": 5}
    event = {"status": "success", "message": "ok", "result": {**result, "failed_records": 0}}
    assert op.execute_complete({}, event)["successful_records"] == 5


def test_execute_complete_validates_and_maps_events(pipeline):
    op = operator(max_failed_records=0)
    with pytest.raises(AirflowException, match="Unexpected trigger event"):
        op.execute_complete({}, {"status": "odd", "message": "?"})
    with pytest.raises(AirflowException, match="missing"):
        op.execute_complete({}, {"status": "success", "message": "ok"})
    with pytest.raises(MParticleTaskFailure, match="ended failed"):
        op.execute_complete({}, {"status": "failed", "message": "run 1 ended failed: boom"})
    with pytest.raises(AirflowException, match="reconnects") as caught:
        op.execute_complete({}, {"status": "timeout", "message": "still running"})
    assert not isinstance(caught.value, MParticleTaskFailure)


def test_pause_and_resume_operators(pipeline, client):
    paused = MParticlePausePipelineOperator(task_id="pause", pipeline_id=PIPELINE).execute({})
    assert paused == {"pipeline_id": PIPELINE, "state": "paused", "status": "stopped"}
    resumed = MParticleResumePipelineOperator(task_id="resume", pipeline_id=PIPELINE).execute({})
    assert resumed["state"] == "active"
    assert client.warehouse_sync.get_pipeline(PIPELINE).status_text == "idle"


def test_bad_arguments_are_refused_at_parse_time():
    with pytest.raises(ValueError, match="max_failed_records"):
        operator(max_failed_records=-1)


async def test_transient_error_while_deferred_is_retried_not_failed(
    pipeline, mparticle_emulator, monkeypatch
):
    # mParticle answers 503 past the trigger's retries: the task must be retried, as in poke mode.
    from airflow_provider_mparticle.exceptions import MParticleRetryableError

    conn = mparticle_emulator.connection_uri_json()
    conn["extra"]["max_attempts"] = 2
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    op = operator(deferrable=True, poll_interval=0.01, wait_timeout=600)
    with pytest.raises(TaskDeferred) as caught:
        op.execute({})
    mparticle_emulator.control.add_fault(path=r"/runs/\d+$", method="GET", status=503)
    [event] = [e.payload async for e in caught.value.trigger.run()]
    assert (event["status"], event["reason"]) == ("error", "transient")
    with pytest.raises(MParticleRetryableError, match="503"):
        op.execute_complete({}, event)
