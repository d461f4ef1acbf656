"""The pipeline operator's trigger intent (no crash window) and its kill policy, against the emulator.

The kill-policy tests call ``on_kill`` the way Airflow does: the operator's from another thread while
``execute`` waits on a held run, the trigger's from the event loop. The trigger's guard reads the task
instance's state through the Task SDK; here a stand-in for Airflow's supervisor channel answers it.
"""

from __future__ import annotations

import threading
import time
import types

import pytest
from airflow.sdk.api.datamodels._generated import TaskStatesResponse
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.execution_time import task_runner
from airflow.sdk.execution_time.comms import TaskStatesResult

from airflow_provider_mparticle.client import MParticleConfigError
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator
from airflow_provider_mparticle.testing.examples import create_pipeline
from airflow_provider_mparticle.triggers.warehouse_sync import MParticlePipelineRunTrigger
from tests.state_store import TaskStateStore

PIPELINE = "kill-policy"


def operator(**kwargs):
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("poll_interval", 0.02)
    return MParticleTriggerPipelineOperator(task_id="sync", pipeline_id=PIPELINE, **kwargs)


def pipeline_writes(control):
    return [
        e
        for e in control.journal(path="/inputs/data-pipelines/" + PIPELINE, bodies=False)
        if e["method"] == "PUT"
    ]


@pytest.fixture
def pipeline(client, mparticle_conn_id):
    return create_pipeline(client, PIPELINE)


def wait_for(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


# --- the intent ----------------------------------------------------------------------------------


def test_an_intent_is_stored_before_the_trigger_and_answered_after(pipeline, mparticle_emulator):
    control = mparticle_emulator.control
    control.plan_pipeline_runs(PIPELINE, answer_delay=30)
    store = TaskStateStore()
    op = operator()
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(op.execute({"task_state_store": store})))
    worker.start()
    wait_for(lambda: control.pipeline_runs())
    intent = store.get(op.intent_key)
    assert intent["pipeline_id"] == PIPELINE
    assert intent["run_id"] is None  # the run exists, its answer has not arrived
    assert control.release_trigger_answers() == 1
    worker.join(20)
    assert outcome["status"] == "success"
    assert store.get(op.intent_key)["run_id"] == 1


def test_a_retry_adopts_the_run_of_an_unanswered_trigger(pipeline, mparticle_emulator, client):
    control = mparticle_emulator.control
    store = TaskStateStore()
    # What a worker killed after storing its intent and sending the POST leaves behind.
    store.set(
        MParticleTriggerPipelineOperator.intent_key, {"pipeline_id": PIPELINE, "at": _now(), "try_number": 1}
    )
    client.warehouse_sync.trigger(PIPELINE)
    result = operator().execute({"task_state_store": store})
    assert result["run_id"] == 1
    assert len(control.pipeline_triggers(PIPELINE)) == 1


def test_a_retry_whose_trigger_never_arrived_triggers(pipeline, mparticle_emulator):
    control = mparticle_emulator.control
    store = TaskStateStore()
    store.set(
        MParticleTriggerPipelineOperator.intent_key, {"pipeline_id": PIPELINE, "at": _now(), "try_number": 1}
    )
    result = operator().execute({"task_state_store": store})
    assert result["run_id"] == 1
    assert len(control.pipeline_triggers(PIPELINE)) == 1


def test_attaching_to_a_running_run_answers_the_intent(pipeline, mparticle_emulator, client):
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    client.warehouse_sync.trigger(PIPELINE)  # someone else's run is going
    store = TaskStateStore()
    result = operator(wait_for_completion=False).execute({"task_state_store": store})
    assert result["run_id"] == 1
    assert store.get(MParticleTriggerPipelineOperator.intent_key)["run_id"] == 1  # nothing left to reconcile


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# --- the kill policy: the operator's on_kill ------------------------------------------------------


def test_kill_policy_is_checked_when_the_dag_is_parsed():
    with pytest.raises(
        MParticleConfigError, match="on_kill: 'cancel' is not one of 'detach', 'pause_pipeline'"
    ):
        operator(on_kill="cancel")


@pytest.mark.parametrize("policy", ["detach", "pause_pipeline"])
def test_operator_on_kill_applies_the_policy(pipeline, mparticle_emulator, client, capsys, policy):
    control = mparticle_emulator.control
    control.plan_pipeline_runs(PIPELINE, hold=True)
    op = operator(on_kill=policy)
    worker = threading.Thread(target=op.execute, args=({"task_state_store": TaskStateStore()},))
    worker.start()
    wait_for(lambda: control.pipeline_runs())
    time.sleep(0.1)  # it is polling the held run now
    op.on_kill()
    log = capsys.readouterr().out
    assert f"Pipeline {PIPELINE} run 1 keeps running in mParticle" in log
    assert f"/pipelines#{PIPELINE}" in log  # the link
    paused = client.warehouse_sync.get_pipeline(PIPELINE).is_paused
    if policy == "pause_pipeline":
        assert paused
        assert "so that no further scheduled run starts" in log
        assert len(pipeline_writes(control)) == 1
    else:
        assert not paused
        assert pipeline_writes(control) == []
    control.release_pipeline_run(1)
    worker.join(20)
    assert [r["status"] for r in control.pipeline_runs()] == ["success"]  # the run was never stopped


# --- the kill policy: the deferred path (the trigger's on_kill) -----------------------------------


class SupervisorChannel:
    """Stands in for the triggerer's channel to the API server: answers task-state questions."""

    def __init__(self, state):
        self.state = state
        self.asked = []

    def send(self, message):
        self.asked.append(message)
        return TaskStatesResult.from_api_response(
            TaskStatesResponse(task_states={message.run_ids[0]: {message.task_ids[0]: self.state}})
        )


def deferred_trigger(op):
    with pytest.raises(TaskDeferred) as info:
        op.execute({"task_state_store": TaskStateStore()})
    trigger = info.value.trigger
    assert isinstance(trigger, MParticlePipelineRunTrigger)
    _classpath, kwargs = trigger.serialize()
    assert kwargs["kill_policy"] == op.kill_policy
    trigger = MParticlePipelineRunTrigger(**kwargs)  # as the triggerer builds it
    trigger.task_instance = types.SimpleNamespace(dag_id="d", task_id="sync", run_id="r1", map_index=-1)
    return trigger


@pytest.mark.parametrize("policy", ["detach", "pause_pipeline"])
async def test_trigger_on_kill_applies_the_policy_when_the_task_was_killed(
    pipeline, mparticle_emulator, client, capsys, monkeypatch, policy
):
    control = mparticle_emulator.control
    control.plan_pipeline_runs(PIPELINE, hold=True)
    trigger = deferred_trigger(operator(on_kill=policy, deferrable=True))
    channel = SupervisorChannel("failed")  # marked failed by a user
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", channel, raising=False)
    await trigger.on_kill()
    assert channel.asked[0].task_ids == ["sync"]
    log = capsys.readouterr().out
    assert f"Pipeline {PIPELINE} run 1 keeps running in mParticle" in log
    assert client.warehouse_sync.get_pipeline(PIPELINE).is_paused is (policy == "pause_pipeline")
    assert len(pipeline_writes(control)) == (1 if policy == "pause_pipeline" else 0)


async def test_trigger_on_kill_does_nothing_when_the_trigger_only_moves(
    pipeline, mparticle_emulator, client, capsys, monkeypatch
):
    control = mparticle_emulator.control
    control.plan_pipeline_runs(PIPELINE, hold=True)
    trigger = deferred_trigger(operator(on_kill="pause_pipeline", deferrable=True))
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", SupervisorChannel("deferred"), raising=False)
    await trigger.on_kill()
    assert "only moving to another triggerer" in capsys.readouterr().out
    assert not client.warehouse_sync.get_pipeline(PIPELINE).is_paused
    assert pipeline_writes(control) == []
