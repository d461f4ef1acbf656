"""The example DAG runs with dag.test() against the emulator, twice (the second run changes nothing)."""

from __future__ import annotations

import importlib.util

from tests.conftest import EXAMPLE_DAGS


def load_dag():
    spec = importlib.util.spec_from_file_location(
        "adobe_example", EXAMPLE_DAGS / "adobe_computed_attributes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_example_dag_runs_and_is_idempotent(airflow_db, adobe_aep_conn_id, mparticle_emulator):
    dag = load_dag()
    assert dag.test().state == "success"
    [stored] = mparticle_emulator.control.adobe_attributes()
    assert stored["name"] == "lifetimeValue7d"
    assert stored["status"] == "PROCESSED"
    assert dag.test().state == "success"
    writes = [
        e["method"] for e in mparticle_emulator.control.journal(path="/data/core/ca") if e["method"] != "GET"
    ]
    assert writes == ["POST", "PATCH"]
