"""A real process kill (SIGKILL) part-way through a seed and through a pipeline wait; the rerun resumes.

The killed process is a child process running the operator's ``execute`` on a file-backed stand-in for
``task_state_store`` (``tests/reliability/child.py``), not Airflow's task runner: the figures measure the
operators' recovery logic, not Airflow's own persistence of the task state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.operators.calculated_attributes import SEED_CHECKPOINT_KEY
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator
from airflow_provider_mparticle.testing.emulator.seeding.models import seed_fingerprint
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.reliability.child import FileStore
from tests.reliability.conftest import ROOT

pytestmark = pytest.mark.reliability

USERS = 200_000
CONCURRENCY = 8
MAX_USERS = 100  # per bulk request (the default)
CHECKPOINT_INTERVAL = 0  # the default: checkpoints written back to back
LATENCY_MS = 50  # about 16,000 users/s with 8 requests in flight: the kill lands mid-way
BULK = "bulkcalculatedattributes"


def start(emulator, *args):
    env = {**os.environ, "AIRFLOW_CONN_MPARTICLE_DEFAULT": emulator.connection_json()}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.child", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("RESULT "))[7:])


def kill(process):
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return time.time()


def accepted(control):
    return [e for e in control.journal(path=BULK, bodies=False) if e["status"] == 202]


def test_seed_killed_mid_way_resumes_and_resends_within_the_bound(fresh_remote, tmp_path, figures):
    control = fresh_remote.control
    control.set_latency(LATENCY_MS)
    store_path = tmp_path / "state.json"
    store = FileStore(str(store_path))
    child = start(fresh_remote, "seed", store_path, USERS, CONCURRENCY, CHECKPOINT_INTERVAL)
    deadline = time.monotonic() + 120
    while (store.get(SEED_CHECKPOINT_KEY) or {}).get("last_row", 0) < USERS // 3:
        assert child.poll() is None, child.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint reached a third of the load"
        time.sleep(0.02)
    kill(child)
    time.sleep(0.3)  # requests the server was still answering land in the journal
    first = accepted(control)
    checkpoint = store.get(SEED_CHECKPOINT_KEY)
    first_users = sum(e["units"] for e in first)
    assert 0 < checkpoint["last_row"] < first_users < USERS

    # The retry: same store, same source.
    summary = result(start(fresh_remote, "seed", store_path, USERS, CONCURRENCY, CHECKPOINT_INTERVAL))
    assert summary["resumed_after_row"] == checkpoint["last_row"]
    assert summary["users_sent"] == USERS - checkpoint["last_row"]
    assert store.get(SEED_CHECKPOINT_KEY) is None  # deleted on success

    digest = control.seeds_digest("LTV")
    expected = 0
    for i in range(1, USERS + 1):
        expected ^= seed_fingerprint(f'identities:{{"customer_id":"c{i}"}}', "LTV", {"value": i * 0.5})
    assert digest["users"] == USERS
    assert digest["digest"] == f"{expected:032x}"

    total_users = sum(e["units"] for e in accepted(control))
    resent = total_users - USERS
    assert resent == first_users - checkpoint["last_row"]
    # The documented bound: a request keeps its sending slot until a stored checkpoint covers it, so
    # at most 2 x concurrency requests were accepted past the stored checkpoint when the kill landed.
    bound = 2 * CONCURRENCY * MAX_USERS
    print(
        f"\ncrash: killed after {first_users:,} users were accepted; checkpoint at row "
        f"{checkpoint['last_row']:,}; resent after the kill: {resent:,} users (bound {bound:,} = "
        f"2 x {CONCURRENCY} requests x {MAX_USERS})"
    )
    figures.record(
        "users_resent_after_kill",
        resent,
        users=USERS,
        accepted_before_kill=first_users,
        checkpoint_row=checkpoint["last_row"],
        bound=bound,
    )
    assert resent <= bound


def test_pipeline_wait_killed_reattaches_without_a_second_trigger(remote_emulator, tmp_path, figures):
    control = remote_emulator.control
    control.reset()
    with MParticleClient(remote_emulator.settings()) as client:
        create_pipeline(client, "held-pipeline")
    control.plan_pipeline_runs("held-pipeline", hold=True, successful_records=7)
    store_path = tmp_path / "state.json"
    store = FileStore(str(store_path))
    child = start(remote_emulator, "pipeline", store_path, "held-pipeline")
    deadline = time.monotonic() + 60
    key = MParticleTriggerPipelineOperator.external_id_key
    while store.get(key) is None or len(control.pipeline_triggers("held-pipeline")) < 1:
        assert child.poll() is None, child.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # it is polling the held run now
    assert child.poll() is None
    kill(child)
    run_id = store.get(key)

    second = start(remote_emulator, "pipeline", store_path, "held-pipeline")
    time.sleep(1.0)  # the retry reattaches and waits on the same held run
    assert second.poll() is None
    control.release_pipeline_run(int(run_id))
    outcome = result(second, timeout=60)
    triggers = len(control.pipeline_triggers("held-pipeline"))
    print(f"\npipeline: killed while waiting on run {run_id}; triggers after the retry: {triggers}")
    figures.record("duplicate_pipeline_triggers", triggers - 1, run_id=run_id)
    assert outcome["run_id"] == int(run_id)
    assert outcome["status"] == "success"
    assert outcome["successful_records"] == 7
    assert triggers == 1


def test_pipeline_trigger_killed_before_its_answer_adopts_the_run(remote_emulator, tmp_path, figures):
    """SIGKILL while the emulator holds the trigger's answer: the run exists, the child never learns its id.

    The run then finishes before the retry; the retry finds the intent stored before the POST, finds the
    run started from then on and returns its result instead of triggering a second run.
    """
    control = remote_emulator.control
    control.reset()
    with MParticleClient(remote_emulator.settings()) as client:
        create_pipeline(client, "crash-window")
    control.plan_pipeline_runs("crash-window", answer_delay=120, successful_records=5)
    store_path = tmp_path / "state.json"
    store = FileStore(str(store_path))
    child = start(remote_emulator, "pipeline", store_path, "crash-window")
    deadline = time.monotonic() + 60
    intent_key = MParticleTriggerPipelineOperator.intent_key
    while not control.pipeline_runs():
        assert child.poll() is None, child.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the trigger never reached the emulator"
        time.sleep(0.02)
    kill(child)
    intent = store.get(intent_key)
    assert intent["pipeline_id"] == "crash-window"
    assert intent["run_id"] is None
    assert store.get(MParticleTriggerPipelineOperator.external_id_key) is None  # the crash window
    control.release_trigger_answers()  # to nobody: the child is gone
    control.plan_pipeline_runs("crash-window", successful_records=5)  # a second trigger would answer at once
    [finished] = [control.release_pipeline_run(r["id"]) for r in control.pipeline_runs()]
    assert finished["status"] == "success"  # the run ended before the retry

    outcome = result(start(remote_emulator, "pipeline", store_path, "crash-window"), timeout=60)
    triggers = len(control.pipeline_triggers("crash-window"))
    print(
        f"\npipeline: killed before the trigger's answer (run {finished['id']}); triggers after the retry: {triggers}"
    )
    figures.record(
        "duplicate_pipeline_triggers_crash_window",
        triggers - 1,
        run_id=finished["id"],
        component="MParticleTriggerPipelineOperator in a child process with a file-backed task_state_store",
    )
    assert outcome["run_id"] == finished["id"]
    assert outcome["status"] == "success"
    assert outcome["successful_records"] == 5
    assert store.get(intent_key)["run_id"] == finished["id"]
    assert triggers == 1


REORDER_USERS = 5_000


class _FailAfter(FileStore):
    """A store that makes every bulk request fail once the checkpoint passed a row: a crash part-way."""

    def __init__(self, path, control, at_row):
        super().__init__(path)
        self.control, self.at_row, self.faulted = control, at_row, False

    def set(self, key, value, **kw):
        super().set(key, value, **kw)
        if value["last_row"] >= self.at_row and not self.faulted:
            self.faulted = True
            self.control.add_fault(path=BULK, status=500)


def _shuffled_sources(tmp_path, monkeypatch):
    """(name, first source kwargs, reorder()) per kind: reorder() shuffles the rows the source returns."""
    import random
    import sqlite3

    data = [{"customer_id": f"c{i}", "ltv": i * 0.5} for i in range(1, REORDER_USERS + 1)]
    shuffled = random.Random(7).sample(data, len(data))

    db = tmp_path / "users.db"

    def fill(rows):
        with sqlite3.connect(db) as c:
            c.execute("drop table if exists users")
            c.execute("create table users (customer_id text, ltv real)")
            c.executemany("insert into users values (:customer_id, :ltv)", rows)

    fill(data)
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))

    path = tmp_path / "users.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data))

    def replace_file():
        stat = path.stat()
        path.write_text("".join(json.dumps(r) + "\n" for r in shuffled))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even size and time unchanged

    rows_now = list(data)

    def other_list():
        rows_now[:] = shuffled

    return [
        # A table rewritten in another physical order: what a query without ORDER BY may return.
        (
            "sql_without_order_by",
            {"sql": "SELECT customer_id, ltv FROM users", "sql_conn_id": "seed_db"},
            lambda: fill(shuffled),
        ),
        ("replaced_file", {"path": str(path)}, replace_file),
        ("list_of_the_same_length", {"rows": rows_now}, other_list),
    ]


def test_resume_after_the_rows_are_shuffled_skips_no_user(fresh_remote, tmp_path, monkeypatch, figures):
    from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
    from benchmarks.seeding import LTV

    control = fresh_remote.control
    connection = json.loads(fresh_remote.connection_json())
    connection["extra"]["max_attempts"] = 1  # the injected 500s end the first attempt at once
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(connection))
    skipped_total = 0
    details = {}
    for name, source, reorder in _shuffled_sources(tmp_path, monkeypatch):
        store = _FailAfter(str(tmp_path / f"{name}.json"), control, REORDER_USERS // 3)

        def attempt(source=source, store=store):
            return MParticleSeedCalculatedAttributesOperator(
                task_id="seed",
                calculated_attributes=[LTV],
                identities={"customer_id": "customer_id"},
                preflight=False,
                concurrency=4,
                checkpoint_interval=0,
                progress_interval=3600,
                **source,
            ).execute({"task_state_store": store})

        control.clear_faults()
        with pytest.raises(Exception, match="500"):
            attempt()
        checkpoint_row = store.get(SEED_CHECKPOINT_KEY)["last_row"]
        assert checkpoint_row >= REORDER_USERS // 3
        reorder()
        control.clear_faults()
        before = len(control.journal(path=BULK, bodies=False))
        control.configure(journal_bodies=True)
        summary = attempt()
        control.configure(journal_bodies=False)
        sent = {
            u["identities"]["customer_id"]
            for e in control.journal(path=BULK)[before:]
            if e["status"] == 202
            for u in e["body"]
        }
        skipped = REORDER_USERS - len(sent)
        skipped_total += skipped
        details[name] = {"checkpoint_row": checkpoint_row, "skipped": skipped, "resumed_after_row": summary["resumed_after_row"]}  # fmt: skip
        print(f"\n{name}: checkpoint at row {checkpoint_row:,}; after the shuffle {len(sent):,} users sent, {skipped} skipped")  # fmt: skip
    figures.record("users_skipped_after_reorder", skipped_total, users_per_source=REORDER_USERS, **details)
    assert skipped_total == 0
