from __future__ import annotations

import json
import logging

from tests.conftest import run_dag, stored_outputs

SECRET = "zq-example-snowflake-pw-3e7a1c"
PIPELINE = "acme-open-tickets-sync"


def writes(control):
    return [
        (e["method"], e["path"].rsplit("/", 1)[-1])
        for e in control.journal(bodies=False)
        if e["method"] not in ("GET", "HEAD") and "oauth" not in e["path"]
    ]


def test_example_plans_applies_syncs_and_keeps_the_secret_out_of_what_it_shows(
    airflow_db, mparticle_conn_id, mparticle_emulator, monkeypatch, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SNOWFLAKE_MPARTICLE", json.dumps({"conn_type": "generic", "password": SECRET})
    )
    control = mparticle_emulator.control
    control.configure(progress_steps=2)
    dag_run = run_dag("example_mparticle_warehouse_sync_as_code")

    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == dict.fromkeys(
        ("plan_warehouse_sync", "apply_warehouse_sync", "sync_open_tickets", "wait_for_open_tickets"),
        "success",
    )
    assert writes(control) == [
        ("POST", "connections"),
        ("POST", "data-models"),
        ("POST", "data-pipelines"),
        ("POST", "trigger"),
    ]
    plan = dag_run.get_task_instance("plan_warehouse_sync").xcom_pull(
        task_ids="plan_warehouse_sync", key="change_plan"
    )
    assert [c["change"] for c in plan["changes"]] == ["create"] * 3
    assert control.pipeline_triggers(PIPELINE)
    assert [r["status"] for r in control.pipeline_runs()] == ["success"]
    backend = mparticle_emulator.state.backends["warehouse_sync"]
    assert backend.connections["acme-snowflake-main"].body["config"]["password"] == SECRET

    # Every change of the file runs it again: the apply finds nothing to write.
    again = run_dag("example_mparticle_warehouse_sync_as_code")
    assert again.state == "success"
    assert writes(control)[4:] == [("POST", "trigger")]

    shown = {"logs": "\n".join(r.getMessage() for r in caplog.records), "output": "".join(capfd.readouterr())}
    assert "Applied" in shown["logs"] + shown["output"]  # the apply's own lines were captured
    shown.update(stored_outputs(dag_run, again))
    assert any(
        k.startswith("xcom example_mparticle_warehouse_sync_as_code.plan_warehouse_sync") for k in shown
    )
    assert any(
        k.startswith("rendered example_mparticle_warehouse_sync_as_code.apply_warehouse_sync") for k in shown
    )
    assert [name for name, text in shown.items() if SECRET in text] == []
