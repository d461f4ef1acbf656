"""End-to-end run on a real Airflow deployment, as users run it.

PostgreSQL on loopback as the metadata DB (installed from Debian's packages if missing, run as a
private cluster in a temporary directory), the emulator as mParticle, and Airflow's api-server,
scheduler, dag-processor and triggerer as separate processes with the LocalExecutor. The example DAGs
are triggered through the API server's REST API (as the UI does) and must all succeed; while a deferrable
task waits, the triggerer is killed and restarted. States are read through the same API: a CLI call
starts an interpreter that imports Airflow (seconds of CPU on a busy 2-core machine), which slowed
every component and let a short deferred window pass between two reads. Then a seed of 200,000 users is run alone and its task process is SIGKILLed
part-way: Airflow retries it by itself, and the users sent twice are counted on the emulator and written
to ``benchmarks/results/reliability.json`` (``users_resent_after_real_kill``, at most 2 x concurrency
requests' worth of users). Last, a deferred pipeline task with ``on_kill="pause_pipeline"`` is marked
failed through the API server: the trigger's ``on_kill`` must pause the pipeline exactly once (one PUT
in the emulator's journal). Everything is bounded in time and cleaned up, also on failure.

Usage: python .ci/e2e.py [--dags-folder DIR] [--dag DAG_ID[:RESTART_TASK]] ... [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from deployment import (
    AIRFLOW,
    ROOT,
    Deployment,
    accepted_users,
    log,
    record_reliability,
    run_scenario,
    task_processes,
)

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.testing.emulator.control_client import EmulatorControl
from airflow_provider_mparticle.testing.emulator.server import client_settings
from airflow_provider_mparticle.testing.examples import (
    CONTROL_PIPELINE_ID,
    create_attribute_with_draft,
    create_example_warehouse,
    create_ltv_attribute,
    create_pipeline,
)

# The example DAGs and, for those with a deferrable wait, the task during whose wait the triggerer is
# killed and restarted.
DEFAULT_DAGS = {
    "example_mparticle_seed_and_activate": "wait_for_calculation",
    "example_mparticle_sharded_seed": "",
    "example_mparticle_warehouse_sync": "sync_users_from_warehouse",
    "example_mparticle_data_plan": "",
    "example_adobe_computed_attributes": "wait_lifetime_value",
    "example_mparticle_pipeline_control": "wait_for_sync",
    "example_mparticle_discard_draft": "",
    "example_mparticle_warehouse_sync_as_code": "",
}

# The warehouse password example_dags/warehouse_sync.yaml names (never in the file). The emulator refuses a
# Snowflake connection without one, so the as-code run's success shows it was sent; after the runs, no
# component log and no task log may contain it.
WAREHOUSE_SECRET = "e2e-snowflake-password-8c1f"


def start(deployment: Deployment) -> None:
    """The LocalExecutor deployment with the example DAGs' connections and workspace resources."""
    work = deployment.work
    env = {
        "AIRFLOW_CONN_MPARTICLE_EXAMPLE_WAREHOUSE": json.dumps(
            {"conn_type": "sqlite", "host": str(work / "warehouse.db")}
        ),
        "AIRFLOW_CONN_MPARTICLE_SEED_SOURCE": json.dumps(
            create_example_warehouse(str(work / "sharded-warehouse.db"), customers=1000)
        ),
        "AIRFLOW_CONN_SNOWFLAKE_MPARTICLE": json.dumps(
            {"conn_type": "generic", "password": WAREHOUSE_SECRET}
        ),
    }
    components = {
        name: [*AIRFLOW, name] for name in ("api-server", "scheduler", "dag-processor", "triggerer")
    }
    deployment.start("LocalExecutor", env, components)
    emulator = deployment.emulator_url
    # The Warehouse Sync example triggers a pipeline configured beforehand, as in a real workspace.
    with MParticleClient(client_settings(emulator)) as client:
        create_pipeline(client)
        create_pipeline(client, CONTROL_PIPELINE_ID)
        create_ltv_attribute(client)
        create_attribute_with_draft(client)
        create_pipeline(client, KILL_POLICY_PIPELINE)
    # The kill-policy pipeline's run stays running until the task is killed.
    EmulatorControl(emulator).plan_pipeline_runs(KILL_POLICY_PIPELINE, hold=True)


# --- a SIGKILL of the real task process part-way through a seed ------------------------------------

KILL_DAG_ID = "e2e_seed_real_kill"
KILL_USERS = 200_000
KILL_CONCURRENCY = 8
RESEND_BOUND = 2 * KILL_CONCURRENCY * 100  # 2 x concurrency requests of 100 users

KILL_DAG = """
from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, tags=["e2e"]):
    MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        path={path!r},
        identities={{"customer_id": "customer_id"}},
        calculated_attributes=[
            {{"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}},
        ],
        concurrency={concurrency},
        progress_interval=5,
        retries=1,
        retry_delay=dt.timedelta(seconds=2),
    )
"""


def secret_in_logs(deployment: Deployment) -> list[str]:
    """The component and task log files that contain the warehouse secret."""
    paths = [*deployment.logs.glob("*.log"), *(deployment.work / "home" / "logs").glob("**/*.log")]
    return sorted(str(p) for p in paths if WAREHOUSE_SECRET.encode() in p.read_bytes())


def prepare_dags(dags_folder: Path, work: Path, real_kill: bool) -> Path:
    """A copy of the DAGs folder with the kill-policy DAG and (``real_kill``) the seed kill DAG added."""
    folder = work / "dags"
    shutil.copytree(dags_folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / f"{KILL_POLICY_DAG_ID}.py").write_text(
        KILL_POLICY_DAG.format(dag_id=KILL_POLICY_DAG_ID, pipeline_id=KILL_POLICY_PIPELINE)
    )
    if real_kill:
        prepare_kill_dag(folder, work)
    return folder


def prepare_kill_dag(folder: Path, work: Path) -> Path:
    """The seed kill DAG and its 200,000-user JSON Lines file, added to ``folder``."""
    source = work / "kill-users.jsonl"
    with source.open("w") as out:
        for i in range(1, KILL_USERS + 1):
            out.write(f'{{"customer_id": "k{i}", "ltv": {i}}}\n')
    text = KILL_DAG.format(dag_id=KILL_DAG_ID, path=str(source), concurrency=KILL_CONCURRENCY)
    (folder / f"{KILL_DAG_ID}.py").write_text(text)
    return folder


def real_kill(deployment: Deployment, deadline: float) -> int:
    """Run the kill DAG alone, SIGKILL its task process part-way, let Airflow retry; returns users resent."""
    control = EmulatorControl(deployment.emulator_url)
    control.configure(journal_bodies=False, journal_size=200_000)
    before = accepted_users(control)
    while KILL_DAG_ID not in deployment.dag_ids():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{KILL_DAG_ID} was not parsed")
        time.sleep(3)
    run_id = deployment.trigger(KILL_DAG_ID)
    log(f"triggered {KILL_DAG_ID}: {run_id}; killing its task process once a quarter of the users is in")
    while True:
        sent = accepted_users(control) - before
        if sent >= KILL_USERS // 4:
            break
        if sent >= KILL_USERS or time.monotonic() > deadline:
            raise RuntimeError(f"the seed was not caught part-way ({sent:,} users accepted)")
        time.sleep(0.2)
    pids = list(task_processes())
    if len(pids) != 1:
        raise RuntimeError(f"expected one running task process, found {pids}")
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.5)  # requests the emulator was answering land in the journal
    at_kill = accepted_users(control) - before
    log(f"SIGKILLed task process {pids[0]} after {at_kill:,} users were accepted; Airflow retries it")
    while True:
        state = deployment.run_state(KILL_DAG_ID, run_id)
        if state in ("success", "failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{KILL_DAG_ID} did not finish: {state}")
        time.sleep(3)
    if state != "success":
        raise RuntimeError(f"{KILL_DAG_ID} ended {state} after the kill")
    total = accepted_users(control) - before
    resent = total - KILL_USERS
    stored = {k for k in control.seeds("LTV") if k.startswith('identities:{"customer_id":"k')}
    if len(stored) != KILL_USERS:
        raise RuntimeError(f"{len(stored):,} of {KILL_USERS:,} users stored after the retry")
    attempts = sorted((deployment.work / "home" / "logs").glob(f"dag_id={KILL_DAG_ID}/**/*.log"))
    logs = "\n".join(p.read_text(errors="replace") for p in attempts)
    resumed = re.search(r"Resuming after row ([\d,]+)", logs)
    writes = re.search(r"([\d,]+) checkpoints stored, ([\d.]+) ms each", logs)
    details = {
        "users": KILL_USERS,
        "concurrency": KILL_CONCURRENCY,
        "accepted_before_kill": at_kill,
        "resumed_after_row": int(resumed.group(1).replace(",", "")) if resumed else None,
        "attempt_logs": len(attempts),
        "checkpoint_write_ms": float(writes.group(2)) if writes else None,
        "bound": RESEND_BOUND,
        "component": "Airflow 3.3 LocalExecutor task process, task_state_store via the supervisor and "
        "api-server on PostgreSQL",
    }
    log(f"real kill: {resent:,} users resent ({details})")
    record_reliability("users_resent_after_real_kill", resent, details)
    return resent


# --- the kill policy applied once when a deferred pipeline task is marked failed -------------------

KILL_POLICY_DAG_ID = "e2e_pipeline_kill_policy"
KILL_POLICY_PIPELINE = "kill-policy-pipeline"
KILL_POLICY_DAG = """
from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False, tags=["e2e"]):
    MParticleTriggerPipelineOperator(
        task_id="sync",
        pipeline_id={pipeline_id!r},
        deferrable=True,
        poll_interval=2,
        on_kill="pause_pipeline",
        retries=0,
    )
"""


def pipeline_puts(control: EmulatorControl) -> int:
    path = f"/inputs/data-pipelines/{KILL_POLICY_PIPELINE}"
    return sum(1 for e in control.journal(path=path, bodies=False) if e["method"] == "PUT")


def run_reads(control: EmulatorControl) -> int:
    """Reads of the kill-policy pipeline's runs: the trigger's polls (the operator defers without one)."""
    path = f"/inputs/data-pipelines/{KILL_POLICY_PIPELINE}/runs/"
    return sum(1 for e in control.journal(path=path, bodies=False) if e["method"] == "GET")


def kill_policy(deployment: Deployment, deadline: float) -> int:
    """Mark a deferred pipeline task failed through the API server; returns how many pauses were sent."""
    control = EmulatorControl(deployment.emulator_url)
    while KILL_POLICY_DAG_ID not in deployment.dag_ids():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{KILL_POLICY_DAG_ID} was not parsed")
        time.sleep(3)
    run_id = deployment.trigger(KILL_POLICY_DAG_ID)
    log(f"triggered {KILL_POLICY_DAG_ID}: {run_id}; marking its task failed once it is deferred")
    while True:
        state = deployment.task_states(KILL_POLICY_DAG_ID, run_id).get("sync")
        if state == "deferred":
            break
        if state in ("success", "failed") or time.monotonic() > deadline:
            raise RuntimeError(f"the pipeline task was not seen deferred ({state})")
        time.sleep(2)
    # Marked failed before the triggerer picked its trigger up, the task has no running trigger to kill,
    # and nothing pauses the pipeline (seen once the state was read within a second of the deferral).
    # The task process defers right after the trigger without reading the run: a read is the trigger's.
    reads = run_reads(control)
    while run_reads(control) == reads:
        if time.monotonic() > deadline:
            raise RuntimeError("the triggerer never polled the deferred pipeline task's run")
        time.sleep(0.5)
    path = f"/dags/{KILL_POLICY_DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/sync"
    deployment.api("PATCH", path, {"new_state": "failed"})
    log(
        "marked the deferred task failed through the API server while its trigger polled; waiting for on_kill"
    )
    with MParticleClient(client_settings(deployment.emulator_url)) as client:
        while not client.warehouse_sync.get_pipeline(KILL_POLICY_PIPELINE).is_paused:
            if time.monotonic() > deadline:
                raise RuntimeError("the pipeline was not paused after the task was marked failed")
            time.sleep(1)
    time.sleep(10)  # a second on_kill (another triggerer loop, a retry) would land here
    pauses = pipeline_puts(control)
    runs = [r for r in control.pipeline_runs() if r["pipeline_id"] == KILL_POLICY_PIPELINE]
    log(f"kill policy: {pauses} pause(s) sent; the run is still {runs[0]['status'] if runs else '?'}")
    return pauses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags-folder", default=str(ROOT / "example_dags"))
    parser.add_argument(
        "--dag",
        action="append",
        default=[],
        help="DAG_ID[:TASK_TO_RESTART_TRIGGERER_ON] (default: the example DAGs)",
    )
    parser.add_argument("--conf", action="append", default=[], help="DAG_ID=JSON run conf")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--no-real-kill", action="store_true", help="skip the SIGKILL of a seed's task process"
    )
    args = parser.parse_args()
    dags = dict(item.partition(":")[::2] for item in args.dag) or dict(DEFAULT_DAGS)
    confs = dict(item.split("=", 1) for item in args.conf)
    work = Path(tempfile.mkdtemp(prefix="mparticle-e2e-"))
    work.chmod(0o755)
    dags_folder = prepare_dags(Path(args.dags_folder), work, real_kill=not args.no_real_kill)
    deployment = Deployment(work, dags_folder)
    deadline = time.monotonic() + args.timeout

    def scenario() -> bool:
        start(deployment)
        log("waiting for the dag-processor to parse " + ", ".join(dags))
        deployment.wait_parsed(set(dags), deadline)
        runs: dict[str, str] = {}
        for dag_id in dags:
            runs[dag_id] = deployment.trigger(dag_id, json.loads(confs[dag_id]) if dag_id in confs else None)
            log(f"triggered {dag_id}: {runs[dag_id]}")
        restarted: set[str] = set()
        states: dict[str, str] = {}
        logged: dict[str, str] = {}  # the states last printed: a line only when one changes
        while True:
            # Waiting tasks first, and finished runs not at all: a short deferred window must not pass
            # while the loop reads runs that can no longer change.
            pending = sorted(runs, key=lambda d: (d in restarted or not dags[d], d))
            for dag_id in pending:
                run_id = runs[dag_id]
                if states.get(dag_id) in ("success", "failed"):
                    continue
                states[dag_id] = deployment.run_state(dag_id, run_id)
                task = dags[dag_id]
                if (
                    task
                    and dag_id not in restarted
                    and states[dag_id] == "running"
                    and deployment.task_states(dag_id, run_id).get(task) == "deferred"
                ):
                    log(
                        f"{dag_id}.{task} is deferred: killing the triggerer (SIGKILL) and starting a new one"
                    )
                    deployment.kill("triggerer")
                    time.sleep(2)
                    deployment.start_process("triggerer", [*AIRFLOW, "triggerer"])
                    restarted.add(dag_id)
            if states != logged:
                log("states: " + ", ".join(f"{d}={s}" for d, s in states.items()))
                logged = dict(states)
            if all(s in ("success", "failed") for s in states.values()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"DAG runs did not finish in {args.timeout} s: {states}")
            time.sleep(2)
        missing = {d for d, t in dags.items() if t and d not in restarted}
        ok = all(s == "success" for s in states.values()) and not missing
        if missing:
            log(f"the triggerer was never restarted during {missing}: the task was not seen deferred")
        log("RESULT: " + ("all DAG runs succeeded" if ok else f"FAILED {states}"))
        leaked = secret_in_logs(deployment)
        ok = ok and not leaked
        log(f"RESULT: the warehouse secret is in {len(leaked)} log file(s) {leaked or ''}")
        if not args.no_real_kill:
            resent = real_kill(deployment, deadline)
            ok = ok and resent <= RESEND_BOUND
            log(f"RESULT: {resent:,} users resent after a real SIGKILL (bound {RESEND_BOUND:,})")
        pauses = kill_policy(deployment, deadline)
        ok = ok and pauses == 1
        log(f"RESULT: kill policy 'pause_pipeline' applied {pauses} time(s) (expected once)")
        return ok

    return run_scenario(deployment, scenario)


if __name__ == "__main__":
    sys.exit(main())
