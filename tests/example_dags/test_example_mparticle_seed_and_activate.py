"""The example DAG runs end to end against the emulator with ``dag.test()``."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_dag


@pytest.fixture(autouse=True)
def warehouse(tmp_path, monkeypatch):
    """The SQLite 'warehouse' the example seeds from."""
    connection = {"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_EXAMPLE_WAREHOUSE", json.dumps(connection))


def test_seed_and_activate_dag(airflow_db, mparticle_conn_id, mparticle_emulator):
    control = mparticle_emulator.control
    # The sensor defers without a call: the trigger's first poll is the first read, and reads 100 %.
    control.configure(progress_mode="reads", progress_steps=1)

    dag_run = run_dag("example_mparticle_seed_and_activate")

    assert dag_run.state == "success", dag_run.state
    [ca] = control.calculated_attributes()
    assert ca["name"] == "Lifetime value"
    assert ca["active_definition"]["calculation_type"] == "sum"
    assert ca["draft_definition"] is None
    seeds = control.seeds("Lifetime value")
    assert {user: s["Lifetime value"]["seed"]["value"] for user, s in seeds.items()} == {
        "mpid:1001": 250.5,
        "mpid:1002": 99.0,
        "mpid:1003": 1200.0,
    }
    reads = control.journal(path=f"/calculatedattributes/{ca['id']}/calculation", method="GET")
    assert len(reads) == 1  # none by the sensor on the worker
    assert all(entry["status"] == 200 for entry in reads)


def test_extra_link_and_xcom_of_the_example_run(airflow_db, mparticle_conn_id, mparticle_emulator):
    from airflow.models.asset import AssetEvent
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    mparticle_emulator.control.configure(progress_mode="immediate")
    dag_run = run_dag("example_mparticle_seed_and_activate")
    assert dag_run.state == "success"
    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        values = {(r.task_id, r.key): XComModel.deserialize_value(r) for r in rows}
        emitted = [
            event.asset.uri
            for event in session.query(AssetEvent).filter_by(source_run_id=dag_run.run_id).all()
        ]
    assert emitted == ["mparticle://1/calculated-attributes/Lifetime%20value"]
    link = values[("wait_for_calculation", "_link_MParticleCalculatedAttributeLink")]
    # The connection points at the emulator: the link opens its console.
    assert link == f"{mparticle_emulator.url}/_emulator/ui/calculated-attributes/1"
    assert values[("ensure_calculated_attribute", "calculated_attribute_name")] == "Lifetime value"
    assert values[("ensure_calculated_attribute", "return_value")] == 1
