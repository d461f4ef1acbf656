"""Seeding benchmark: throughput, pacing under a rate limit, and memory, against the emulator.

The emulator runs in its own process (``python -m airflow_provider_mparticle.testing.emulator.server``)
with 20 ms of added latency per request, so the client's and the server's work do not share a GIL.

1. throughput: users/s of the bulk sender (8 threads, 100 users per request) against a naive loop that
   POSTs one user per request with ``requests`` (on one keep-alive session: a generous baseline);
2. rate limit: the emulator admits R users/s on the bulk path; the sustained rate (after the first
   three seconds, which the emulator's one second of burst would flatter), the share of 429 answers,
   and an exact check of what was stored: the emulator's order-independent digest of (user, CA, seed)
   against the same digest computed here from what was meant to be sent;
3. memory: a child process runs the operator on 1,000,000 and 2,000,000 rows of a SQLite table through
   ``common.sql``; its peak RSS growth over its RSS before the load, and the 1M-row seed's wall time
   (20 ms latency, no limit; ``python -m benchmarks.seeding memory`` runs this scenario alone).

4. seeding at scale (``benchmarks/seeding_scale.py``): mapped shards in separate processes sharing the
   limit, and the client's own CPU per user.

Writes ``benchmarks/results/seeding.json``. Targets: throughput >= 50x naive; >= 90% of R with <= 5%
429s and no user lost or changed; RSS growth <= 150 MB at 1M, 2M peak <= 1.2x the 1M peak; and those
of ``seeding_scale``.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import Any

RESULTS = pathlib.Path(__file__).parent / "results" / "seeding.json"
LATENCY_MS = 20
RATE_LIMIT = 5000  # users per second
RATE_USERS = 100_000
THROUGHPUT_USERS = 100_000
NAIVE_USERS = 200
MEMORY_ROWS = (1_000_000, 2_000_000)
CUTOFF = "2026-06-01"
DEFINITION = {
    "recipe_type": "event",
    "datapoint": {"type": "event", "event_name": "Purchase", "attribute_name": "Total Amount", "event_type": "commerce_event", "custom_event_type": "purchase"},
    "conditions": [],
    "calculation_type": "sum",
    "time_period": {"type": "since", "date": "2026-01-01T00:00:00", "within": None, "within_unit": None},
    "seeding": {"cutoff_date": f"{CUTOFF}T00:00:00"},
}  # fmt: skip
LTV = {"name": "LTV", "calculation_type": "sum", "cutoff_date": CUTOFF, "column": "ltv"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """The emulator in a separate process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_mparticle.testing.emulator.server", "--port", str(self.port), "--propagation-seconds", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import requests

        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url + "/_emulator/health", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("The emulator did not start.") from None
                time.sleep(0.1)
        from airflow_provider_mparticle.testing.emulator.control_client import EmulatorControl

        self.control = EmulatorControl(self.url)

    def fresh(self) -> None:
        """Reset, then: 20 ms latency, no bodies in the journal, the LTV definition created."""
        self.control.reset()
        self.control.configure(journal_bodies=False, journal_size=200_000)
        self.control.set_latency(LATENCY_MS)
        from airflow_provider_mparticle.client import MParticleClient

        with MParticleClient(self.settings()) as client:
            client.calculated_attributes.create("LTV", DEFINITION)

    def settings(self) -> Any:
        from airflow_provider_mparticle.client import ClientSettings, RetrySettings

        return ClientSettings(
            workspace_id="1",
            api_key="emulator-api-key",
            api_secret="emulator-api-secret",
            client_id="emulator-client-id",
            client_secret="emulator-client-secret",
            s2s_url=self.url,
            api_url=self.url,
            token_url=self.url + "/oauth/token",
            retry=RetrySettings(max_attempts=10, initial_backoff=0.2, max_backoff=5.0),
        )

    def connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "mparticle",
                "login": "emulator-api-key",
                "password": "emulator-api-secret",
                "extra": {
                    "workspace_id": "1",
                    "client_id": "emulator-client-id",
                    "client_secret": "emulator-client-secret",
                    "s2s_url": self.url,
                    "api_url": self.url,
                    "oauth_url": self.url + "/oauth/token",
                },
            }
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def user(i: int) -> dict[str, Any]:
    return {
        "environment": "production",
        "identities": {"customer_id": f"c{i}"},
        "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": CUTOFF, "seed": {"value": i * 0.5}}]},
    }  # fmt: skip


def chunks(n: int) -> Any:
    from airflow_provider_mparticle.client.seeding.bulk import PackingLimits, encode_user, pack

    limits = PackingLimits()
    return pack(((i, encode_user(user(i), i, limits)) for i in range(1, n + 1)), limits)


def expected_digest(n: int) -> str:
    from airflow_provider_mparticle.testing.emulator.seeding.models import seed_fingerprint, user_key

    total = 0
    for i in range(1, n + 1):
        u = user(i)
        total ^= seed_fingerprint(user_key(u), "LTV", u["calculated_attributes"]["workspace"][0]["seed"])
    return f"{total:032x}"


def naive(emulator: Emulator) -> float:
    import requests

    emulator.fresh()
    session = requests.Session()
    started = time.monotonic()
    for i in range(1, NAIVE_USERS + 1):
        answer = session.post(
            emulator.url + "/v2/calculatedattributes",
            json=user(i),
            auth=("emulator-api-key", "emulator-api-secret"),
        )
        answer.raise_for_status()
    return NAIVE_USERS / (time.monotonic() - started)


def engine(emulator: Emulator, users: int, samples: list[tuple[float, int]] | None = None) -> Any:
    from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder

    def sample(progress: Any) -> None:
        if samples is not None:
            samples.append((progress.elapsed, progress.users_sent))

    with BulkSeeder(emulator.settings(), concurrency=8, on_progress=sample, progress_interval=0.25) as seeder:
        return seeder.run(chunks(users))


def rate_limited(emulator: Emulator) -> dict[str, Any]:
    emulator.fresh()
    emulator.control.set_rate_limit(RATE_LIMIT, path="bulk")
    samples: list[tuple[float, int]] = []
    report = engine(emulator, RATE_USERS, samples)
    steady = [s for s in samples if s[0] >= 3.0]
    (t0, u0), (t1, u1) = steady[0], samples[-1]
    sustained = (u1 - u0) / (t1 - t0)
    statuses: dict[int, int] = {}
    for entry in emulator.control.journal(path="bulkcalculatedattributes", bodies=False):
        statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    requests_total = sum(statuses.values())
    digest = emulator.control.seeds_digest("LTV")
    return {
        "sustained_users_per_second": round(sustained),
        "throttled_rate_fraction": round(sustained / RATE_LIMIT, 3),
        "throttled_429_fraction": round(statuses.get(429, 0) / requests_total, 4),
        "requests": requests_total,
        "statuses": {str(k): v for k, v in statuses.items()},
        "users_lost": RATE_USERS - int(digest["users"]),
        "digest_matches": digest["digest"] == expected_digest(RATE_USERS) and digest["seeds"] == RATE_USERS,
        "duration_seconds": round(report.duration_seconds, 2),
    }


# --- memory: a child process runs the operator ------------------------------------------------------


def make_table(path: pathlib.Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("create table customers (id integer primary key, customer_id text, ltv real, tier text)")
        db.executemany(
            "insert into customers values (?, ?, ?, ?)",
            ((i, f"customer-{i:09d}", i * 0.25, "gold" if i % 3 else "silver") for i in range(1, rows + 1)),
        )


def child(rows: int) -> None:
    """Run in the child: the operator over ``rows`` rows; print a JSON line with RSS figures."""
    import resource

    import psutil

    from airflow_provider_mparticle.operators.calculated_attributes import (
        MParticleSeedCalculatedAttributesOperator,
    )

    op = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        sql_conn_id="bench_db",
        sql="select customer_id, ltv, tier from customers where id <= ?",
        parameters=[rows],
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        user_attributes={"Tier": "tier"},
        progress_interval=3600,
    )
    # Everything the load needs is imported before the baseline is taken.
    import airflow.providers.sqlite.hooks.sqlite  # noqa: F401

    import airflow_provider_mparticle.client.seeding.bulk
    import airflow_provider_mparticle.hooks.mparticle  # noqa: F401

    baseline = psutil.Process().memory_info().rss
    summary = op.execute({})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "rows": rows,
        "baseline_mb": baseline / 2**20,
        "peak_mb": peak / 2**20,
        "users_sent": summary["users_sent"],
    }
    out["growth_mb"] = out["peak_mb"] - out["baseline_mb"]
    out["duration_seconds"] = summary["duration_seconds"]
    print("RESULT " + json.dumps(out), flush=True)


def child_result(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m *args`` and return the JSON of its last ``RESULT`` line."""
    result = subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"child {' '.join(args)} failed: {result.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return out


def memory(emulator: Emulator, db: pathlib.Path, rows: int) -> dict[str, Any]:
    emulator.fresh()
    env = {
        **os.environ,
        "AIRFLOW_CONN_MPARTICLE_DEFAULT": emulator.connection_json(),
        "AIRFLOW_CONN_BENCH_DB": json.dumps({"conn_type": "sqlite", "host": str(db)}),
    }
    out = child_result(["benchmarks.seeding", "--child", str(rows)], env)
    out["stored_users"] = emulator.control.seeds_digest("LTV")["users"]
    return out


def memory_figures(mem: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The memory targets' figures and the 1M-row seed's wall time (details: both runs)."""
    one, two = mem[MEMORY_ROWS[0]], mem[MEMORY_ROWS[1]]
    return {
        "rss_growth_mb_1m": round(one["growth_mb"], 1),
        "rss_ratio_2m_vs_1m": round(two["peak_mb"] / one["peak_mb"], 3),
        "seed_1m_wall_seconds": round(one["duration_seconds"], 1),
    }


def memory_all(emulator: Emulator) -> dict[int, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "customers.db"
        make_table(db, max(MEMORY_ROWS))
        mem = {rows: memory(emulator, db, rows) for rows in MEMORY_ROWS}
    for rows, figures in mem.items():
        print(f"  memory {rows:,} rows: {figures}")
    return mem


MEMORY_TARGETS = {"rss_growth_mb_1m": ("<=", 150), "rss_ratio_2m_vs_1m": ("<=", 1.2)}


def memory_only() -> bool:
    """``python -m benchmarks.seeding memory``: the memory scenario alone; the other keys are kept."""
    emulator = Emulator()
    try:
        mem = memory_all(emulator)
    finally:
        emulator.stop()
    figures = memory_figures(mem)
    ok = True
    for name, (_, target) in MEMORY_TARGETS.items():
        ok &= figures[name] <= target
        print(
            f"  {name:<28}{figures[name]:>12}  <= {target:<5} {'PASS' if figures[name] <= target else 'FAIL'}"
        )
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    details = {**previous.get("details", {}), "memory": {str(k): v for k, v in mem.items()}}
    RESULTS.write_text(json.dumps({**previous, **figures, "details": details}, indent=2) + "\n")
    print(f"\n  written to {RESULTS}")
    return ok


def main() -> bool:
    from benchmarks import seeding_scale

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    emulator = Emulator()
    try:
        print(f"Seeding benchmark: emulator in its own process, {LATENCY_MS} ms latency per request")
        naive_rate = naive(emulator)
        emulator.fresh()
        report = engine(emulator, THROUGHPUT_USERS)
        engine_rate = report.users_sent / report.duration_seconds
        print(f"  naive: {naive_rate:,.0f} users/s; bulk engine: {engine_rate:,.0f} users/s")
        limited = rate_limited(emulator)
        print(f"  rate limited to {RATE_LIMIT:,} users/s: {limited}")
        mem = memory_all(emulator)
        scale = seeding_scale.run(emulator)
    finally:
        emulator.stop()
    results = {
        "throughput_ratio_vs_naive": round(engine_rate / naive_rate, 1),
        "throttled_rate_fraction": limited["throttled_rate_fraction"],
        "throttled_429_fraction": limited["throttled_429_fraction"],
        "users_lost": limited["users_lost"]
        + (0 if limited["digest_matches"] else 1) * max(1, limited["users_lost"]),
        **memory_figures(mem),
        "details": {
            "latency_ms": LATENCY_MS,
            "naive_users_per_second": round(naive_rate),
            "engine_users_per_second": round(engine_rate),
            "engine_users": THROUGHPUT_USERS,
            "rate_limit_users_per_second": RATE_LIMIT,
            "rate_limited": limited,
            "memory": {str(k): v for k, v in mem.items()},
        },
    }
    targets = {
        "throughput_ratio_vs_naive": (results["throughput_ratio_vs_naive"], ">=", 50),
        "throttled_rate_fraction": (results["throttled_rate_fraction"], ">=", 0.9),
        "throttled_429_fraction": (results["throttled_429_fraction"], "<=", 0.05),
        "users_lost": (results["users_lost"], "<=", 0),
        **{name: (results[name], op, target) for name, (op, target) in MEMORY_TARGETS.items()},
    }
    ok = True
    print(f"\n  {'metric':<28}{'value':>12}  target   result")
    for name, (value, op, target) in targets.items():
        passed = value >= target if op == ">=" else value <= target
        ok &= passed
        print(f"  {name:<28}{value:>12}  {op} {target:<5} {'PASS' if passed else 'FAIL'}")
    ok &= seeding_scale.check(scale)
    RESULTS.write_text(json.dumps(seeding_scale.merge(results, scale), indent=2) + "\n")
    print(f"\n  written to {RESULTS}")
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    elif sys.argv[1:] == ["memory"]:
        sys.exit(0 if memory_only() else 1)
    else:
        sys.exit(0 if main() else 1)
