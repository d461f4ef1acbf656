"""Against a hostile server (not mParticle, not the emulator): a redirect, an HTML login page, an empty
body, truncated JSON, JSON of another shape and a hung connection. Every client call (sync and async) and
every operator and sensor must raise a clear project error; none may report success. ``test_connection``
must answer within 15 s whatever the endpoint does.

Figures: ``wrong_answer_cases`` (cases tried), ``wrong_answers_reported_success`` (must be 0) and
``test_connection_worst_seconds`` (must be <= 15).
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Any

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    ClientSettings,
    MParticleClient,
    MParticleError,
    MParticleTransportError,
    RetrySettings,
)
from airflow_provider_mparticle.client.adobe import AdobeClient, AdobeClientSettings, AsyncAdobeClient
from airflow_provider_mparticle.client.core.tokens import clear_token_cache
from tests.conftest import VALID_DEFINITION
from tests.reliability.hostile import (
    MODES,
    SECRET_IN_PAGE,
    SEED_USER,
    BlackHole,
    HostileServer,
    client_settings,
    refused_url,
)
from tests.state_store import TaskStateStore

pytestmark = pytest.mark.reliability

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAN_FILE = ROOT / "example_dags" / "data_plans" / "mobile_app.json"
BATCHES = json.loads((ROOT / "example_dags" / "data_plans" / "sample_batches.json").read_text())
TIMEOUT = 0.5

#: Client calls: seeding, Platform CA, Warehouse Sync, Data Planning (sync and async share the lambdas).
CLIENT_CALLS: dict[str, Any] = {
    "seeding.seed_users": lambda c: c.seeding.seed_users([SEED_USER]),
    "seeding.seed_user": lambda c: c.seeding.seed_user(SEED_USER),
    "ca.list": lambda c: c.calculated_attributes.list(),
    "ca.create": lambda c: c.calculated_attributes.create("LTV", VALID_DEFINITION),
    "ca.get": lambda c: c.calculated_attributes.get(1),
    "ca.calculation_status": lambda c: c.calculated_attributes.calculation_status(1),
    "ca.activation_status": lambda c: c.calculated_attributes.activation_status(1),
    "wss.trigger": lambda c: c.warehouse_sync.trigger("p1"),
    "wss.run": lambda c: c.warehouse_sync.run("p1", 7),
    "wss.report": lambda c: c.warehouse_sync.report("p1"),
    "wss.runs": lambda c: c.warehouse_sync.runs("p1"),
    "wss.get_pipeline": lambda c: c.warehouse_sync.get_pipeline("p1"),
    "dp.list_plans": lambda c: c.data_planning.list_plans(),
    "dp.get_plan": lambda c: c.data_planning.get_plan("mobile_app"),
    "dp.get_version": lambda c: c.data_planning.get_version("mobile_app", 1),
    "dp.validate_batch": lambda c: c.data_planning.validate_batch(BATCHES[0], {"data_points": []}),
}
ADOBE_CALLS: dict[str, Any] = {
    "aep.list_page": lambda c: c.computed_attributes.list_page(),
    "aep.get": lambda c: c.computed_attributes.get("ca1"),
}


class Tally:
    """Cases tried and the ones that reported success, by name (for the figures and the assertion)."""

    def __init__(self) -> None:
        self.cases = 0
        self.successes: list[str] = []
        self.unclear: list[str] = []

    def check(self, name: str, mode: str, run: Any) -> None:
        self.cases += 1
        try:
            result = run()
        except BaseException as error:
            if not _clear(error, mode):
                self.unclear.append(f"{name} [{mode}]: {type(error).__name__}: {error}")
            return
        self.successes.append(f"{name} [{mode}] returned {result!r}"[:300])

    async def acheck(self, name: str, mode: str, run: Any) -> None:
        self.cases += 1
        try:
            result = await run()
        except BaseException as error:
            if not _clear(error, mode):
                self.unclear.append(f"{name} [{mode}]: {type(error).__name__}: {error}")
            return
        self.successes.append(f"{name} [{mode}] returned {result!r}"[:300])


def _project_error(error: BaseException) -> MParticleError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MParticleError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _clear(error: BaseException, mode: str) -> bool:
    """A project error (or an Airflow failure caused by one) that says what happened, with no page."""
    cause = _project_error(error)
    text = str(error)
    if cause is None or "<" in text or SECRET_IN_PAGE in text:
        return False
    if mode == "hung":
        return isinstance(cause, MParticleTransportError)
    return "unexpected answer" in str(cause)


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


@pytest.fixture
def tally(figures):
    tally = Tally()
    yield tally
    figures.add("wrong_answer_cases", tally.cases)
    figures.add("wrong_answers_reported_success", len(tally.successes))


def _settings(url: str) -> ClientSettings:
    return client_settings(url, TIMEOUT)


def _adobe_settings(url: str) -> AdobeClientSettings:
    return AdobeClientSettings(
        client_id="client",
        client_secret="client-secret-value",
        org_id="ORG@AdobeOrg",
        platform_url=url,
        ims_token_url=url + "/ims/token/v3",
        timeout=TIMEOUT,
        retry=RetrySettings(max_attempts=2, initial_backoff=0.01, max_elapsed=10.0),
    )


@pytest.mark.parametrize("mode", MODES)
def test_sync_clients_never_report_success(hostile, tally, mode):
    hostile.mode = mode
    clear_token_cache()
    with MParticleClient(_settings(hostile.url)) as client:
        for name, call in CLIENT_CALLS.items():
            tally.check(name, mode, lambda call=call: call(client))
    with AdobeClient(_adobe_settings(hostile.url)) as adobe:
        for name, call in ADOBE_CALLS.items():
            tally.check(name, mode, lambda call=call: call(adobe))
    assert tally.successes == []
    assert tally.unclear == []


@pytest.mark.parametrize("mode", MODES)
async def test_async_clients_never_report_success(hostile, tally, mode):
    hostile.mode = mode
    clear_token_cache()
    async with AsyncMParticleClient(_settings(hostile.url)) as client:
        for name, call in CLIENT_CALLS.items():
            await tally.acheck(name, mode, lambda call=call: call(client))
    async with AsyncAdobeClient(_adobe_settings(hostile.url)) as adobe:
        for name, call in ADOBE_CALLS.items():
            await tally.acheck(name, mode, lambda call=call: call(adobe))
    assert tally.successes == []
    assert tally.unclear == []


@pytest.mark.parametrize("mode", ["html", "redirect"])
def test_a_hostile_token_endpoint_never_reports_success(hostile, tally, mode):
    hostile.mode = mode
    hostile.hostile_token = True
    clear_token_cache()
    try:
        with MParticleClient(_settings(hostile.url)) as client:
            tally.check("token (mParticle)", mode, client.calculated_attributes.list)
        with AdobeClient(_adobe_settings(hostile.url)) as adobe:
            tally.check("token (Adobe IMS)", mode, adobe.computed_attributes.list_page)
    finally:
        hostile.hostile_token = False
    assert tally.successes == []
    assert tally.unclear == []


# --- operators and sensors, through the hooks ---------------------------------------------------------


def _connections(monkeypatch, url: str) -> None:
    extra = {
        "workspace_id": "1",
        "client_id": "client",
        "client_secret": "client-secret-value",
        "s2s_url": url,
        "api_url": url,
        "oauth_url": url + "/oauth/token",
        "timeout": TIMEOUT,
        "max_attempts": 1,
    }
    mparticle = {"conn_type": "mparticle", "login": "key", "password": "api-secret-value", "extra": extra}
    adobe = {
        "conn_type": "adobe_aep",
        "login": "client",
        "password": "client-secret-value",
        "extra": {
            "org_id": "ORG@AdobeOrg",
            "platform_url": url,
            "ims_url": url + "/ims/token/v3",
            "timeout": TIMEOUT,
            "max_attempts": 1,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(mparticle))
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_AEP_DEFAULT", json.dumps(adobe))


def _tasks() -> dict[str, Any]:
    """Each operator and sensor, with what running it means (execute, poke, or execute as a resumable job)."""
    from airflow_provider_mparticle.operators.adobe import (
        AdobeEnsureComputedAttributeOperator,
        AdobeSetComputedAttributeStatusOperator,
    )
    from airflow_provider_mparticle.operators.calculated_attributes import (
        MParticleActivateCalculatedAttributeOperator,
        MParticleDeleteCalculatedAttributeDraftOperator,
        MParticleEnsureCalculatedAttributeOperator,
    )
    from airflow_provider_mparticle.operators.data_planning import (
        MParticleDeployDataPlanOperator,
        MParticleValidateBatchOperator,
    )
    from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
    from airflow_provider_mparticle.operators.warehouse_sync import (
        MParticlePausePipelineOperator,
        MParticleResumePipelineOperator,
        MParticleTriggerPipelineOperator,
    )
    from airflow_provider_mparticle.sensors.adobe import AdobeComputedAttributeSensor
    from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor
    from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor

    definition = {"name": "LTV", "description": "Lifetime value", "draft_definition": VALID_DEFINITION}
    ltv = {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}
    return {
        "ensure CA": ("execute", MParticleEnsureCalculatedAttributeOperator(task_id="t", definition=definition)),
        "activate CA": ("execute", MParticleActivateCalculatedAttributeOperator(task_id="t", ca_id=1)),
        "activate CA by name": ("execute", MParticleActivateCalculatedAttributeOperator(task_id="t", ca_name="LTV")),
        "delete CA draft": ("execute", MParticleDeleteCalculatedAttributeDraftOperator(task_id="t", ca_id=1)),
        "seed": ("execute", MParticleSeedCalculatedAttributesOperator(
            task_id="t", calculated_attributes=[ltv], identities={"customer_id": "customer_id"},
            rows=[{"customer_id": f"c{i}", "ltv": i} for i in range(5)],
        )),
        "deploy data plan": ("execute", MParticleDeployDataPlanOperator(task_id="t", plan_file=str(PLAN_FILE))),
        "validate batch": ("execute", MParticleValidateBatchOperator(
            task_id="t", data_plan_id="mobile_app", version=1, batches=BATCHES[:1], policy="fail",
        )),
        "trigger pipeline": ("resume", MParticleTriggerPipelineOperator(
            task_id="t", pipeline_id="p1", deferrable=False, poll_interval=0.01,
        )),
        "pause pipeline": ("execute", MParticlePausePipelineOperator(task_id="t", pipeline_id="p1")),
        "resume pipeline": ("execute", MParticleResumePipelineOperator(task_id="t", pipeline_id="p1")),
        "calculation sensor": ("poke", MParticleCalculationSensor(task_id="t", ca_id=1)),
        "pipeline run sensor": ("poke", MParticlePipelineRunSensor(task_id="t", pipeline_id="p1", run_id=7)),
        "pipeline latest run sensor": ("poke", MParticlePipelineRunSensor(task_id="t", pipeline_id="p1")),
        "ensure AEP attribute": ("execute", AdobeEnsureComputedAttributeOperator(
            task_id="t", name="lifetimeValue", expression="xEvent[type = \"purchase\"].count()",
            duration={"count": 7, "unit": "DAYS"},
        )),
        "set AEP attribute status": ("execute", AdobeSetComputedAttributeStatusOperator(
            task_id="t", attribute_id="ca1", status="NEW",
        )),
        "AEP attribute sensor": ("poke", AdobeComputedAttributeSensor(task_id="t", attribute_id="ca1")),
    }  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_operators_and_sensors_never_report_success(hostile, tally, monkeypatch, task_context, mode):
    hostile.mode = mode
    _connections(monkeypatch, hostile.url)
    clear_token_cache()
    for name, (action, task) in _tasks().items():
        run = task.poke if action == "poke" else task.execute
        # A resumable job is given its task state store (as Airflow does), without a task instance.
        context = {"task_state_store": TaskStateStore()} if action == "resume" else task_context
        # A sensor answering "not yet" counts too: it would poll a login page until its timeout.
        tally.check(name, mode, lambda run=run, context=context: run(context))
    assert tally.successes == []
    assert tally.unclear == []


# --- test_connection answers within 15 s ------------------------------------------------------------


@pytest.fixture(scope="module")
def connection_times(figures):
    times: dict[str, float] = {}
    yield times
    worst = max(times.values())
    figures.record(
        "test_connection_worst_seconds", round(worst, 2), **{k: round(v, 2) for k, v in times.items()}
    )


def _endpoints(hostile):
    yield "refused port", refused_url(), None
    hole = BlackHole()
    try:
        yield "black hole", hole.url, None
    finally:
        hole.close()
    for mode in MODES:
        yield mode, hostile.url, mode


def test_connection_answers_within_15_seconds(hostile, monkeypatch, connection_times):
    from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    hostile.hung_seconds = 60.0
    for name, url, mode in _endpoints(hostile):
        if mode is not None:
            hostile.mode = mode
        for hook_name, hook_class in (("mParticle", MParticleHook), ("Adobe", AdobeExperiencePlatformHook)):
            _connections(monkeypatch, url)
            # The connection's own timeout and retries are long: the test must not use them.
            for var in ("AIRFLOW_CONN_MPARTICLE_DEFAULT", "AIRFLOW_CONN_ADOBE_AEP_DEFAULT"):
                conn = json.loads(os.environ[var])
                conn["extra"].update(timeout=60, max_attempts=8)
                monkeypatch.setenv(var, json.dumps(conn))
            clear_token_cache()
            started = time.monotonic()
            ok, message = hook_class().test_connection()
            connection_times[f"{hook_name} / {name}"] = time.monotonic() - started
            assert not ok, (hook_name, name, message)
            assert "<" not in message
    assert max(connection_times.values()) <= 15.0, connection_times
