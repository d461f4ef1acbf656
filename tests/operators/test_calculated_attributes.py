"""Ensure / activate / delete-draft operators against the emulator."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.links.calculated_attributes import XCOM_ID_KEY, XCOM_NAME_KEY, XCOM_URL_KEY
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
    MParticleDeleteCalculatedAttributeDraftOperator,
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.triggers.calculated_attributes import MParticleCalculationTrigger
from tests.conftest import VALID_DEFINITION, definition

CA_PATH = "/calculatedattributes"


def ensure(task_context, spec, **kwargs):
    op = MParticleEnsureCalculatedAttributeOperator(task_id="ensure", definition=spec, **kwargs)
    return op.execute(task_context)


def writes(control):
    """Requests that change calculated attributes (POST / PUT / DELETE)."""
    return [
        (e["method"], e["path"].split("calculatedattributes")[-1])
        for e in control.journal(path=CA_PATH)
        if e["method"] in ("POST", "PUT", "DELETE")
    ]


def spec(**changes):
    return {"name": "LTV", "description": "Lifetime value", "draft_definition": definition(**changes)}


# --- ensure -------------------------------------------------------------------------------------


def test_ensure_creates_then_is_a_no_op(mparticle_conn_id, mparticle_emulator, task_context):
    control = mparticle_emulator.control
    ca_id = ensure(task_context, spec())
    [ca] = control.calculated_attributes()
    assert (ca["id"], ca["name"], ca["description"]) == (ca_id, "LTV", "Lifetime value")
    xcom = task_context["ti"].xcom
    assert (xcom[XCOM_ID_KEY], xcom[XCOM_NAME_KEY]) == (ca_id, "LTV")
    assert xcom[XCOM_URL_KEY] == f"{mparticle_emulator.url}/_emulator/ui/calculated-attributes/{ca_id}"
    assert xcom["calculated_attribute"] == {
        "id": ca_id, "name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "action": "created",
    }  # fmt: skip
    assert writes(control) == [("POST", "")]

    # Same meaning, other spellings: nothing is sent.
    variant = {k: v for k, v in VALID_DEFINITION.items() if k != "datapoint"}
    variant["data_point"] = VALID_DEFINITION["datapoint"]
    variant["time_period"] = {"type": "since", "date": "2026-01-01T00:00:00Z"}
    assert ensure(task_context, {"name": "LTV", "draft_definition": variant}) == ca_id
    assert task_context["ti"].xcom["calculated_attribute"]["action"] == "unchanged"
    assert writes(control) == [("POST", "")]


def test_ensure_updates_the_draft_when_it_differs(mparticle_conn_id, mparticle_emulator, task_context):
    control = mparticle_emulator.control
    ca_id = ensure(task_context, spec())
    condition = {"type": "number", "operator": "greater_than", "attribute_name": "Total Amount", "value": 10}
    assert ensure(task_context, {**spec(conditions=[condition]), "description": "LTV in USD"}) == ca_id
    [ca] = control.calculated_attributes()
    assert ca["draft_definition"]["conditions"] == [{**condition, "value": "10"}]
    assert ca["description"] == "LTV in USD"
    assert writes(control) == [("POST", ""), ("PUT", f"/{ca_id}")]
    assert task_context["ti"].xcom["calculated_attribute"]["action"] == "updated"


@pytest.mark.parametrize(
    ("changes", "kwargs", "said"),
    [
        ({"calculation_type": "max"}, {}, "calculation_type 'sum' -> 'max'"),
        ({"seeding": {"cutoff_date": "2026-07-01T00:00:00"}}, {}, "seeding.cutoff_date '2026-06-01' -> '2026-07-01'"),
        ({}, {"ca_name": "Lifetime value", "ca_id": "{id}"}, "rename 'LTV' -> 'Lifetime value'"),
    ],
)  # fmt: skip
def test_ensure_refuses_changes_that_delete_seeds(
    mparticle_conn_id, mparticle_emulator, task_context, changes, kwargs, said
):
    control = mparticle_emulator.control
    ca_id = ensure(task_context, spec())
    kwargs = {k: (str(ca_id) if v == "{id}" else v) for k, v in kwargs.items()}
    wanted = spec(**changes)
    if "ca_name" in kwargs:
        wanted.pop("name")
    with pytest.raises(MParticleTaskFailure) as info:
        ensure(task_context, wanted, **kwargs)
    assert said in str(info.value)
    assert "allow_seed_reset=True" in str(info.value)
    assert writes(control) == [("POST", "")]

    assert ensure(task_context, wanted, allow_seed_reset=True, **kwargs) == ca_id
    assert writes(control) == [("POST", ""), ("PUT", f"/{ca_id}")]


def test_ensure_refuses_renaming_an_active_attribute(
    mparticle_conn_id, mparticle_emulator, client, task_context
):
    ca_id = ensure(task_context, spec())
    client.calculated_attributes.activate(ca_id)
    with pytest.raises(MParticleTaskFailure, match="renaming only before activation"):
        ensure(task_context, {**spec(), "name": "Other"}, ca_id=ca_id, allow_seed_reset=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"calculation_type": "median"}, "draft_definition.calculation_type: 'median' is not one of"),
        ({"conditions": [{"type": "boolean", "operator": "contains", "attribute_name": "a", "value": "x"}]}, "draft_definition.conditions[0].operator"),
        ({"time_period": {"type": "within", "within": 30, "within_unit": "days"}}, "draft_definition.seeding: a rolling 'within'"),
        ({"datapoint": None}, "draft_definition.data_point: required"),
    ],
)  # fmt: skip
def test_ensure_validates_before_any_call(
    mparticle_conn_id, mparticle_emulator, task_context, changes, field
):
    with pytest.raises(MParticleTaskFailure) as info:
        ensure(task_context, spec(**changes))
    assert field in str(info.value)
    assert mparticle_emulator.control.journal() == []


def test_ensure_reads_yaml_and_json_files(mparticle_conn_id, mparticle_emulator, task_context, tmp_path):
    import yaml

    document = spec()
    document["description"] = "Loaded on {{ ds }}"
    (tmp_path / "ltv.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    ca_id = ensure(task_context, str(tmp_path / "ltv.yaml"))
    [ca] = mparticle_emulator.control.calculated_attributes()
    assert (ca["id"], ca["description"]) == (ca_id, "Loaded on 2026-03-01")

    (tmp_path / "ltv.json").write_text(json.dumps({**spec(), "description": None}), encoding="utf-8")
    assert ensure(task_context, str(tmp_path / "ltv.json"), description="Loaded on 2026-03-01") == ca_id
    assert task_context["ti"].xcom["calculated_attribute"]["action"] == "unchanged"


def test_ensure_names_a_missing_or_broken_file(mparticle_conn_id, task_context, tmp_path):
    with pytest.raises(MParticleTaskFailure, match="cannot read file"):
        ensure(task_context, str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(MParticleTaskFailure, match=r"bad\.json: not valid JSON"):
        ensure(task_context, str(tmp_path / "bad.json"))


def test_example_definition_file_is_valid():
    from tests.conftest import ROOT

    op = MParticleEnsureCalculatedAttributeOperator(
        task_id="t", definition=str(ROOT / "example_dags/calculated_attributes/lifetime_value.yaml")
    )
    assert op.parse().name == "Lifetime value"


# --- activate -----------------------------------------------------------------------------------


def activate(task_context, **kwargs):
    return MParticleActivateCalculatedAttributeOperator(task_id="activate", **kwargs).execute(task_context)


def test_activate_by_name_then_rerun_is_a_no_op(mparticle_conn_id, mparticle_emulator, client, task_context):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    assert activate(task_context, ca_name="LTV") == {"ca_id": ca_id, "name": "LTV", "activated": True}
    assert client.calculated_attributes.activation_status(ca_id).is_active
    assert task_context["ti"].xcom[XCOM_ID_KEY] == ca_id
    assert activate(task_context, ca_id=ca_id) == {"ca_id": ca_id, "name": "LTV", "activated": False}


def test_activate_reports_a_missing_draft(mparticle_conn_id, client, task_context):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    MParticleDeleteCalculatedAttributeDraftOperator(task_id="d", ca_id=ca_id).execute(task_context)
    assert client.calculated_attributes.get(ca_id).draft_definition is None
    with pytest.raises(MParticleTaskFailure) as info:
        activate(task_context, ca_id=ca_id)
    assert "has no draft definition" in str(info.value)
    assert "No draft definition was found to activate." in str(info.value)


def test_activate_reports_the_active_limit(mparticle_conn_id, mparticle_emulator, client, task_context):
    mparticle_emulator.control.configure(active_ca_limit=1)
    first = client.calculated_attributes.create("A", VALID_DEFINITION)
    client.calculated_attributes.activate(first)
    client.calculated_attributes.create("B", VALID_DEFINITION)
    with pytest.raises(MParticleTaskFailure) as info:
        activate(task_context, ca_name="B")
    assert "account limit on active calculated attributes is reached" in str(info.value)
    assert "You have reached the account limit on active calculated attributes." in str(info.value)


def test_activate_unknown_name_fails(mparticle_conn_id, task_context):
    with pytest.raises(MParticleTaskFailure, match="No calculated attribute named 'nope' in workspace 1"):
        activate(task_context, ca_name="nope")


def test_activate_and_wait_in_the_worker(mparticle_conn_id, mparticle_emulator, client, task_context):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    result = activate(
        task_context, ca_id=ca_id, wait_for_calculation=True, poll_interval=0.01, deferrable=False
    )
    assert result["activated"] is True
    assert result["is_calculated"] is True
    assert result["calculation_percent_complete"] == 100
    assert len(mparticle_emulator.control.journal(path=f"/{ca_id}/calculation")) == 3


def test_activate_and_wait_times_out(mparticle_conn_id, mparticle_emulator, client, task_context):
    mparticle_emulator.control.configure(progress_steps=10_000)
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    with pytest.raises(MParticleTaskFailure, match="still calculating"):
        activate(task_context, ca_id=ca_id, wait_for_calculation=True, poll_interval=0.01, timeout=0.05, deferrable=False)  # fmt: skip


def test_activate_and_wait_deferred(mparticle_conn_id, mparticle_emulator, client, task_context):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    op = MParticleActivateCalculatedAttributeOperator(
        task_id="activate", ca_id=ca_id, wait_for_calculation=True, poll_interval=0.01, deferrable=True
    )
    with pytest.raises(TaskDeferred) as info:
        op.execute(task_context)
    trigger = info.value.trigger
    assert isinstance(trigger, MParticleCalculationTrigger)
    assert (trigger.ca_id, trigger.ca_name, trigger.poll_interval) == (ca_id, "LTV", 0.01)
    assert info.value.method_name == "execute_complete"

    async def collect():
        return [e async for e in trigger.run()]

    [event] = asyncio.run(collect())
    result = op.execute_complete(task_context, event.payload, **info.value.kwargs)
    assert result["activated"] is True
    assert result["is_calculated"] is True


def test_activate_execute_complete_rejects_bad_events(task_context):
    from airflow.sdk.exceptions import AirflowException

    op = MParticleActivateCalculatedAttributeOperator(task_id="a", ca_id=1, deferrable=True)
    with pytest.raises(AirflowException, match="missing ca_id"):
        op.execute_complete(task_context, {"status": "success", "message": "done"})
    with pytest.raises(AirflowException, match="status"):
        op.execute_complete(task_context, {"status": "weird", "message": "?"})
    with pytest.raises(MParticleTaskFailure, match="deadline"):
        op.execute_complete(
            task_context, {"status": "timeout", "message": "still not finished at the deadline."}
        )


def test_activate_retries_a_transient_error_met_while_deferred(
    mparticle_conn_id, mparticle_emulator, client, task_context, monkeypatch
):
    # mParticle answers 503 past the trigger's retries: the task must be retried, as in poke mode.
    from airflow_provider_mparticle.exceptions import MParticleRetryableError

    conn = mparticle_emulator.connection_uri_json()
    conn["extra"]["max_attempts"] = 2
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    mparticle_emulator.control.configure(progress_steps=10_000)
    op = MParticleActivateCalculatedAttributeOperator(
        task_id="activate", ca_id=ca_id, wait_for_calculation=True, poll_interval=0.01, deferrable=True
    )
    with pytest.raises(TaskDeferred) as info:
        op.execute(task_context)
    mparticle_emulator.control.add_fault(path=r"/calculation$", method="GET", status=503)

    async def collect():
        return [e.payload async for e in info.value.trigger.run()]

    [event] = asyncio.run(collect())
    assert (event["status"], event["reason"]) == ("error", "transient")
    with pytest.raises(MParticleRetryableError, match="503"):
        op.execute_complete(task_context, event, **info.value.kwargs)


def test_messages_keep_the_case_of_names(mparticle_conn_id, mparticle_emulator, client, task_context):
    mparticle_emulator.control.configure(progress_steps=10_000)
    ca_id = client.calculated_attributes.create("Docfake_Orders", VALID_DEFINITION)
    with pytest.raises(
        MParticleTaskFailure, match=r"Calculated attribute 'Docfake_Orders' .* still calculating"
    ):
        activate(task_context, ca_id=ca_id, wait_for_calculation=True, poll_interval=0.01, timeout=0.05, deferrable=False)  # fmt: skip


# --- delete draft -------------------------------------------------------------------------------


def test_delete_draft_keeps_the_active_definition(mparticle_conn_id, client, task_context):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    client.calculated_attributes.activate(ca_id)
    client.calculated_attributes.update(
        ca_id, name="LTV", draft_definition=definition(calculation_type="max")
    )
    op = MParticleDeleteCalculatedAttributeDraftOperator(task_id="d", ca_name="LTV")
    assert op.execute(task_context) == ca_id
    ca = client.calculated_attributes.get(ca_id)
    assert ca.draft_definition is None
    assert ca.active_definition["calculation_type"] == "sum"


def test_delete_draft_of_a_missing_attribute(mparticle_conn_id, task_context):
    with pytest.raises(MParticleTaskFailure):
        MParticleDeleteCalculatedAttributeDraftOperator(task_id="d", ca_id=99).execute(task_context)
    assert MParticleDeleteCalculatedAttributeDraftOperator(task_id="d", ca_id=99, missing_ok=True).execute(task_context) is None  # fmt: skip


def test_id_or_name_is_required():
    with pytest.raises(ValueError, match="ca_id or ca_name"):
        MParticleActivateCalculatedAttributeOperator(task_id="a")
