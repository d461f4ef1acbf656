"""The example DAG runs with dag.test() against the emulator, twice (the second run changes nothing)."""

from __future__ import annotations

from tests.conftest import load_example_dag


def test_example_dag_runs_and_is_idempotent(airflow_db, adobe_aep_conn_id, mparticle_emulator):
    dag = load_example_dag("example_adobe_computed_attributes")
    assert dag.test().state == "success"
    [stored] = mparticle_emulator.control.adobe_attributes()
    assert stored["name"] == "lifetimeValue7d"
    assert stored["status"] == "PROCESSED"
    assert dag.test().state == "success"
    writes = [
        e["method"] for e in mparticle_emulator.control.journal(path="/data/core/ca") if e["method"] != "GET"
    ]
    assert writes == ["POST", "PATCH"]
