"""End-to-end seeding CPU: what one row costs the task process, beside two floors from the same run.

``MParticleSeedCalculatedAttributesOperator.execute`` seeds N rows against the emulator at zero latency
(in its own process), from a SQLite table through an Airflow SQL connection (``SqlSource``) and from a
JSON Lines file, with and without the validation pass. Each case runs in a fresh child process; the
figure is the child's CPU time (all its threads, ``time.process_time``) over ``execute`` per row, the
median of ``REPEATS`` rounds (each round runs the floors and every case once, the order reversed every
second round). ``python -m benchmarks.seeding_e2e [ROWS [ROUNDS]]`` runs it alone.

Two floors, measured in a child of the same run on the same rows:

- ``cursor``: the same query read through the same DB-API cursor (``fetchmany``) alone;
- ``json_dumps``: stdlib ``json.dumps`` of the same users (the dicts the mapping builds).

Writes ``benchmarks/results/seeding_e2e.json``. Targets (issue 26): with the validation pass <= 15 µs
per row, without <= 10 µs, both as ratios to ``json_dumps`` (measured 5.4 µs per user when the targets
were set): SQL with validation <= 2.8x, without <= 1.9x.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import sys
import tempfile
import time
from typing import Any

from benchmarks.seeding import LTV, Emulator, child_result, make_table

MODULE = "benchmarks.seeding_e2e"
RESULTS = pathlib.Path(__file__).parent / "results" / "seeding_e2e.json"
ROWS = 200_000
#: Rounds of every case and floor; the figures are their medians (a shared machine is noisy).
REPEATS = 3
SQL = "select customer_id, ltv, tier from customers where id <= ? order by id"
# The goals as ratios to the json.dumps floor: 15 µs and 10 µs over the 5.4 µs of the machine.
# Reported beside each figure, they do not fail `make bench` (see the README: the validation goal was
# met by a thin margin on a busy machine, the single-pass one not yet); every user sent and stored does
# gate.
GOALS = {"sql_validation_ratio_to_json": 2.8, "sql_single_pass_ratio_to_json": 1.9}
CASES = [("sql", True), ("sql", False), ("jsonl", True), ("jsonl", False)]


def operator(source: str, validation: bool, rows: int, jsonl: pathlib.Path) -> Any:
    from airflow_provider_mparticle.operators.calculated_attributes import (
        MParticleSeedCalculatedAttributesOperator,
    )

    where: dict[str, Any] = (
        {"sql_conn_id": "bench_db", "sql": SQL, "parameters": [rows]}
        if source == "sql"
        else {"path": str(jsonl)}
    )
    return MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        user_attributes={"Tier": "tier"},
        validation_pass=validation,
        progress_interval=3600,
        **where,
    )


def child_seed(source: str, validation: bool, rows: int, jsonl: pathlib.Path) -> None:
    op = operator(source, validation, rows, jsonl)
    import airflow.providers.sqlite.hooks.sqlite  # noqa: F401

    import airflow_provider_mparticle.client.seeding.bulk
    import airflow_provider_mparticle.hooks.mparticle  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF)
    started, wall = time.process_time(), time.monotonic()
    summary = op.execute({})
    cpu, wall = time.process_time() - started, time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "rows": rows,
        "users_sent": summary["users_sent"],
        "cpu_seconds": cpu,
        "user_seconds": after.ru_utime - before.ru_utime,
        "system_seconds": after.ru_stime - before.ru_stime,
        "context_switches": (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw),
        "wall_seconds": wall,
        "requests": summary["http_requests"],
    }
    print("RESULT " + json.dumps(out), flush=True)


def child_floors(rows: int) -> None:
    """The cursor alone, then stdlib json.dumps of the users the mapping builds from the same rows."""
    from contextlib import closing

    from airflow.sdk import BaseHook

    from airflow_provider_mparticle.client.seeding.mapping import SeedMapping

    hook = BaseHook.get_connection("bench_db").get_hook()  # type: ignore[no-untyped-call]
    started = time.process_time()
    read = 0
    with closing(hook.get_conn()) as conn, closing(conn.cursor()) as cursor:
        cursor.execute(SQL, [rows])
        while batch := cursor.fetchmany(10_000):
            for _record in batch:
                read += 1
    cursor_cpu = time.process_time() - started
    mapping = SeedMapping(
        calculated_attributes=[LTV],  # type: ignore[list-item]
        identities={"customer_id": "customer_id"},
        user_attributes={"Tier": "tier"},
    )
    users = [
        mapping.build(
            {"customer_id": f"customer-{i:09d}", "ltv": i * 0.25, "tier": "gold" if i % 3 else "silver"}, i
        )
        for i in range(1, rows + 1)
    ]
    started = time.process_time()
    for user in users:
        json.dumps(user)
    json_cpu = time.process_time() - started
    print(
        "RESULT " + json.dumps({"rows": read, "cursor_cpu_seconds": cursor_cpu, "json_cpu_seconds": json_cpu})
    )


def make_jsonl(path: pathlib.Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(1, rows + 1):
            record = {
                "customer_id": f"customer-{i:09d}",
                "ltv": i * 0.25,
                "tier": "gold" if i % 3 else "silver",
            }
            handle.write(json.dumps(record) + "\n")


def main(rows: int = ROWS, repeats: int = REPEATS) -> bool:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    emulator = Emulator()
    runs: dict[str, list[dict[str, Any]]] = {}
    floor_runs: list[dict[str, Any]] = []
    try:
        print(
            f"Seeding end to end: {rows:,} rows, emulator in its own process at zero latency, "
            f"{repeats} rounds (medians)"
        )
        with tempfile.TemporaryDirectory() as tmp:
            db, jsonl = pathlib.Path(tmp) / "customers.db", pathlib.Path(tmp) / "customers.jsonl"
            make_table(db, rows)
            make_jsonl(jsonl, rows)
            env = {
                **os.environ,
                "AIRFLOW_CONN_MPARTICLE_DEFAULT": emulator.connection_json(),
                "AIRFLOW_CONN_BENCH_DB": json.dumps({"conn_type": "sqlite", "host": str(db)}),
            }
            for round_ in range(repeats):
                # Every round measures the floors and each case once, in the other order every second
                # round, so that a busy spell of the machine does not always land on the same case.
                floor_runs.append(child_result([MODULE, "--floors", str(rows)], env))
                for source, validation in CASES if round_ % 2 == 0 else CASES[::-1]:
                    emulator.fresh()
                    emulator.control.set_latency(0)
                    out = child_result(
                        [MODULE, "--seed", source, "1" if validation else "0", str(rows), str(jsonl)], env
                    )
                    out["stored_users"] = emulator.control.seeds_digest("LTV")["users"]
                    name = f"{source}_{'validation' if validation else 'single_pass'}"
                    runs.setdefault(name, []).append(out)
                    print(
                        f"  {name}: {out['cpu_seconds'] / rows * 1e6:.2f} µs CPU per row "
                        f"({out['system_seconds'] / rows * 1e6:.2f} µs system), "
                        f"{out['wall_seconds']:.1f} s wall, {out['context_switches']:,} context switches"
                    )
    finally:
        emulator.stop()
    cursor_us = statistics.median(f["cursor_cpu_seconds"] for f in floor_runs) / rows * 1e6
    json_us = statistics.median(f["json_cpu_seconds"] for f in floor_runs) / rows * 1e6
    results: dict[str, Any] = {
        "cursor_floor_us_per_row": round(cursor_us, 2),
        "json_dumps_floor_us_per_user": round(json_us, 2),
    }
    ok = True
    for name in (f"{source}_{'validation' if validation else 'single_pass'}" for source, validation in CASES):
        us = statistics.median(out["cpu_seconds"] for out in runs[name]) / rows * 1e6
        results[f"{name}_us_per_row"] = round(us, 2)
        results[f"{name}_ratio_to_json"] = round(us / json_us, 2)
        results[f"{name}_ratio_to_cursor"] = round(us / cursor_us, 1)
        ok &= all(out["users_sent"] == rows and out["stored_users"] == rows for out in runs[name])
    results["details"] = {"rows": rows, "sql": SQL, "rounds": repeats, "cases": runs, "floors": floor_runs}
    print(f"  floors (medians): cursor {cursor_us:.2f} µs per row, json.dumps {json_us:.2f} µs per user")
    print(f"\n  {'metric':<36}{'value':>10}  goal     result")
    for name, goal in GOALS.items():
        met = results[name] <= goal
        print(f"  {name:<36}{results[name]:>10}  <= {goal:<5} {'met' if met else 'not yet (no gate)'}")
    for name in runs:
        print(f"  {name + '_us_per_row':<36}{results[name + '_us_per_row']:>10}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  written to {RESULTS}")
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--seed":
        child_seed(sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), pathlib.Path(sys.argv[5]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--floors":
        child_floors(int(sys.argv[2]))
    else:
        sys.exit(0 if main(*(int(a) for a in sys.argv[1:3])) else 1)
