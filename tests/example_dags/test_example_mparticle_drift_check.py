from __future__ import annotations

import json
import pathlib

from airflow_provider_mparticle.client.calculated_attributes.definitions import parse_spec
from airflow_provider_mparticle.client.data_planning.documents import load_plan_document
from airflow_provider_mparticle.client.warehouse_sync.apply import apply_plan, read_live
from airflow_provider_mparticle.client.warehouse_sync.documents import load_document_file, plan_document
from tests.conftest import run_dag

EXAMPLES = pathlib.Path(__file__).parents[2] / "example_dags"


def workspace_writes(control):
    return [
        e["path"]
        for e in control.journal(bodies=False)
        if e["method"] not in ("GET", "HEAD") and "oauth" not in e["path"]
    ]


def test_drift_check_fails_on_drift_and_passes_once_live_matches(
    airflow_db, client, mparticle_conn_id, mparticle_emulator
):
    import yaml

    control = mparticle_emulator.control
    dag_run = run_dag("example_mparticle_drift_check")
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    # nothing is live
    assert states == {
        "check_lifetime_value": "failed",
        "check_data_plan": "failed",
        "check_warehouse_sync": "failed",
    }
    assert workspace_writes(control) == []

    spec = parse_spec(
        yaml.safe_load((EXAMPLES / "calculated_attributes" / "lifetime_value.yaml").read_text())
    )
    ca_id = client.calculated_attributes.create(spec.name, spec.draft_definition, spec.description)
    client.calculated_attributes.activate(ca_id)
    client.data_planning.create_plan(
        load_plan_document(json.loads((EXAMPLES / "data_plans" / "mobile_app.json").read_text()))
    )
    document = load_document_file(EXAMPLES / "warehouse_sync.yaml")
    live, _ = read_live(client.warehouse_sync)
    apply_plan(client.warehouse_sync, plan_document(document, live), {"snowflake-main": "pw"})
    dag_run = run_dag("example_mparticle_drift_check")
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    plan = dag_run.get_task_instance("check_lifetime_value").xcom_pull(
        task_ids="check_lifetime_value", key="change_plan"
    )
    assert plan["live_differs"] is False
