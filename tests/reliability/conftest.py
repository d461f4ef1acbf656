"""The reliability suite: shared fixtures, and the figures it writes to ``benchmarks/results/reliability.json``.

Each test records its figure with the ``figures`` fixture; at the end of the session the figures measured
in this run are merged into the JSON file (so running one module updates only its keys) and printed as a
table. The emulator runs in a separate process (as in ``benchmarks/seeding.py``) so that the load's
client and server do not share a GIL, and so that a child process can be killed while the server lives on.
"""

from __future__ import annotations

import fcntl
import json
import pathlib
import time
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "reliability.json"
KEYS = (
    "users_lost",
    "users_resent_after_kill",
    "duplicate_pipeline_triggers",
    "duplicate_pipeline_triggers_crash_window",
    "hypothesis_cases",
    "secrets_found",
    "users_skipped_after_reorder",
    "users_resent_after_real_kill",
    "wrong_answer_cases",
    "wrong_answers_reported_success",
    "test_connection_worst_seconds",
    "users_sent_by_orphan",
)

#: Figures measured in this session: key -> value; ``details`` -> key -> dict of supporting figures.
FIGURES: dict[str, Any] = {}
DETAILS: dict[str, dict[str, Any]] = {}


class Figures:
    """What a test measured: ``figures.record("users_lost", 0, requests=..., retries=...)``; sums add up."""

    def record(self, key: str, value: float, **details: Any) -> None:
        assert key in KEYS, key
        FIGURES[key] = value
        if details:
            DETAILS.setdefault(key, {}).update(details)

    def add(self, key: str, value: int, **details: Any) -> None:
        FIGURES[key] = FIGURES.get(key, 0) + value
        for name, detail in details.items():
            DETAILS.setdefault(key, {})[name] = DETAILS.get(key, {}).get(name, 0) + detail


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not FIGURES:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # `make reliability` runs two sessions at once: one read-merge-write at a time, so neither loses the
    # other's figures.
    with (RESULTS.parent / ".reliability.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            previous = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            previous = {}
        # Keys written by other runs (make e2e, other suites) stay; this run's figures replace theirs.
        results = {**{k: v for k, v in previous.items() if k not in ("details", "measured_at")}, **FIGURES}
        results["details"] = {**previous.get("details", {}), **DETAILS}
        results["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures")
    write(f"{'figure':<30}{'value':>10}  details")
    for key in KEYS:
        if key in FIGURES:
            extra = ", ".join(f"{k}={v}" for k, v in DETAILS.get(key, {}).items())
            write(f"{key:<30}{FIGURES[key]:>10}  {extra}")
    write(f"written to {RESULTS.relative_to(ROOT)}")


# --- the emulator in its own process ---------------------------------------------------------------


@pytest.fixture(scope="session")
def remote_emulator() -> Any:
    """The emulator in a separate process (``benchmarks.seeding.Emulator``); stopped at the end."""
    from benchmarks.seeding import Emulator

    emulator = Emulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def fresh_remote(remote_emulator: Any) -> Any:
    """The remote emulator reset: no latency, no journal bodies, the LTV definition created."""
    from airflow_provider_mparticle.client import MParticleClient
    from benchmarks.seeding import DEFINITION

    remote_emulator.control.reset()
    remote_emulator.control.configure(journal_bodies=False, journal_size=100_000)
    with MParticleClient(remote_emulator.settings()) as client:
        client.calculated_attributes.create("LTV", DEFINITION)
    return remote_emulator
