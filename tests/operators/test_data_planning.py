# ruff: noqa: F811  (pytest fixtures imported from tests.dataplanning_spec)
"""Data plan operators against the emulator; every request they make is checked against the OpenAPI spec."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_mparticle.operators.data_planning import (
    MParticleDeployDataPlanOperator,
    MParticleValidateBatchOperator,
)
from tests.dataplanning_spec import spec_recorder  # noqa: F401

EXAMPLES = pathlib.Path(__file__).parents[2] / "example_dags"
PLAN = json.loads((EXAMPLES / "data_plans" / "mobile_app.json").read_text())
BATCHES = json.loads((EXAMPLES / "data_plans" / "sample_batches.json").read_text())


def write_plan(tmp_path, plan):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return str(path)


def deploy(path, **kwargs):
    return MParticleDeployDataPlanOperator(task_id="deploy", plan_file=path, **kwargs).execute(context={})


def writes(emulator):
    return [
        (e["method"], e["path"].split("/plans", 1)[1])
        for e in emulator.control.journal(path="/plans")
        if e["method"] != "GET"
    ]


@pytest.fixture
def checked(mparticle_conn_id, spec_recorder):
    return mparticle_conn_id


def test_deploy_creates_then_is_idempotent_then_updates(checked, mparticle_emulator, tmp_path, capsys):
    path = write_plan(tmp_path, PLAN)
    assert deploy(path) == {"data_plan_id": "mobile_app", "plan": "created", "versions": {"1": "created"}}
    stored = mparticle_emulator.control.data_plans()[0]
    assert (
        stored["data_plan_versions"][0]["version_document"]
        == PLAN["data_plan_versions"][0]["version_document"]
    )

    assert deploy(path) == {"data_plan_id": "mobile_app", "plan": "unchanged", "versions": {"1": "unchanged"}}
    assert writes(mparticle_emulator) == [("POST", "")]

    changed = copy.deepcopy(PLAN)
    points = changed["data_plan_versions"][0]["version_document"]["data_points"]
    points[0]["validator"]["definition"]["properties"]["data"]["properties"]["custom_attributes"][
        "required"
    ] = ["sku"]
    del points[1]
    changed["data_plan_versions"].append({"version": 2, "version_document": {"data_points": points}})
    changed["data_plan_description"] = "New words."
    capsys.readouterr()
    result = deploy(write_plan(tmp_path, changed))
    assert result == {
        "data_plan_id": "mobile_app",
        "plan": "updated",
        "versions": {"1": "updated", "2": "created"},
    }
    assert writes(mparticle_emulator)[1:] == [
        ("PATCH", "/mobile_app"),
        ("PATCH", "/mobile_app/versions/1"),
        ("POST", "/mobile_app/versions"),
    ]
    log = capsys.readouterr().out
    assert "~ data point custom_event 'Purchase' (transaction):" in log
    assert "- data point screen_view 'Home'" in log
    assert "+ version 2 (1 data points)" in log


def test_environment_override_and_check_only(checked, mparticle_emulator, tmp_path):
    path = write_plan(tmp_path, PLAN)
    deploy(path)
    assert deploy(path, activated_environment="production", check_only=True)["versions"] == {"1": "updated"}
    assert (
        mparticle_emulator.control.data_plans()[0]["data_plan_versions"][0]["activated_environment"]
        == "development"
    )
    deploy(path, activated_environment="production")
    assert (
        mparticle_emulator.control.data_plans()[0]["data_plan_versions"][0]["activated_environment"]
        == "production"
    )
    # The file names an environment, so a plain deploy puts the file's value back.
    assert deploy(path)["versions"] == {"1": "updated"}


def test_bad_plan_fails_naming_the_field_and_sends_nothing(checked, mparticle_emulator, tmp_path):
    bad = copy.deepcopy(PLAN)
    bad["data_plan_versions"][0]["version_document"]["data_points"][1]["match"]["type"] = "screen"
    with pytest.raises(
        AirflowFailException,
        match=r"plan.json: data_plan_versions\[0\]\.version_document\.data_points\[1\]\.match\.type",
    ):
        deploy(write_plan(tmp_path, bad))
    with pytest.raises(AirflowFailException, match="does not exist"):
        deploy(str(tmp_path / "missing.json"))
    assert mparticle_emulator.control.journal(path="/plans") == []


def validate(batches, policy, **kwargs):
    op = MParticleValidateBatchOperator(
        task_id="validate", data_plan_id="mobile_app", version=1, batches=batches, policy=policy, **kwargs
    )
    return op.execute(context={})


BAD_BATCH = {
    "environment": "development",
    "events": [
        {
            "event_type": "custom_event",
            "data": {
                "event_name": "Purchase",
                "custom_event_type": "transaction",
                "custom_attributes": {"sku": "A", "currency": "JPY"},
            },
        },
        {"event_type": "custom_event", "data": {"event_name": "Signup", "custom_event_type": "other"}},
    ],
}


def test_validate_policies(checked, mparticle_emulator, tmp_path, capsys):
    deploy(write_plan(tmp_path, PLAN))
    ok = validate(BATCHES, "fail")
    assert (ok["batches"], ok["events_validated"], ok["error_count"]) == (1, 2, 0)

    with pytest.raises(AirflowFailException) as failed:
        validate([BATCHES[0], BAD_BATCH], "fail")
    message = str(failed.value)
    assert "2 validation error(s) against data plan mobile_app version 1" in message
    assert (
        "batch 1: custom_event 'Purchase' (transaction): invalid_value at #/data/custom_attributes/currency"
        in message
    )
    assert "batch 1: custom_event 'Signup' (other): unplanned" in message

    capsys.readouterr()
    warned = validate(json.dumps(BAD_BATCH), "warn", max_errors_listed=1)
    assert warned["error_count"] == 2
    assert len(warned["errors"]) == 1
    assert re.search(r"\[warning\s*\] 2 validation error\(s\)(.|\n)*and 1 more", capsys.readouterr().out)
    assert validate(BAD_BATCH, "pass")["error_count"] == 2
    # The version document is read once per task, then one validate call per batch.
    gets = [e for e in mparticle_emulator.control.journal(path="/versions/1") if e["method"] == "GET"]
    assert len(gets) == 4


def test_validate_bad_arguments_fail_early(checked, mparticle_emulator):
    # Template fields are checked when the task runs, once rendered; nothing is sent before.
    strict = MParticleValidateBatchOperator(
        task_id="v", data_plan_id="p", version=1, batches={}, policy="strict"
    )
    with pytest.raises(AirflowFailException, match="policy is 'strict'"):
        strict.execute(context={})
    with pytest.raises(AirflowFailException, match=r"batches\[0\]\.environment"):
        validate({"events": []}, "fail")
    with pytest.raises(AirflowFailException, match="version must be an integer"):
        MParticleValidateBatchOperator(task_id="v", data_plan_id="p", version="one", batches={}).execute(
            context={}
        )
    assert mparticle_emulator.control.journal(path="/plans") == []


def test_example_dag_runs(airflow_db, checked, mparticle_emulator):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "mparticle_data_plan_example", EXAMPLES / "example_mparticle_data_plan.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test()
    assert run.state == "success", run.state
    assert mparticle_emulator.control.data_plans()[0]["data_plan_id"] == "mobile_app"
    assert [e["path"].rsplit("/", 1)[1] for e in mparticle_emulator.control.journal(path="/validate")] == [
        "validate"
    ]
