"""Triggers benchmark: N concurrent waits in one event loop, as Airflow's triggerer runs them.

The emulator runs in its own process with 20 ms of added latency per request. Each scenario runs in a
fresh child process (its RSS and CPU are its own):

- ``triggers``: N waits of the classes the operators and sensors defer to, a third each of
  ``MParticleCalculationTrigger`` (one calculated attribute per wait), ``MParticlePipelineRunTrigger``
  (runs of the five pipelines a workspace may have active) and ``AdobeComputedAttributeTrigger`` (one
  computed attribute per wait): two credentials. They are built from their serialised form and started
  the way ``TriggerRunner.create_triggers`` starts them (``asyncio.sleep(0)`` between two), each run as
  ``async for event in trigger.run()``; connections come from ``AIRFLOW_CONN_*`` variables;
- ``floor``: the same N waits polling the same URLs through one shared ``httpx.AsyncClient`` (httpx's
  default 100 connections, which the triggers get too: ``[mparticle] trigger_pool_size = 100``), one
  token per credential fetched up front, the same start-up. A wait beyond
  the pool waits for a free connection in a semaphore of the pool's size: left to queue in httpx's own
  pool (``floor-httpx-queue``, run at the largest N for comparison), a thousand waits make httpcore scan
  its queue on every event, and that floor holds the loop for seconds and spends several times the CPU
  per poll: not a floor to measure against;
- ``triggers-frozen`` (at the largest N): as ``triggers``, with ``gc.freeze()`` after start-up, so that
  the collector's full passes no longer scan the objects Airflow's imports leave (for comparison: loop
  blocks are mostly such passes);
- ``restart`` (at the largest N): a triggerer running the N waits is killed (SIGKILL) part-way and a
  fresh one resumes them from their serialised form; its figures are those of the fresh process;
- ``triggers-default-pool`` (at the largest N, start-up only): as ``triggers`` with the default
  ``trigger_pool_size`` (20 connections): reported, no target;
- ``gc-reference``: no waits, only the imports of a real triggerer (``airflow.jobs.triggerer_job_runner``)
  and of this provider's triggers: how long one full pass of the collector holds any triggerer's loop.

Start-up times vary by tens of percent between two runs on this machine: at the largest N the floor and
the triggers each run twice more, alternately, for start-up only, and the ratio is that of the medians.

Polls every 10 s, observed for 60 s (a busy machine needs more than 30 s to poll 1,000 waits once).
Figures: RSS growth per wait (peak RSS over the RSS after imports),
OAuth token requests (per credential), the time until every wait has polled once and the CPU time per
poll (start-up included), both as ratios to the floor of the same N in the same run, and the longest the
loop was blocked, measured as Airflow's ``TriggerRunner.block_watchdog`` does (a task sleeping 0.1 s; the
block is how late it wakes up), also without the collector's passes that fell in the same sleep
(``max_loop_block_outside_gc_seconds``: what the waits' own steps hold). Polls and their times come from
the emulator's request journal.

Writes ``benchmarks/results/triggers.json``. Targets at N = 1,000 (and for the restart): <= 100 KB per
wait, one token request per credential, start-up (median of three alternating runs) and CPU per poll
<= 1.5x the floor, and a loop block <= 0.1 s outside the collector's passes: what the provider controls.
The collector's full passes over the heap Airflow's imports leave hold any triggerer's loop (0.13-0.15 s
on a 2-core machine with no wait running, ``gc-reference``) and only the triggerer can avoid them
(``triggers-frozen``), so the raw longest block is reported, with no target.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import os
import pathlib
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

RESULTS = pathlib.Path(__file__).parent / "results" / "triggers.json"
# Smaller runs while iterating: BENCH_TRIGGERS_SIZES=50,200 BENCH_TRIGGERS_OBSERVE=15
SIZES = tuple(int(n) for n in os.environ.get("BENCH_TRIGGERS_SIZES", "100,500,1000").split(","))
POLL_INTERVAL = 10.0
OBSERVE_SECONDS = float(os.environ.get("BENCH_TRIGGERS_OBSERVE", "60"))
RESTART_AFTER_SECONDS = OBSERVE_SECONDS / 2
LATENCY_MS = 20
PIPELINES = 5
WATCHDOG_INTERVAL = 0.1
ADOBE_EXPRESSION = "xEvent[commerce.order.priceTotal > 0.0].sum(commerce.order.priceTotal)"
TOKEN_PATHS = ("/oauth/token", "/ims/token/v3")
TARGETS = {
    "kb_per_wait": ("<=", 100),
    "token_requests_per_credential": ("<=", 1),
    "startup_ratio_vs_floor": ("<=", 1.5),
    "cpu_ratio_vs_floor": ("<=", 1.5),
    "max_loop_block_outside_gc_seconds": ("<=", 0.1),
}
# Reported next to the targets, not held to one: the raw longest block includes the collector's passes.
REPORTED = ("max_loop_block_seconds",)
# Connections both sides may use at once: the floor's (httpx's default limit, and its semaphore) and the
# triggers' shared pool (``[mparticle] trigger_pool_size``, whose default is 20). Start-up at large N is
# bound by them: at N = 600, with 20 connections against the floor's 100, the triggers took 2.7x the
# floor's start-up, against 1.2x with 100; and a floor of 20 connections was slower than the triggers
# with 20 (2.0 s against 1.6 s). The start-up with the default pool is reported (``default_pool``).
POOL_SIZE = 100
STARTUP_REPEATS = 2  # extra start-up runs of the floor and of the triggers at the largest N, alternating
STARTUP_OBSERVE_SECONDS = max(OBSERVE_SECONDS / 3, 10.0)


# --- the parent: remote state, children, figures from the journal ---------------------------------


def connections(url: str) -> dict[str, dict[str, Any]]:
    from airflow_provider_mparticle.testing.emulator.server import (
        adobe_connection_json,
        mparticle_connection_json,
    )

    return {"mparticle": mparticle_connection_json(url), "adobe": adobe_connection_json(url)}


def prepare(emulator: Any, n: int) -> list[dict[str, Any]]:
    """Reset the emulator and create what ``n`` waits watch (nothing finishes); return the waits."""
    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.adobe import (
        AdobeClient,
        ComputedAttributeDefinition,
        ComputedAttributeStatus,
        Duration,
        DurationUnit,
    )
    from airflow_provider_mparticle.testing.examples import LTV_DEFINITION, create_pipeline

    control = emulator.control
    control.reset()
    control.configure(
        progress_mode="reads",
        progress_steps=10**9,
        active_ca_limit=n,
        journal_bodies=False,
        journal_size=500_000,
    )
    conns = connections(emulator.url)
    deadline = time.time() + 86_400
    common = {"deadline": deadline, "poll_interval": POLL_INTERVAL}
    adobe_settings = adobe_settings_for(emulator.url, conns["adobe"])
    kinds = [("calculation", "pipeline", "adobe")[i % 3] for i in range(n)]
    out: list[dict[str, Any]] = []
    with MParticleClient(emulator.settings()) as client, AdobeClient(adobe_settings) as adobe:
        runs = []
        for p in range(PIPELINES):
            pipeline_id = f"bench-{p}"
            create_pipeline(client, pipeline_id)
            control.plan_pipeline_runs(pipeline_id, hold=True)
            runs.append((pipeline_id, client.warehouse_sync.trigger(pipeline_id).pipeline_run_id))
        for i, kind in enumerate(kinds):
            if kind == "calculation":
                ca_id = client.calculated_attributes.create(f"Bench{i}", LTV_DEFINITION)
                client.calculated_attributes.activate(ca_id)
                url = client.calculated_attributes.calls.calculation_status(ca_id).request.url
                classpath = (
                    "airflow_provider_mparticle.triggers.calculated_attributes.MParticleCalculationTrigger"
                )
                kwargs: dict[str, Any] = {"ca_id": ca_id, "mparticle_conn_id": "mparticle_default", **common}
                auth = "mparticle"
            elif kind == "pipeline":
                pipeline_id, run_id = runs[i % PIPELINES]
                url = client.warehouse_sync.calls.run(pipeline_id, run_id).request.url
                classpath = "airflow_provider_mparticle.triggers.warehouse_sync.MParticlePipelineRunTrigger"
                kwargs = {
                    "pipeline_id": pipeline_id,
                    "run_id": run_id,
                    "mparticle_conn_id": "mparticle_default",
                }
                kwargs.update(common)
                auth = "mparticle"
            else:
                adobe_definition = ComputedAttributeDefinition(
                    name=f"bench{i}", expression=ADOBE_EXPRESSION, duration=Duration(7, DurationUnit.DAYS)
                )
                attribute_id = adobe.computed_attributes.create(
                    adobe_definition, ComputedAttributeStatus.NEW
                ).id
                url = adobe.computed_attributes.calls.get(attribute_id).request.url
                classpath = "airflow_provider_mparticle.triggers.adobe.AdobeComputedAttributeTrigger"
                kwargs = {"attribute_id": attribute_id, "adobe_aep_conn_id": "adobe_aep_default", **common}
                auth = "adobe"
            out.append({"classpath": classpath, "kwargs": kwargs, "url": url, "auth": auth})
    control.set_latency(LATENCY_MS)
    return out


def adobe_settings_for(url: str, conn: dict[str, Any]) -> Any:
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings

    extra = conn["extra"]
    return AdobeClientSettings(
        client_id=conn["login"],
        client_secret=conn["password"],
        org_id=extra["org_id"],
        sandbox_name=extra["sandbox_name"],
        platform_url=url,
        ims_token_url=extra["ims_url"],
    )


def run_child(
    emulator: Any,
    mode: str,
    waits: list[dict[str, Any]],
    kill_after: float | None = None,
    observe: float = OBSERVE_SECONDS,
) -> Any:
    """Run one scenario in a fresh process; its own figures, or None when it was killed on purpose."""
    conns = connections(emulator.url)
    env = {
        **os.environ,
        "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(conns["mparticle"]),
        "AIRFLOW_CONN_ADOBE_AEP_DEFAULT": json.dumps(conns["adobe"]),
        "BENCH_TRIGGERS_OBSERVE": str(observe),
    }
    if mode.startswith("triggers") and mode != "triggers-default-pool":
        env["AIRFLOW__MPARTICLE__TRIGGER_POOL_SIZE"] = str(POOL_SIZE)
    with tempfile.TemporaryDirectory() as tmp:
        spec, result = pathlib.Path(tmp) / "waits.json", pathlib.Path(tmp) / "result.json"
        spec.write_text(json.dumps({"waits": waits, "connections": conns}))
        command = [sys.executable, "-m", "benchmarks.triggers", "--child", mode, str(spec), str(result)]
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if kill_after is not None:
            time.sleep(kill_after)
            child.send_signal(signal.SIGKILL)
            child.communicate()
            return None
        _, stderr = child.communicate(timeout=observe * 10 + 120)
        if child.returncode != 0 or not result.exists():
            raise RuntimeError(f"{mode} child failed: {stderr[-3000:]}")
        return json.loads(result.read_text())


def figures(emulator: Any, waits: list[dict[str, Any]], child: dict[str, Any]) -> dict[str, Any]:
    """The child's own figures plus what the emulator saw between its start and its end."""
    t0, t1 = child["started"], child["ended"]
    journal = [
        e
        for e in emulator.control.journal(bodies=False)
        if t0 <= e["time"] <= t1 and not e["path"].startswith("/_emulator")
    ]
    journal.sort(key=lambda e: e["time"])
    tokens = [e for e in journal if e["path"] in TOKEN_PATHS]
    polls = [e for e in journal if e["path"] not in TOKEN_PATHS]
    # A path watched by m waits (the pipeline runs) has been polled by all of them at its m-th request.
    watchers: dict[str, int] = {}
    for wait in waits:
        path = urlsplit(wait["url"]).path
        watchers[path] = watchers.get(path, 0) + 1
    times: dict[str, list[float]] = {}
    for e in polls:
        times.setdefault(e["path"], []).append(e["time"])
    missing = [p for p, m in watchers.items() if len(times.get(p, ())) < m]
    startup = None if missing else max(times[p][m - 1] for p, m in watchers.items()) - t0
    statuses: dict[str, int] = {}
    for e in polls:
        statuses[str(e["status"])] = statuses.get(str(e["status"]), 0) + 1
    n = len(waits)
    credentials = len({w["auth"] for w in waits})
    return {
        "waits": n,
        "rss_growth_mb": round(child["rss_growth_bytes"] / 2**20, 1),
        "kb_per_wait": round(child["rss_growth_bytes"] / 1024 / n, 1),
        "token_requests": len(tokens),
        "credentials": credentials,
        "seconds_until_every_wait_polled": None if startup is None else round(startup, 2),
        "waits_never_polled": sum(watchers[p] - len(times.get(p, ())) for p in missing),
        "polls": len(polls),
        "poll_statuses": statuses,
        "cpu_seconds": round(child["cpu_seconds"], 2),
        "cpu_ms_per_poll": round(1000 * child["cpu_seconds"] / max(len(polls), 1), 2),
        "max_loop_block_seconds": round(child["max_loop_block_seconds"], 3),
        "max_loop_block_outside_gc_seconds": round(child["max_loop_block_outside_gc_seconds"], 3),
        "loop_blocks_over_0_1_s": child["loop_blocks_over_0_1_s"],
        "gc_seconds": round(child["gc_seconds"], 3),
        "max_gc_pause_seconds": round(child["max_gc_pause_seconds"], 3),
        "full_collections": child["full_collections"],
        "heap_objects_at_start": child["heap_objects_at_start"],
        "events": child["events"],
    }


def ratios(measured: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    startup, floor_startup = (
        measured["seconds_until_every_wait_polled"],
        floor["seconds_until_every_wait_polled"],
    )
    return {
        "kb_per_wait": measured["kb_per_wait"],
        "token_requests": measured["token_requests"],
        "token_requests_per_credential": round(measured["token_requests"] / measured["credentials"], 2),
        "startup_ratio_vs_floor": None
        if startup is None or not floor_startup
        else round(startup / floor_startup, 2),
        "cpu_ratio_vs_floor": round(measured["cpu_ms_per_poll"] / floor["cpu_ms_per_poll"], 2),
        "max_loop_block_seconds": measured["max_loop_block_seconds"],
        "max_loop_block_outside_gc_seconds": measured["max_loop_block_outside_gc_seconds"],
    }


def median_ratio(measured: Sequence[float | None], floor: Sequence[float | None]) -> float | None:
    """The ratio of the medians; None when a run never polled every wait."""
    if any(v is None for v in (*measured, *floor)):
        return None
    return round(
        statistics.median(v for v in measured if v is not None)
        / statistics.median(v for v in floor if v is not None),
        2,
    )


def check(name: str, figures: dict[str, Any]) -> bool:
    ok = True
    print(f"\n  {name}\n  {'metric':<32}{'value':>10}  target  result")
    for metric, (op, target) in TARGETS.items():
        value = figures[metric]
        passed = value is not None and (value <= target if op == "<=" else value >= target)
        ok &= passed
        print(f"  {metric:<32}{value!s:>10}  {op} {target:<4} {'PASS' if passed else 'FAIL'}")
    for metric in REPORTED:
        print(f"  {metric:<32}{figures[metric]!s:>10}  (reported; includes the collector's passes)")
    return ok


def main() -> bool:
    from benchmarks.seeding import Emulator

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    emulator = Emulator()
    details: dict[str, Any] = {
        "poll_interval_seconds": POLL_INTERVAL,
        "observed_seconds": OBSERVE_SECONDS,
        "latency_ms": LATENCY_MS,
        "per_n": {},
    }
    try:
        print(f"Triggers benchmark: emulator in its own process, {LATENCY_MS} ms latency, polls every "
              f"{POLL_INTERVAL:g} s, {OBSERVE_SECONDS:g} s observed")  # fmt: skip
        for n in sorted(SIZES):  # the waits of the largest N are reused below
            waits = prepare(emulator, n)
            floor = figures(emulator, waits, run_child(emulator, "floor", waits))
            measured = figures(emulator, waits, run_child(emulator, "triggers", waits))
            details["per_n"][str(n)] = {"floor": floor, "triggers": measured, **ratios(measured, floor)}
            print(f"  N={n}: floor {floor}\n         triggers {measured}")
        n = max(SIZES)
        largest = details["per_n"][str(n)]
        startup: dict[str, list[float | None]] = {
            "floor": [largest["floor"]["seconds_until_every_wait_polled"]],
            "triggers": [largest["triggers"]["seconds_until_every_wait_polled"]],
        }
        # Three runs each, alternating, each order as often: floor, triggers | triggers, floor | floor...
        for repeat in range(STARTUP_REPEATS):
            for mode in ("triggers", "floor") if repeat % 2 == 0 else ("floor", "triggers"):
                child_figures = run_child(emulator, mode, waits, observe=STARTUP_OBSERVE_SECONDS)
                startup[mode].append(
                    figures(emulator, waits, child_figures)["seconds_until_every_wait_polled"]
                )
        largest["startup_samples"] = startup
        largest["startup_ratio_vs_floor"] = median_ratio(startup["triggers"], startup["floor"])
        print(f"  N={n}: start-up samples {startup}")
        from airflow_provider_mparticle.hooks.base import DEFAULT_TRIGGER_POOL_SIZE

        default_pool = figures(
            emulator,
            waits,
            run_child(emulator, "triggers-default-pool", waits, observe=STARTUP_OBSERVE_SECONDS),
        )["seconds_until_every_wait_polled"]
        details["default_pool"] = {
            "trigger_pool_size": DEFAULT_TRIGGER_POOL_SIZE,
            "seconds_until_every_wait_polled": default_pool,
            "startup_ratio_vs_floor": median_ratio([default_pool], startup["floor"]),
        }
        print(f"  N={n}, the default pool of {DEFAULT_TRIGGER_POOL_SIZE}: {details['default_pool']}")
        queued = figures(emulator, waits, run_child(emulator, "floor-httpx-queue", waits))
        details["floor_httpx_queue"] = queued
        print(f"  N={n}, floor with httpx's own pool queue: {queued}")
        reference = run_child(emulator, "gc-reference", waits)
        details["gc_reference"] = reference
        print(f"  a triggerer's imports alone: {reference}")
        # The same waits in a process whose start-up heap (Airflow's objects) the collector no longer scans.
        frozen = figures(emulator, waits, run_child(emulator, "triggers-frozen", waits))
        details["start_up_heap_frozen"] = {
            "triggers": frozen,
            **ratios(frozen, details["per_n"][str(n)]["floor"]),
        }
        print(f"  N={n}, start-up heap frozen: {frozen}")
        waits = prepare(emulator, n)
        run_child(emulator, "triggers", waits, kill_after=RESTART_AFTER_SECONDS)
        restarted = figures(emulator, waits, run_child(emulator, "triggers", waits))
        floor = details["per_n"][str(n)]["floor"]
        details["restart"] = {"killed_after_seconds": RESTART_AFTER_SECONDS, "triggers": restarted}
        details["restart"].update(ratios(restarted, floor))
        details["restart"]["startup_ratio_vs_floor"] = median_ratio(
            [restarted["seconds_until_every_wait_polled"]], startup["floor"]
        )
        print(f"  restart N={n}: {restarted}")
    finally:
        emulator.stop()
    largest = details["per_n"][str(max(SIZES))]
    results = {metric: largest[metric] for metric in ("kb_per_wait", "token_requests", *TARGETS, *REPORTED)}
    results["details"] = details
    ok = check(f"N = {max(SIZES)}", largest)
    ok &= check(f"restarted triggerer, N = {max(SIZES)}", details["restart"])
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  written to {RESULTS}")
    return ok


# --- the child: one triggerer-like event loop ------------------------------------------------------


class Watchdog:
    """Airflow's ``TriggerRunner.block_watchdog``: sleep 0.1 s and see how late the loop wakes us.

    :param gc_seconds: the collector's pause time so far (kept up to date by a ``gc.callbacks`` hook),
        so that a block can be split into the collector's passes and the rest.
    """

    def __init__(self, gc_seconds: list[float]) -> None:
        self.gc_seconds = gc_seconds
        self.max_block = 0.0
        self.max_block_outside_gc = 0.0
        self.blocks_over = 0

    async def run(self) -> None:
        while True:
            last, gc_before = time.monotonic(), self.gc_seconds[0]
            await asyncio.sleep(WATCHDOG_INTERVAL)
            block = time.monotonic() - last - WATCHDOG_INTERVAL
            self.max_block = max(self.max_block, block)
            outside = block - (self.gc_seconds[0] - gc_before)
            self.max_block_outside_gc = max(self.max_block_outside_gc, outside)
            self.blocks_over += block > 0.1


async def floor_waits(
    waits: list[dict[str, Any]], conns: dict[str, Any], started: list[asyncio.Task[Any]], gated: bool
) -> None:
    """The floor: each wait GETs its URL through one shared client, every poll interval.

    :param gated: waits beyond the pool queue in a semaphore of its size, not in httpcore's pool.
    """
    import contextlib

    import httpx

    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, pool=None))
    pool_size = POOL_SIZE  # httpx's default max_connections
    gate: Any = asyncio.Semaphore(pool_size) if gated else contextlib.nullcontext()
    tokens: dict[str, asyncio.Task[str]] = {}

    async def fetch(auth: str) -> str:
        conn = conns[auth]
        if auth == "mparticle":
            extra = conn["extra"]
            body = {"client_id": extra["client_id"], "client_secret": extra["client_secret"],
                    "audience": "https://api.mparticle.com", "grant_type": "client_credentials"}  # fmt: skip
            answer = await client.post(extra["oauth_url"], json=body)
        else:
            form = {"grant_type": "client_credentials", "client_id": conn["login"],
                    "client_secret": conn["password"], "scope": "openid"}  # fmt: skip
            answer = await client.post(conn["extra"]["ims_url"], data=form)
        token: str = answer.raise_for_status().json()["access_token"]
        return token

    async def wait(spec: dict[str, Any]) -> None:
        auth = spec["auth"]
        if auth not in tokens:
            tokens[auth] = asyncio.create_task(fetch(auth))
        headers = {"Authorization": f"Bearer {await tokens[auth]}", "Accept": "application/json"}
        if auth == "adobe":
            extra = conns["adobe"]["extra"]
            headers.update({"x-api-key": conns["adobe"]["login"], "x-gw-ims-org-id": extra["org_id"],
                            "x-sandbox-name": extra["sandbox_name"]})  # fmt: skip
        while True:
            async with gate:
                answer = await client.get(spec["url"], headers=headers)
            answer.json()
            await asyncio.sleep(POLL_INTERVAL)

    for spec in waits:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        started.append(asyncio.create_task(wait(spec)))


async def trigger_waits(
    waits: list[dict[str, Any]], events: list[Any], started: list[asyncio.Task[Any]]
) -> None:
    """As ``TriggerRunner.create_triggers``: build each trigger from its serialised form, start its task."""

    async def run_trigger(trigger: Any) -> None:
        async for event in trigger.run():
            events.append(event.payload)

    for spec in waits:
        await asyncio.sleep(0)
        module, _, name = spec["classpath"].rpartition(".")
        trigger_class = getattr(importlib.import_module(module), name)
        await asyncio.sleep(0)
        started.append(asyncio.create_task(run_trigger(trigger_class(**spec["kwargs"]))))


def child(mode: str, spec_path: str, result_path: str) -> None:
    import psutil

    spec = json.loads(pathlib.Path(spec_path).read_text())
    waits = spec["waits"]
    # Everything the waits need is imported, and one request made, before the baseline is taken.
    import httpx

    async def warm_up() -> None:
        async with httpx.AsyncClient() as client:
            health = urlsplit(waits[0]["url"])._replace(path="/_emulator/health").geturl()
            (await client.get(health)).raise_for_status()

    if mode == "gc-reference":
        gc_reference(waits, result_path)
        return
    asyncio.run(warm_up())
    if mode.startswith("triggers"):
        for classpath in {w["classpath"] for w in waits}:
            importlib.import_module(classpath.rpartition(".")[0])
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

        # A triggerer has its secrets backends loaded before it runs a trigger of any provider.
        ensure_secrets_backend_loaded()

        import airflow_provider_mparticle.client.adobe
        import airflow_provider_mparticle.events
        import airflow_provider_mparticle.hooks.adobe
        import airflow_provider_mparticle.hooks.mparticle  # noqa: F401
    heap_objects = len(gc.get_objects())
    if mode == "triggers-frozen":
        # What a triggerer could do after start-up: the collector never scans the heap it has so far.
        gc.freeze()
    process = psutil.Process()
    baseline = process.memory_info().rss

    pauses: list[tuple[float, int]] = []
    collecting: list[float] = []
    gc_seconds = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[:] = [time.perf_counter()]
        elif collecting:
            pauses.append((time.perf_counter() - collecting[0], info["generation"]))
            gc_seconds[0] += pauses[-1][0]

    async def run() -> dict[str, Any]:
        gc.callbacks.append(on_gc)
        watchdog = Watchdog(gc_seconds)
        watching = asyncio.create_task(watchdog.run())
        events: list[Any] = []
        started: list[asyncio.Task[Any]] = []
        t0, cpu0 = time.time(), time.process_time()
        if mode.startswith("floor"):
            gated = mode == "floor"
            creating = asyncio.create_task(floor_waits(waits, spec["connections"], started, gated))
        else:
            creating = asyncio.create_task(trigger_waits(waits, events, started))
        await asyncio.sleep(OBSERVE_SECONDS)
        cpu, t1 = time.process_time() - cpu0, time.time()
        gc.callbacks.remove(on_gc)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        failed = [repr(t.exception()) for t in started if t.done() and not t.cancelled() and t.exception()]
        for task in (watching, creating, *started):
            task.cancel()
        return {
            "started": t0,
            "ended": t1,
            "cpu_seconds": cpu,
            "rss_growth_bytes": max(peak, process.memory_info().rss) - baseline,
            "max_loop_block_seconds": watchdog.max_block,
            "max_loop_block_outside_gc_seconds": watchdog.max_block_outside_gc,
            "loop_blocks_over_0_1_s": watchdog.blocks_over,
            "gc_seconds": sum(p for p, _ in pauses),
            "max_gc_pause_seconds": max((p for p, _ in pauses), default=0.0),
            "full_collections": sum(1 for _, generation in pauses if generation == 2),
            "heap_objects_at_start": heap_objects,
            "events": events[:5] + failed[:5],
        }

    result = asyncio.run(run())
    pathlib.Path(result_path).write_text(json.dumps(result))


def gc_reference(waits: list[dict[str, Any]], result_path: str) -> None:
    """One full pass of the collector over what a triggerer has imported, with no wait running."""
    import airflow.jobs.triggerer_job_runner  # noqa: F401

    for classpath in {w["classpath"] for w in waits}:
        importlib.import_module(classpath.rpartition(".")[0])
    passes = []
    for _ in range(5):
        start = time.perf_counter()
        gc.collect()
        passes.append(time.perf_counter() - start)
    result = {
        "heap_objects": len(gc.get_objects()),
        "full_collection_seconds_min": round(min(passes), 3),
        "full_collection_seconds_median": round(statistics.median(passes), 3),
    }
    pathlib.Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(0 if main() else 1)
