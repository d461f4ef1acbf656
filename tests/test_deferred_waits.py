"""A deferrable wait costs its worker nothing: no token, no call; the trigger's first poll is the first check.

Every sensor, and every operator that waits, runs through a deferral against the emulator as Airflow
runs it (:mod:`tests.deferral`: ``execute()`` up to ``TaskDeferred`` in a new "process" with no token
cached, the trigger, then the resumed method on a new task object), and the emulator's journal says what
each part asked for. An operator makes the calls that start what it waits for (activate, trigger a
run), and its wait adds none. ``check_before_defer=True`` is the former behaviour: one token and one
call more on the worker (two calls when a calculated attribute is given by name only).

Everything the first check on the worker did still happens from the trigger's first poll: a condition
already met ends green after that one poll, with the same result and XCom as a check on the worker; a
terminal failure fails the task without retries (``soft_fail`` skips a sensor); the deadline is the
task's start plus its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from airflow_provider_mparticle.client.adobe import AdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.client.core.tokens import clear_token_cache
from airflow_provider_mparticle.links.calculated_attributes import XCOM_ID_KEY, XCOM_NAME_KEY, XCOM_URL_KEY
from airflow_provider_mparticle.links.warehouse_sync import PIPELINE_URL_XCOM_KEY
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
)
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator
from airflow_provider_mparticle.sensors.adobe import AdobeComputedAttributeSensor
from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor
from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.adobe_helpers import definition as adobe_definition
from tests.conftest import VALID_DEFINITION, RecordingTaskInstance
from tests.deferral import DeferredRun, defer, run_deferred
from tests.state_store import TaskStateStore

PIPELINE = "p1"


@dataclass
class Env:
    control: Any
    client: Any
    adobe_settings: Any

    def find_ca(self, name: str = "LTV") -> int:
        found = self.client.calculated_attributes.find_by_name(name)
        assert found is not None
        return int(found.id)


@pytest.fixture
def env(mparticle_emulator, mparticle_conn_id, adobe_aep_conn_id, adobe_aep_settings, client):
    return Env(mparticle_emulator.control, client, adobe_aep_settings)


def context() -> dict[str, Any]:
    return {"ti": RecordingTaskInstance(), "task_state_store": TaskStateStore()}


@dataclass(frozen=True)
class Wait:
    """A task that waits, how to set up what it waits for, and what its worker must send to start it."""

    task: Callable[..., Any]
    #: creates what is awaited (``done``: finished already); returns the task's arguments
    setup: Callable[[Env, bool], dict[str, Any]]
    #: lets a held wait finish (after the worker part)
    release: Callable[[Env, TaskDeferred], Any]
    #: makes it fail for good (after the worker part)
    fail: Callable[[Env, TaskDeferred], Any]
    #: a part of the path of the request that checks the condition
    poll_path: str
    #: calls the worker makes to start what it waits for (an operator's work), with one token
    start_calls: int = 0
    #: calls a check on the worker makes to find what it waits for, before checking it
    lookups: int = 0

    @property
    def sensor(self) -> bool:
        return self.start_calls == 0


def calculation_sensor(**kwargs: Any) -> MParticleCalculationSensor:
    return MParticleCalculationSensor(task_id="wait", poke_interval=0.01, timeout=600, **kwargs)


def pipeline_sensor(**kwargs: Any) -> MParticlePipelineRunSensor:
    return MParticlePipelineRunSensor(task_id="wait", poke_interval=0.01, timeout=600, **kwargs)


def adobe_sensor(**kwargs: Any) -> AdobeComputedAttributeSensor:
    return AdobeComputedAttributeSensor(task_id="wait", poke_interval=0.01, timeout=600, **kwargs)


def activate_operator(**kwargs: Any) -> MParticleActivateCalculatedAttributeOperator:
    return MParticleActivateCalculatedAttributeOperator(
        task_id="activate", wait_for_calculation=True, poll_interval=0.01, timeout=600, **kwargs
    )


def pipeline_operator(**kwargs: Any) -> MParticleTriggerPipelineOperator:
    return MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id=PIPELINE, poll_interval=0.01, wait_timeout=600, **kwargs
    )


def active_ca(env: Env) -> int:
    ca_id = env.client.calculated_attributes.create("LTV", VALID_DEFINITION)
    env.client.calculated_attributes.activate(ca_id)
    return int(ca_id)


def by_id(env: Env, done: bool) -> dict[str, Any]:
    return {"ca_id": active_ca(env)}


def by_name(env: Env, done: bool) -> dict[str, Any]:
    active_ca(env)
    return {"ca_name": "LTV"}


def draft_ca(env: Env, done: bool) -> dict[str, Any]:
    return {"ca_id": env.client.calculated_attributes.create("LTV", VALID_DEFINITION)}


def pipeline(env: Env, done: bool) -> dict[str, Any]:
    create_pipeline(env.client, PIPELINE)
    if not done:
        env.control.plan_pipeline_runs(PIPELINE, hold=True)
    return {}


def pipeline_run(env: Env, done: bool) -> dict[str, Any]:
    pipeline(env, done)
    return {"pipeline_id": PIPELINE, "run_id": env.client.warehouse_sync.trigger(PIPELINE).pipeline_run_id}


def adobe_attribute(env: Env, done: bool) -> dict[str, Any]:
    with AdobeClient(env.adobe_settings) as client:
        created = client.computed_attributes.create(adobe_definition(), ComputedAttributeStatus.NEW)
    return {"attribute_id": created.id}


def advances_by_itself(env: Env, deferred: TaskDeferred) -> None:
    """Calculations and AEP evaluations advance on reads."""


def release_run(env: Env, deferred: TaskDeferred) -> None:
    env.control.release_pipeline_run(deferred.trigger.run_id)


def fail_run(env: Env, deferred: TaskDeferred) -> None:
    env.control.release_pipeline_run(deferred.trigger.run_id, outcome="failed", errors=["boom"])


def delete_ca(env: Env, deferred: TaskDeferred) -> None:
    env.client.calculated_attributes.delete(env.find_ca())


def fail_adobe(env: Env, deferred: TaskDeferred) -> None:
    env.control.adobe_set_status(deferred.trigger.attribute_id, "FAILED")


WAITS = {
    "calculation_sensor_by_id": Wait(
        calculation_sensor, by_id, advances_by_itself, delete_ca, "/calculation"
    ),
    "calculation_sensor_by_name": Wait(
        calculation_sensor, by_name, advances_by_itself, delete_ca, "/calculation", lookups=1
    ),
    "pipeline_run_sensor": Wait(pipeline_sensor, pipeline_run, release_run, fail_run, "/runs/"),
    "adobe_sensor": Wait(
        adobe_sensor, adobe_attribute, advances_by_itself, fail_adobe, "/data/core/ca/attributes/"
    ),
    # An operator starts what it waits for: find and activate the attribute; trigger the run.
    "activate_operator": Wait(
        activate_operator, draft_ca, advances_by_itself, delete_ca, "/calculation", start_calls=2
    ),
    "trigger_pipeline_operator": Wait(
        pipeline_operator, pipeline, release_run, fail_run, "/runs/", start_calls=1
    ),
}


@pytest.fixture(params=list(WAITS))
def wait(request) -> Wait:
    return WAITS[request.param]


@pytest.mark.parametrize("check_before_defer", [False, True], ids=["deferred_at_once", "check_before_defer"])
def test_what_each_part_sends(env, wait, check_before_defer):
    args = wait.setup(env, False)
    run = run_deferred(
        lambda: wait.task(deferrable=True, check_before_defer=check_before_defer, **args),
        context(),
        env.control,
        lambda deferred: wait.release(env, deferred),
    )
    worker = run.worker
    polls = [call for call in worker.calls if wait.poll_path in call]
    if check_before_defer:
        # One token, the start, the look-up of a name, and one check.
        assert worker.tokens == 1, worker
        assert len(worker.calls) == wait.start_calls + wait.lookups + 1, worker
        assert len(polls) == 1, worker
    else:
        # A sensor: nothing; an operator: one token for what it starts, and no check.
        assert worker.tokens == (1 if wait.start_calls else 0), worker
        assert len(worker.calls) == wait.start_calls, worker
        assert polls == [], worker
    assert run.error is None, run.error
    assert run.event["status"] == "success", run.event
    # The triggerer fetches its own token; the resumed task sends nothing.
    assert run.trigger.tokens == 1, run.trigger
    assert (run.resume.tokens, run.resume.calls) == (0, []), run.resume


def end_a_wait_already_over(env: Env, wait: Wait, **options: Any) -> tuple[Any, dict[str, Any], Any]:
    """Set up a wait that is over already and run its task: (result, XCom, the deferred run or None)."""
    env.control.configure(progress_mode="immediate")
    args = wait.setup(env, True)
    ctx = context()

    def make():
        return wait.task(deferrable=True, **args, **options)

    if options.get("check_before_defer"):
        clear_token_cache()
        return make().execute(ctx), ctx["ti"].xcom, None
    run = run_deferred(make, ctx, env.control)
    assert run.error is None, run.error
    return run.result, ctx["ti"].xcom, run


def test_a_wait_already_over_ends_after_one_poll_as_the_check_on_the_worker_did(env, wait):
    # What the check on the worker returned (check_before_defer=True: it does not defer at all)...
    checked_result, checked_xcom, _ = end_a_wait_already_over(env, wait, check_before_defer=True)
    env.control.reset()
    # ... the trigger's first poll returns, deferred at once: the same result and XCom (the link too).
    result, xcom, run = end_a_wait_already_over(env, wait)
    assert result == checked_result
    assert xcom == checked_xcom
    assert len([call for call in run.trigger.calls if wait.poll_path in call]) == 1, run.trigger
    assert len(run.trigger.calls) == 1 + wait.lookups, run.trigger


def fail_for_good(env: Env, wait: Wait, **options: Any) -> DeferredRun:
    args = wait.setup(env, False)
    run = run_deferred(
        lambda: wait.task(deferrable=True, **args, **options),
        context(),
        env.control,
        lambda deferred: wait.fail(env, deferred),
    )
    assert run.event["status"] in ("failed", "error"), run.event
    assert run.event.get("reason") != "transient", run.event
    return run


def test_a_terminal_failure_met_by_the_first_poll_fails_without_retries(env, wait):
    run = fail_for_good(env, wait)
    assert isinstance(run.error, AirflowFailException), run.error


@pytest.mark.parametrize("name", [name for name, wait in WAITS.items() if wait.sensor])
def test_soft_fail_skips_a_sensor_that_fails_for_good(env, name):
    run = fail_for_good(env, WAITS[name], soft_fail=True)
    assert isinstance(run.error, AirflowSkipException), run.error


def test_the_deadline_is_the_task_start_plus_its_timeout(env, wait):
    args = wait.setup(env, False)
    task = wait.task(deferrable=True, **args)
    timeout = getattr(task, "wait_timeout", None) or task.timeout
    start = time.time()
    deferred, _ = defer(task, context(), env.control)
    assert start + timeout <= deferred.trigger.deadline <= time.time() + timeout


def test_links_known_without_a_call_are_published_before_deferring(env):
    ca_id = active_ca(env)
    ctx = context()
    defer(calculation_sensor(ca_id=ca_id, deferrable=True), ctx, env.control)
    assert ctx["ti"].xcom[XCOM_ID_KEY] == ca_id
    assert ctx["ti"].xcom[XCOM_URL_KEY].endswith(f"/calculated-attributes/{ca_id}")
    assert XCOM_NAME_KEY not in ctx["ti"].xcom  # read by the trigger, pushed on resume

    ctx = context()
    defer(calculation_sensor(ca_name="LTV", deferrable=True), ctx, env.control)
    assert ctx["ti"].xcom == {}  # the id is the trigger's to find

    create_pipeline(env.client, PIPELINE)
    ctx = context()
    defer(pipeline_operator(deferrable=True), ctx, env.control)
    assert ctx["ti"].xcom[PIPELINE_URL_XCOM_KEY]
