"""`make demo`: run the example DAGs end to end against the emulator and say what happened.

Airflow runs as `airflow dags test` with a fresh SQLite metadata DB in `.airflow-demo/`; the emulator
runs in this process on a free loopback port. At the end the demo prints the address of the emulator's
console (`/_emulator/ui`) and, when run from a terminal, keeps the emulator up until Enter is pressed;
run without one (CI), it stops at once. The emulator is stopped on exit, also on failure. Exit status is
non-zero if any DAG run failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".airflow-demo"
LOGS = HOME / "demo-logs"
CONSOLE = "/_emulator/ui"


def airflow(
    args: list[str], env: dict[str, str], log_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if log_file is not None:
        log_file.write_text(result.stdout + result.stderr)
    return result


def dag_run_state(dag_id: str, env: dict[str, str]) -> str:
    out = airflow(["dags", "list-runs", dag_id, "-o", "json"], env).stdout
    decoder = json.JSONDecoder()
    for index, char in enumerate(out):
        if char == "[" and (index == 0 or out[index - 1] == "\n"):
            try:
                runs = decoder.raw_decode(out, index)[0]
            except ValueError:
                continue
            return str(runs[0]["state"]) if runs else "no run"
    return "unknown"


def prepare(server: Any) -> dict[str, dict[str, Any]]:
    """Per-DAG run conf, after creating in the emulator what the DAGs expect to find there."""
    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.testing.examples import (
        CONTROL_PIPELINE_ID,
        create_attribute_with_draft,
        create_ltv_attribute,
        create_pipeline,
    )

    with MParticleClient(server.client_settings()) as client:
        pipeline = create_pipeline(client)
        create_pipeline(client, CONTROL_PIPELINE_ID)
        create_ltv_attribute(client)
        create_attribute_with_draft(client)
    return {"example_mparticle_warehouse_sync": {"pipeline_id": pipeline.id}}


DEMO_DAGS = [
    "example_mparticle_seed_and_activate",
    "example_mparticle_sharded_seed",
    "example_mparticle_warehouse_sync",
    "example_mparticle_warehouse_sync_as_code",
    "example_mparticle_data_plan",
    "example_adobe_computed_attributes",
    "example_mparticle_pipeline_control",
    "example_mparticle_discard_draft",
]


def summarize(server: Any, results: dict[str, tuple[str, float]]) -> None:
    control = server.control
    stats = control.stats()
    print()
    print("What happened")
    print("=============")
    for dag_id, (state, seconds) in results.items():
        mark = "OK  " if state == "success" else "FAIL"
        print(
            f"  [{mark}] {dag_id}: {state} in {seconds:.0f} s  (log: {LOGS.relative_to(ROOT) / (dag_id + '.log')})"
        )
    digest = control.seeds_digest()
    print(f"  Seeds stored in the emulator: {digest['seeds']} for {digest['users']} users")
    from airflow_provider_mparticle.client import MParticleClient

    with MParticleClient(server.client_settings()) as client:
        for ca in control.calculated_attributes():
            seeded = control.seeds_digest(ca["name"])["seeds"]
            line = f"  Calculated attribute {ca['name']!r}: seeded {seeded} users, "
            if ca["active_definition"]:
                status = client.calculated_attributes.calculation_status(ca["id"])
                line += f"active, {status.progress_text()}"
            else:
                # Seeding never activates an attribute; only the seed-and-activate example activates one.
                line += "still a draft: no example DAG activates it (seeds wait for activation)"
            print(line)
    for run in control.pipeline_runs():
        print(
            f"  Pipeline {run.get('pipeline_id')!r} run {run.get('id', run.get('pipeline_run_id'))}: "
            f"{run.get('status')}, {run.get('successful_records')} records synced, "
            f"{run.get('failed_records')} failed"
        )
    plans = getattr(control, "data_plans", None)
    if plans is not None:
        for plan in plans():
            versions = [v.get("version") for v in plan.get("data_plan_versions", [])]
            print(f"  Data plan {plan.get('data_plan_id')!r}: versions {versions}")
    for attribute in control.adobe_attributes():
        print(f"  AEP computed attribute {attribute['name']!r}: {attribute['status']}")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(stats["statuses"].items()))
    print(f"  Requests the emulator answered: {stats['requests']} (by status: {statuses})")
    if any(int(code) >= 400 for code in stats["statuses"]):
        print(
            "    Answers of 400 and above are expected ones here: a 404 is a look-up that found nothing "
            "before a create, a 429 the seeding rate limit the pacer works with. Each request is in the "
            "console's journal."
        )
    print(f"  Airflow home (SQLite metadata DB, task logs): {HOME.relative_to(ROOT)}/")


def wait_for_enter(console: str) -> None:
    """Keep the emulator up for a look at its console; a run without a terminal (CI) goes straight on."""
    print(f"\nEmulator console: {console}")
    if not sys.stdin.isatty():
        print("Not interactive: stopping the emulator.")
        return
    with contextlib.suppress(EOFError, KeyboardInterrupt):
        input("The emulator keeps running; press Enter to stop it. ")


def main() -> int:
    from airflow_provider_mparticle.testing.emulator import EmulatorServer
    from airflow_provider_mparticle.testing.examples import create_example_warehouse

    shutil.rmtree(HOME, ignore_errors=True)
    LOGS.mkdir(parents=True)
    results: dict[str, tuple[str, float]] = {}
    with EmulatorServer(propagation_seconds=0, progress_mode="reads", progress_steps=2) as server:
        print(f"mParticle emulator on {server.url} (console: {server.url + CONSOLE})")
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(server.connection_uri_json()),
            "AIRFLOW_CONN_ADOBE_AEP_DEFAULT": json.dumps(server.adobe_connection_json()),
            # The examples' warehouse: SQLite files in the demo's Airflow home.
            "AIRFLOW_CONN_MPARTICLE_EXAMPLE_WAREHOUSE": json.dumps(
                {"conn_type": "sqlite", "host": str(HOME / "warehouse.db")}
            ),
            "AIRFLOW_CONN_MPARTICLE_SEED_SOURCE": json.dumps(
                create_example_warehouse(str(HOME / "sharded-warehouse.db"), customers=1000)
            ),
            # The Snowflake password that example_dags/warehouse_sync.yaml names (never in the file).
            "AIRFLOW_CONN_SNOWFLAKE_MPARTICLE": json.dumps(
                {"conn_type": "generic", "password": "demo-snowflake-password"}
            ),
        }
        print("Preparing the Airflow metadata DB (SQLite) ...")
        migrate = airflow(["db", "migrate"], env, LOGS / "db-migrate.log")
        if migrate.returncode != 0:
            print(migrate.stderr[-3000:])
            return 1
        confs = prepare(server)
        for dag_id in DEMO_DAGS:
            print(f"Running {dag_id} ...", flush=True)
            started = time.monotonic()
            args = ["dags", "test", dag_id]
            if dag_id in confs:
                args += ["--conf", json.dumps(confs[dag_id])]
            airflow(args, env, LOGS / f"{dag_id}.log")
            results[dag_id] = (dag_run_state(dag_id, env), time.monotonic() - started)
        summarize(server, results)
        wait_for_enter(server.url + CONSOLE)
    failed = [d for d, (state, _) in results.items() if state != "success"]
    if failed:
        print(f"\nFailed: {', '.join(failed)}; see the logs above.")
        return 1
    print("\nAll example DAGs succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
