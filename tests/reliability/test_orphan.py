"""A real orphan: the parent of a seeding process is SIGKILLed mid-load; the orphan stops sending at once.

The process tree is real: this test starts a parent Python process, which starts the seed operator in a
child (``tests/reliability/child.py``, over HTTP to the emulator in its own process, 50 ms per request)
and waits for it, as Airflow's task supervisor waits for its task process. The parent is SIGKILLed while
the child sends; the child is re-parented by the kernel, sees its parent pid change before its next
request and exits. The checkpoint store (a file) keeps working, so only the parent watch stops the
orphan: without it the orphan would send the rest of the load. The child is not Airflow's task runner
(that needs an API server and a worker; a distributed e2e that kills real Celery workers is still to come).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from airflow_provider_mparticle.operators.calculated_attributes import SEED_CHECKPOINT_KEY
from tests.reliability.child import FileStore
from tests.reliability.conftest import ROOT

pytestmark = pytest.mark.reliability

USERS = 60_000
CONCURRENCY = 8
MAX_USERS = 100  # per bulk request (the default)
LATENCY_MS = 50
BULK = "bulkcalculatedattributes"

PARENT = """
import subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
print(child.pid, flush=True)
child.wait()
"""


def accepted_users(control, received_after=None):
    """Users in accepted bulk requests; with ``received_after`` (wall time), those the emulator received
    after it (the emulator stamps each request when it arrives, before its latency)."""
    return sum(
        e["units"]
        for e in control.journal(path=BULK, bodies=False)
        if e["status"] == 202 and (received_after is None or e["time"] >= received_after)
    )


def running(pid):
    """Whether the process runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_an_orphaned_seed_stops_within_the_requests_in_flight(fresh_remote, tmp_path, figures):
    control = fresh_remote.control
    control.set_latency(LATENCY_MS)
    store_path, log_path = tmp_path / "state.json", tmp_path / "child.log"
    store = FileStore(str(store_path))
    env = {**os.environ, "AIRFLOW_CONN_MPARTICLE_DEFAULT": fresh_remote.connection_json()}
    command = [sys.executable, "-m", "tests.reliability.child", "seed", store_path, USERS, CONCURRENCY, 0]
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, log_path, *map(str, command)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 120
    while (store.get(SEED_CHECKPOINT_KEY) or {}).get("last_row", 0) < USERS // 4:
        assert parent.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint reached a quarter of the load"
        time.sleep(0.01)
    at_kill = accepted_users(control)
    killed_at = time.time()
    parent.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    parent.wait(timeout=30)
    while running(child):
        assert time.monotonic() - killed < 30, "the orphan is still running 30 s after its parent was killed"
        time.sleep(0.01)
    exited_after = time.monotonic() - killed
    time.sleep(0.3)  # requests the server was still answering land in the journal
    # Sent after the kill: the requests the emulator received after it (those in flight at the kill
    # were received before it). The sample taken just before the kill also counts the requests that
    # completed between the sample and the kill: reported, bounded by twice the slots.
    after_kill = accepted_users(control, received_after=killed_at)
    after_sample = accepted_users(control) - at_kill
    log = log_path.read_text()
    checkpoint = store.get(SEED_CHECKPOINT_KEY)
    bound = CONCURRENCY * MAX_USERS
    figures.record(
        "users_sent_by_orphan",
        after_kill,
        bound=bound,
        orphan_exit_seconds=round(exited_after, 2),
        users_at_kill=at_kill,
        users_after_the_last_sample_before_the_kill=after_sample,
        process="a child of a SIGKILLed parent process (not Airflow's task runner)",
        command="make reliability (tests/reliability/test_orphan.py)",
    )
    assert f"Stopped sending: the supervising process (pid {parent.pid}) is gone" in log, log[-3000:]
    assert after_kill <= bound, f"{after_kill} users sent after the kill (bound {bound})"
    assert after_sample <= 2 * bound, (
        f"{after_sample} users accepted after the last sample (bound {2 * bound})"
    )
    assert at_kill < USERS // 2  # the load was far from done: only the watch stopped it
    # Nothing was sent past the last stored checkpoint but the requests in flight.
    assert accepted_users(control) - checkpoint["users_sent"] <= 2 * CONCURRENCY * MAX_USERS
    assert exited_after < 5
