"""End to end: ``dag.test()`` with Airflow's OpenLineage listener, the events caught by an in-memory transport."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from airflow_provider_mparticle.testing.examples import (
    LTV_DEFINITION,
    create_example_warehouse,
    create_pipeline,
)
from tests.conftest import ROOT


def test_a_dag_run_emits_the_seed_and_pipeline_lineage(airflow_db, client, mparticle_emulator, tmp_path):
    client.calculated_attributes.create("LTV", LTV_DEFINITION)
    create_pipeline(client)
    mparticle_emulator.control.plan_pipeline_runs("example-pipeline", successful_records=42)
    warehouse = tmp_path / "warehouse.db"
    env = {
        **os.environ,
        "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(mparticle_emulator.connection_uri_json()),
        "AIRFLOW_CONN_SEED_DB": json.dumps(create_example_warehouse(str(warehouse), customers=300)),
    }
    out = tmp_path / "events.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.openlineage.run_dag_with_lineage", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    emitted = json.loads(out.read_text())
    assert emitted["state"] == "success"
    complete = {e["job"]["name"]: e for e in emitted["events"] if e["eventType"] == "COMPLETE"}
    assert set(complete) == {"mparticle_lineage.seed_ltv", "mparticle_lineage.sync_users"}
    workspace = f"mparticle://{mparticle_emulator.connection_uri_json()['extra']['workspace_id']}"

    seed = complete["mparticle_lineage.seed_ltv"]
    assert [(d["namespace"], d["name"]) for d in seed["inputs"]] == [
        (f"sqlite://{warehouse}", "main.customer_ltv")
    ]
    assert seed["job"]["facets"]["sql"]["query"] == "SELECT customer_id, ltv FROM customer_ltv WHERE ltv > 0"
    [ltv] = seed["outputs"]
    assert (ltv["namespace"], ltv["name"]) == (workspace, "calculated-attributes/LTV")
    assert ltv["outputFacets"]["outputStatistics"]["rowCount"] == 300
    [source] = ltv["facets"]["columnLineage"]["fields"]["value"]["inputFields"]
    assert (source["name"], source["field"]) == ("main.customer_ltv", "ltv")

    sync = complete["mparticle_lineage.sync_users"]
    assert [(d["namespace"], d["name"]) for d in sync["inputs"]] == [
        ("snowflake://gd12345.us-central1.gcp", "MP.DEMO.USERS")
    ]
    [users] = sync["outputs"]
    assert (users["namespace"], users["name"]) == (workspace, "user-attributes")
    assert users["outputFacets"]["outputStatistics"]["rowCount"] == 42
    assert sync["run"]["facets"]["externalQuery"]["externalQueryId"] == "example-pipeline/1"
