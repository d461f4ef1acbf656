"""The example DAG runs end to end against the emulator with ``dag.test()``."""

from __future__ import annotations

from tests.conftest import run_dag


def test_seed_and_activate_dag(airflow_db, mparticle_conn_id, mparticle_emulator):
    control = mparticle_emulator.control
    # The sensor's first poke reads 50 %, the trigger's first poll reads 100 %: no sleep in between.
    control.configure(progress_mode="reads", progress_steps=2)

    dag_run = run_dag("mparticle_seed_and_activate")

    assert dag_run.state == "success", dag_run.state
    [ca] = control.calculated_attributes()
    assert ca["name"] == "Lifetime value"
    assert ca["active_definition"]["calculation_type"] == "sum"
    assert ca["draft_definition"] is None
    seeds = control.seeds("Lifetime value")
    assert {user: s["Lifetime value"]["seed"]["value"] for user, s in seeds.items()} == {
        "mpid:1001": "250.50",
        "mpid:1002": "99.00",
        "mpid:1003": "1200",
    }
    reads = control.journal(path=f"/calculatedattributes/{ca['id']}/calculation", method="GET")
    assert len(reads) == 2
    assert all(entry["status"] == 200 for entry in reads)
