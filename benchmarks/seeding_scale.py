"""Seeding at scale: mapped shards of one seed sharing one workspace limit, and the client's own CPU.

1. shards: N = 1, 2, 4, 8, 16 shards, each a separate process running the bulk seeder with its defaults
   (8 threads, the default pacer, the default retry settings) on 25,000 users of its own, against one
   emulator in its own process limiting the bulk path to 5,000 users/s with 20 ms of latency. The
   shards load everything first, then start together. Per N: the share of the limit sustained together
   (users accepted per second by the emulator after the first two seconds, over the limit), the share
   of requests answered 429, the slowest shard's duration over the fastest's, and the users lost (the
   emulator's order-independent digest of what was stored against the one computed here). The same at
   N = 8 without the ``X-mp-rate-limit-percentage-used`` header (a proxy that strips it).
2. client CPU: a child process seeds 50,000 prepared users at zero latency and no limit; its CPU time
   (every thread) per user, next to the CPU time of encoding the same users in the same process with
   stdlib ``json.dumps`` (the floor of issue 26's goal: <= 1.0x) and with the client's own encoder, each
   after a ``gc.collect()`` (the prepared users must not weigh on whichever phase first allocates).

``python -m benchmarks.seeding_scale`` runs both and updates their keys in ``results/seeding.json``
(``python -m benchmarks.seeding_scale cpu``: the client CPU only);
``python -m benchmarks.seeding`` (``make bench``) runs them with the rest. Targets: >= 90% of the limit
with <= 5% 429s, slowest / fastest <= 1.5 and nothing lost for every N; >= 75% with <= 10% 429s at N = 8
without the header.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.seeding import LATENCY_MS, RATE_LIMIT, RESULTS, Emulator, child_result, user

SHARD_COUNTS = (1, 2, 4, 8, 16)
SHARD_USERS = 25_000
NO_HEADER_SHARDS = 8
WARM_UP_SECONDS = 2.0
CPU_USERS = 50_000
CPU_ROUNDS = 5
CPU_FIGURES = ("client_cpu_us_per_user", "json_dumps_cpu_us_per_user", "json_encode_cpu_us_per_user")


# --- in a shard's process ---------------------------------------------------------------------------


def shard_child(url: str, index: int, users: int) -> None:
    """Load this shard's users, say READY, wait for GO on stdin, seed with the defaults, print RESULT."""
    from airflow_provider_mparticle.client import ClientSettings
    from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder, PackingLimits, encode_user, pack

    settings = ClientSettings(
        workspace_id="1",
        api_key="emulator-api-key",
        api_secret="emulator-api-secret",
        s2s_url=url,
        api_url=url,
        token_url=url + "/oauth/token",
    )
    limits = PackingLimits()
    first = index * users + 1
    chunks = list(pack(((i, encode_user(user(i), i, limits)) for i in range(first, first + users)), limits))
    print("READY", flush=True)
    sys.stdin.readline()
    started = time.time()
    with BulkSeeder(settings) as seeder:
        report = seeder.run(chunks)
    ended = time.time()
    out = {"index": index, "start": started, "end": ended, **report.as_dict(), "pauses": seeder.pacer.pauses}
    print("RESULT " + json.dumps(out), flush=True)


# --- the parent -------------------------------------------------------------------------------------


def expected_digest(first: int, last: int) -> str:
    from airflow_provider_mparticle.testing.emulator.seeding.models import seed_fingerprint, user_key

    total = 0
    for i in range(first, last + 1):
        u = user(i)
        total ^= seed_fingerprint(user_key(u), "LTV", u["calculated_attributes"]["workspace"][0]["seed"])
    return f"{total:032x}"


def shards_run(emulator: Emulator, shards: int, header: bool = True) -> dict[str, Any]:
    """One run of ``shards`` processes; their figures and the emulator's."""
    emulator.fresh()
    emulator.control.set_rate_limit(RATE_LIMIT, path="bulk", percentage_header=header)
    command = [sys.executable, "-m", "benchmarks.seeding_scale", "--shard", emulator.url]
    children = [
        subprocess.Popen(
            [*command, str(i), str(SHARD_USERS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for i in range(shards)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "READY":
                raise RuntimeError("a shard did not start")
        for child in children:  # all at once, as mapped tasks that start together
            assert child.stdin is not None
            child.stdin.write("GO\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=900)
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            if child.returncode != 0 or not lines:
                raise RuntimeError(f"a shard failed (exit {child.returncode})")
            results.append(json.loads(lines[-1][len("RESULT ") :]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    entries = emulator.control.journal(path="bulkcalculatedattributes", bodies=False)
    statuses: dict[int, int] = {}
    steady_users = 0
    for entry in entries:
        statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
        if entry["status"] == 202 and entry["time"] >= start + WARM_UP_SECONDS:
            steady_users += entry["units"]
    total = shards * SHARD_USERS
    digest = emulator.control.seeds_digest("LTV")
    lost = total - int(digest["users"])
    if digest["digest"] != expected_digest(1, total) or digest["seeds"] != total:
        lost = max(lost, 1)  # something stored differs from what was sent
    durations = [r["end"] - r["start"] for r in results]
    requests_total = sum(statuses.values())
    return {
        "shards": shards,
        "header": header,
        "rate_fraction": round(steady_users / (end - start - WARM_UP_SECONDS) / RATE_LIMIT, 3),
        "overall_rate_fraction": round(total / (end - start) / RATE_LIMIT, 3),
        "429_fraction": round(statuses.get(429, 0) / requests_total, 4),
        "spread": round(max(durations) / min(durations), 2),
        "users_lost": lost,
        "seconds": round(end - start, 1),
        "fastest_seconds": round(min(durations), 1),
        "slowest_seconds": round(max(durations), 1),
        "requests": requests_total,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "pauses": sum(r["pauses"] for r in results),
    }


def shards(emulator: Emulator) -> dict[str, Any]:
    runs = []
    for count in SHARD_COUNTS:
        runs.append(shards_run(emulator, count))
        print(f"  shards {count:>2}: {runs[-1]}")
    no_header = shards_run(emulator, NO_HEADER_SHARDS, header=False)
    print(f"  shards {NO_HEADER_SHARDS:>2} without the usage header: {no_header}")
    return {
        "shards_min_rate_fraction": min(r["rate_fraction"] for r in runs),
        "shards_max_429_fraction": max(r["429_fraction"] for r in runs),
        "shards_max_spread": max(r["spread"] for r in runs),
        "shards_users_lost": sum(r["users_lost"] for r in runs) + no_header["users_lost"],
        "shards_no_header_rate_fraction": no_header["rate_fraction"],
        "shards_no_header_429_fraction": no_header["429_fraction"],
        "details": {
            "shards": {
                "users_per_shard": SHARD_USERS,
                "limit_users_per_second": RATE_LIMIT,
                "latency_ms": LATENCY_MS,
                "warm_up_seconds": WARM_UP_SECONDS,
                "runs": runs,
                "no_header": no_header,
            }
        },
    }


# --- client CPU -------------------------------------------------------------------------------------


def cpu_child(url: str, users: int) -> None:
    """Seed ``users`` prepared users; print the process CPU per user for the load and for JSON alone."""
    from airflow_provider_mparticle.client import ClientSettings
    from airflow_provider_mparticle.client.core.messages import encode_json
    from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder, PackingLimits, encode_user, pack

    settings = ClientSettings(
        workspace_id="1", api_key="emulator-api-key", api_secret="emulator-api-secret", s2s_url=url
    )
    prepared = [user(i) for i in range(1, users + 1)]
    limits = PackingLimits()
    # Every figure starts with the prepared users collected into the oldest generation: otherwise the
    # first phase that allocates containers (the load; json.dumps allocates none) pays for walking them.
    gc.collect()
    started = time.process_time()
    for u in prepared:
        json.dumps(u)
    dumps_cpu = time.process_time() - started
    gc.collect()
    started = time.process_time()
    for u in prepared:
        encode_json(u)
    encode_cpu = time.process_time() - started
    with BulkSeeder(settings) as seeder:
        gc.collect()
        started = time.process_time()
        report = seeder.run(pack(((i, encode_user(u, i, limits)) for i, u in enumerate(prepared, 1)), limits))
        load_cpu = time.process_time() - started
    out = {
        "users": report.users_sent,
        "client_cpu_us_per_user": round(load_cpu / users * 1e6, 2),
        "json_dumps_cpu_us_per_user": round(dumps_cpu / users * 1e6, 2),
        "json_encode_cpu_us_per_user": round(encode_cpu / users * 1e6, 2),
        "requests": report.http_requests,
    }
    print("RESULT " + json.dumps(out), flush=True)


def client_cpu(emulator: Emulator) -> dict[str, Any]:
    """The median of ``CPU_ROUNDS`` children (each figure's own median; the machine may be shared)."""
    runs = []
    for _ in range(CPU_ROUNDS):
        emulator.fresh()
        emulator.control.set_latency(0)
        runs.append(child_result(["benchmarks.seeding_scale", "--cpu", emulator.url, str(CPU_USERS)]))
    out: dict[str, Any] = {name: statistics.median(run[name] for run in runs) for name in CPU_FIGURES}
    out["users"] = CPU_USERS
    out["ratio_to_json_dumps"] = round(out["client_cpu_us_per_user"] / out["json_dumps_cpu_us_per_user"], 2)
    out["ratio_to_json_encode"] = round(out["client_cpu_us_per_user"] / out["json_encode_cpu_us_per_user"], 2)
    out["runs"] = runs
    print(f"  client CPU at zero latency (median of {CPU_ROUNDS}): {out}")
    return out


# --- results ----------------------------------------------------------------------------------------

TARGETS = {
    "shards_min_rate_fraction": (">=", 0.9),
    "shards_max_429_fraction": ("<=", 0.05),
    "shards_max_spread": ("<=", 1.5),
    "shards_users_lost": ("<=", 0),
    "shards_no_header_rate_fraction": (">=", 0.75),
    "shards_no_header_429_fraction": ("<=", 0.1),
    # The bulk sender's CPU per user, against stdlib json.dumps of the same users in the same child.
    "client_cpu_ratio_to_json_dumps": ("<=", 1.0),
}


def run(emulator: Emulator) -> dict[str, Any]:
    """Both scenarios on a running emulator: the top-level keys, with their details under ``details``."""
    results = shards(emulator)
    cpu = client_cpu(emulator)
    results.update(cpu_keys(cpu))
    results["details"]["client_cpu"] = cpu
    return results


def cpu_keys(cpu: dict[str, Any]) -> dict[str, Any]:
    """The client-CPU figures that go to the top level of the results."""
    return {
        **{name: cpu[name] for name in CPU_FIGURES},
        "client_cpu_ratio_to_json_dumps": cpu["ratio_to_json_dumps"],
    }


def check(results: dict[str, Any]) -> bool:
    ok = True
    for name, (op, target) in TARGETS.items():
        value = results[name]
        passed = value >= target if op == ">=" else value <= target
        ok &= passed
        print(f"  {name:<32}{value:>10}  {op} {target:<5} {'PASS' if passed else 'FAIL'}")
    return ok


def merge(previous: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """``previous`` with this scenario's keys replaced (details merged one level down)."""
    merged = {**previous, **{k: v for k, v in results.items() if k != "details"}}
    merged["details"] = {**previous.get("details", {}), **results.get("details", {})}
    return merged


def main(only_cpu: bool = False) -> bool:
    """Only this scenario (``cpu``: only the client CPU); the other keys of ``results/seeding.json`` are kept."""
    emulator = Emulator()
    try:
        if only_cpu:
            cpu = client_cpu(emulator)
            results: dict[str, Any] = {**cpu_keys(cpu), "details": {"client_cpu": cpu}}
        else:
            print(
                f"Seeding at scale: emulator in its own process, {LATENCY_MS} ms latency, "
                f"{RATE_LIMIT:,} users/s"
            )
            results = run(emulator)
    finally:
        emulator.stop()
    ok = only_cpu or check(results)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps(merge(previous, results), indent=2) + "\n")
    print(f"\n  written to {RESULTS}")
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--shard":
        shard_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--cpu":
        cpu_child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(0 if main(only_cpu=sys.argv[1:] == ["cpu"]) else 1)
