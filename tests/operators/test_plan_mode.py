# ruff: noqa: F811  (pytest fixtures imported from tests.dataplanning_spec)
"""Plan, then apply: mode="plan" writes nothing (checked in the emulator's journal), mode="check" fails on drift."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.operators.adobe import AdobeEnsureComputedAttributeOperator
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.operators.data_planning import MParticleDeployDataPlanOperator
from tests.adobe_helpers import EXPRESSION
from tests.adobe_helpers import context as adobe_context
from tests.conftest import VALID_DEFINITION, definition
from tests.dataplanning_spec import spec_recorder  # noqa: F401

PLAN_FILE = pathlib.Path(__file__).parents[2] / "example_dags" / "data_plans" / "mobile_app.json"


def writes(control) -> list[tuple[str, str]]:
    """Every request that could change the workspace (token requests change nothing there)."""
    return [
        (e["method"], e["path"])
        for e in control.journal(bodies=False)
        if e["method"] not in ("GET", "HEAD") and "oauth" not in e["path"] and "/ims/" not in e["path"]
    ]


def ensure_ca(task_context, mode, draft=VALID_DEFINITION, **kwargs):
    op = MParticleEnsureCalculatedAttributeOperator(
        task_id="ensure", definition={"name": "LTV", "draft_definition": draft}, mode=mode, **kwargs
    )
    return op.execute(task_context)


def test_ca_plan_of_a_new_attribute_writes_nothing(
    mparticle_conn_id, mparticle_emulator, task_context, capsys
):
    control = mparticle_emulator.control
    plan = ensure_ca(task_context, "plan")
    assert plan["action"] == "create"
    assert plan["live_differs"]
    assert task_context["ti"].xcom["change_plan"] == plan
    assert "[plan] calculated attribute 'LTV': apply would create" in capsys.readouterr().out
    assert writes(control) == []
    assert control.calculated_attributes() == []


def test_ca_plan_and_check_against_live_and_draft(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    control = mparticle_emulator.control
    old, new = definition(calculation_type="count", seeding=None), definition(seeding=None)
    ca_id = client.calculated_attributes.create("LTV", old)
    client.calculated_attributes.activate(ca_id)
    client.calculated_attributes.update(ca_id, name="LTV", draft_definition=new)
    before = len(writes(control))

    plan = ensure_ca(task_context, "plan", draft=new)
    assert plan["action"] == "none"  # the draft already holds the change
    live, draft = plan["comparisons"]
    assert live["against"] == "live"
    assert live["differs"]
    assert '+    "calculation_type": "sum",' in live["diff"]
    assert not draft["differs"]

    with pytest.raises(MParticleTaskFailure) as info:
        ensure_ca(task_context, "check", draft=new)
    assert "active definition differs from code" in str(info.value)
    assert '-    "calculation_type": "count",' in str(info.value)
    assert len(writes(control)) == before

    # Once activated, live matches code and the check passes.
    client.calculated_attributes.activate(ca_id)
    assert not ensure_ca(task_context, "check", draft=new)["live_differs"]


def test_ca_plan_reports_a_refused_apply_without_failing(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    plan = ensure_ca(task_context, "plan", draft=definition(calculation_type="count"))
    assert "delete the seeds" in plan["refusal"]
    with pytest.raises(MParticleTaskFailure, match="delete the seeds"):
        ensure_ca(task_context, "apply", draft=definition(calculation_type="count"))


def test_apply_pushes_the_plan_it_applied(mparticle_conn_id, mparticle_emulator, task_context):
    ca_id = ensure_ca(task_context, "apply")
    assert isinstance(ca_id, int)
    assert task_context["ti"].xcom["change_plan"]["action"] == "create"


def test_mode_is_checked_with_a_clear_message(mparticle_conn_id, mparticle_emulator, task_context):
    with pytest.raises(MParticleTaskFailure, match="mode: 'dry-run' is not one of 'apply', 'plan', 'check'"):
        ensure_ca(task_context, "dry-run")
    assert writes(mparticle_emulator.control) == []


# --- the active limit -----------------------------------------------------------------------------


def test_activation_names_the_attributes_holding_the_limit_before_sending(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    control = mparticle_emulator.control
    control.configure(active_ca_limit=2)
    for name in ("B", "A"):
        client.calculated_attributes.activate(client.calculated_attributes.create(name, VALID_DEFINITION))
    client.calculated_attributes.create("C", VALID_DEFINITION)
    before = len(writes(control))
    op = MParticleActivateCalculatedAttributeOperator(task_id="activate", ca_name="C", active_limit=2)
    with pytest.raises(MParticleTaskFailure) as info:
        op.execute(task_context)
    assert "2 active calculated attribute(s) of the limit of 2 hold it: 'A' (id 2), 'B' (id 1)" in str(
        info.value
    )
    assert len(writes(control)) == before  # no activation was sent


def test_activation_refused_by_the_api_names_the_holders_too(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    mparticle_emulator.control.configure(active_ca_limit=1)
    client.calculated_attributes.activate(client.calculated_attributes.create("A", VALID_DEFINITION))
    client.calculated_attributes.create("B", VALID_DEFINITION)
    op = MParticleActivateCalculatedAttributeOperator(task_id="activate", ca_name="B")
    with pytest.raises(MParticleTaskFailure) as info:
        op.execute(task_context)
    assert "You have reached the account limit on active calculated attributes." in str(info.value)
    assert "1 active calculated attribute(s) hold it: 'A' (id 1)" in str(info.value)


def test_activation_within_the_limit_goes_ahead(mparticle_conn_id, mparticle_emulator, client, task_context):
    client.calculated_attributes.activate(client.calculated_attributes.create("A", VALID_DEFINITION))
    client.calculated_attributes.create("B", VALID_DEFINITION)
    op = MParticleActivateCalculatedAttributeOperator(task_id="activate", ca_name="B", active_limit=2)
    assert op.execute(task_context)["activated"]


# --- data plans -----------------------------------------------------------------------------------


def deploy(path, mode):
    return MParticleDeployDataPlanOperator(task_id="deploy", plan_file=str(path), mode=mode).execute(
        context={}
    )


@pytest.fixture
def checked(mparticle_conn_id, spec_recorder):
    return mparticle_conn_id


def test_data_plan_plan_check_and_apply(checked, mparticle_emulator, tmp_path):
    control = mparticle_emulator.control
    plan = deploy(PLAN_FILE, "plan")
    assert plan["action"] == "create"
    assert control.data_plans() == []
    with pytest.raises(MParticleTaskFailure, match="data plan 'mobile_app': data plan is missing"):
        deploy(PLAN_FILE, "check")
    assert writes(control) == []

    deploy(PLAN_FILE, "apply")
    assert deploy(PLAN_FILE, "check")["action"] == "none"

    changed = copy.deepcopy(json.loads(PLAN_FILE.read_text()))
    changed["data_plan_versions"][0]["version_document"]["data_points"].pop()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(changed))
    count = len(writes(control))
    plan = deploy(path, "plan")
    assert plan["action"] == "update"
    assert any(line.startswith("- data point") for c in plan["comparisons"] for line in c["diff"])
    with pytest.raises(MParticleTaskFailure, match=r"version 1 .* differs from code"):
        deploy(path, "check")
    assert len(writes(control)) == count


# --- AEP computed attributes ----------------------------------------------------------------------


def ensure_aep(mode, expression=EXPRESSION):
    return AdobeEnsureComputedAttributeOperator(
        task_id="ensure",
        name="lifetimeValue",
        expression=expression,
        duration={"count": 7, "unit": "DAYS"},
        mode=mode,
    ).execute(adobe_context())


def test_aep_plan_and_check(adobe_aep_conn_id, mparticle_emulator):
    control = mparticle_emulator.control
    assert ensure_aep("plan")["action"] == "create"
    assert control.adobe_attributes() == []
    assert writes(control) == []
    ensure_aep("apply")
    plan = ensure_aep("plan", expression="xEvent.count()")
    assert plan["action"] == "update"
    assert plan["comparisons"][1]["against"] == "draft"
    assert '+  "expression": "xEvent.count()",' in plan["comparisons"][1]["diff"]
    with pytest.raises(MParticleTaskFailure, match=r"evaluating attribute is missing"):
        ensure_aep("check")  # a DRAFT is not live
