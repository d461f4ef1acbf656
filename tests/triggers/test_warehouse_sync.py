from __future__ import annotations

import time

import pytest

from airflow_provider_mparticle.events import validate_event
from airflow_provider_mparticle.testing.examples import create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger

PIPELINE = "example-pipeline"


def make(run_id=1, deadline=None, **kwargs):
    return MParticlePipelineRunTrigger(
        pipeline_id=PIPELINE,
        run_id=run_id,
        mparticle_conn_id="mparticle_default",
        deadline=deadline if deadline is not None else time.time() + 60,
        poll_interval=0.01,
        **kwargs,
    )


async def events(trigger):
    return [e.payload async for e in trigger.run()]


@pytest.fixture
def pipeline(client, mparticle_conn_id):
    return create_pipeline(client)


def test_serialize_round_trip():
    trigger = make(run_id=7, deadline=123.5)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_mparticle.triggers.warehouse_sync.MParticlePipelineRunTrigger"
    assert kwargs == {
        "pipeline_id": PIPELINE,
        "run_id": 7,
        "kill_policy": "detach",
        "mparticle_conn_id": "mparticle_default",
        "deadline": 123.5,
        "poll_interval": 0.01,
    }
    assert MParticlePipelineRunTrigger(**kwargs).serialize() == (path, kwargs)


async def test_success_event_carries_record_counts(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, successful_records=12, failed_records=3)
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    [event] = await events(make(run_id))
    validate_event(event, ("result",))
    assert event["result"]["successful_records"] == 12
    assert (event["status"], event["run_id"], event["successful_records"], event["failed_records"]) == (
        "success",
        run_id,
        12,
        3,
    )


async def test_failed_event_carries_run_and_pipeline_errors(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, outcome="failed", errors=["Warehouse timeout"])
    client.warehouse_sync.trigger(PIPELINE)
    [event] = await events(make(run_id=None))
    assert event["status"] == "failed"
    assert event["errors"] == ["Warehouse timeout"]
    assert event["pipeline_errors"] == ["pipeline: Warehouse timeout"]
    assert "ended failed: Warehouse timeout" in event["message"]


async def test_deadline_gives_a_timeout_event(pipeline, client, mparticle_emulator):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    [event] = await events(make(run_id, deadline=time.time() + 0.05))
    assert event["status"] == "timeout"
    assert "still not finished" in event["message"]


async def test_missing_run_gives_an_error_event(pipeline):
    [event] = await events(make(run_id=999))
    assert (event["status"], event.get("reason")) == ("error", "not_found")


async def test_latest_run_waits_for_a_first_run(pipeline, mparticle_emulator):
    [event] = await events(make(run_id=None, deadline=time.time() + 0.05))
    assert event["status"] == "timeout"


@pytest.mark.parametrize(("every", "one_line"), [(None, True), (0.0, False)])
async def test_an_unchanged_state_is_logged_once_until_the_interval(
    every, one_line, pipeline, client, mparticle_emulator, caplog, capsys, monkeypatch
):
    if every is not None:
        monkeypatch.setattr("airflow_provider_mparticle.triggers.base.PROGRESS_LOG_SECONDS", every)
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    caplog.set_level("INFO")
    [event] = await events(make(run_id, deadline=time.time() + 0.5))
    assert event["status"] == "timeout"
    polls = len(mparticle_emulator.control.journal(f"/runs/{run_id}", bodies=False))
    assert polls > 3
    logged = (caplog.text + capsys.readouterr().out).count(f"Pipeline {PIPELINE} run {run_id} is ")
    assert logged == (1 if one_line else polls)
