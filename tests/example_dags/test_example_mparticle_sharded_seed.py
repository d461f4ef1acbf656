"""The sharded seeding example DAG runs end to end with dag.test() against the emulator."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sqlite3

from airflow_provider_mparticle.testing.examples import create_example_warehouse, create_ltv_attribute

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "example_mparticle_sharded_seed.py"


def load_dag():
    spec = importlib.util.spec_from_file_location("example_mparticle_sharded_seed", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_sharded_seed_dag(
    airflow_db, mparticle_conn_id, mparticle_emulator, client, tmp_path, monkeypatch, capsys, caplog
):
    caplog.set_level("INFO")
    caplog.set_level("INFO", logger="airflow.task")
    create_ltv_attribute(client)
    db = tmp_path / "warehouse.db"
    connection = create_example_warehouse(str(db), customers=1000)
    with sqlite3.connect(db) as c:
        c.execute("update customer_ltv set ltv = null where id = 500")  # one invalid row: skipped
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_SEED_SOURCE", json.dumps(connection))

    dag_run = load_dag().test()

    assert dag_run.state == "success"
    states = {ti.map_index: ti.state for ti in dag_run.get_task_instances()}
    assert states == {0: "success", 1: "success", 2: "success", 3: "success"}
    seeds = mparticle_emulator.control.seeds()
    assert len(seeds) == 999
    assert seeds['identities:{"customer_id":"c1000"}']["LTV"]["seed"] == {"value": 1500.0}
    bulk = mparticle_emulator.control.journal(path="bulkcalculatedattributes")
    assert len(bulk) == 12  # 4 shards x 250 rows, 100 users per request
    out = capsys.readouterr().out + "\n" + "\n".join(r.getMessage() for r in caplog.records)
    assert out.count("shared by 4 mapped task(s): this one sends at most 500 users/s") == 4
