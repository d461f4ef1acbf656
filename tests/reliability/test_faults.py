"""Seed a large load while the emulator injects errors, throttling, dropped connections and latency."""

from __future__ import annotations

import os

import pytest

from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder
from benchmarks.seeding import chunks, expected_digest

pytestmark = pytest.mark.reliability

USERS = int(os.environ.get("RELIABILITY_FAULT_USERS", "200000"))
CONCURRENCY = 8
BULK = "bulkcalculatedattributes"


def inject_faults(control) -> None:
    """10% 503, 2% 429 (Retry-After: 0.2), 2% dropped connections, random latency on the rest.

    The emulator applies the first rule that matches, each rule rolling its own dice, so the later rules'
    probabilities are conditional: 0.02 / 0.90 of what the 503 rule let through gives 2% overall. A 429
    pauses the whole load for its Retry-After (the workspace is over its budget): 2% of about 2,400
    requests throttles the load some fifty times. mParticle sends whole seconds; a fifth of one (the
    client honours decimal seconds) takes the same path, each pause and the rate cut after it, without
    adding some forty seconds of waiting to the suite.
    """
    control.add_fault(path=BULK, status=503, probability=0.10, latency_ms=20)
    control.add_fault(path=BULK, status=429, retry_after="0.2", probability=0.02 / 0.90)
    control.add_fault(path=BULK, drop=True, probability=0.02 / 0.88)
    control.add_fault(path=BULK, latency_ms=100, probability=0.05)
    control.add_fault(path=BULK, latency_ms=30, probability=0.20)
    control.add_fault(path=BULK, latency_ms=5, probability=0.50)


def test_every_user_lands_despite_faults(fresh_remote, figures):
    control = fresh_remote.control
    inject_faults(control)
    with BulkSeeder(fresh_remote.settings(), concurrency=CONCURRENCY) as seeder:
        report = seeder.run(chunks(USERS))

    statuses: dict[int, int] = {}
    for entry in control.journal(path=BULK, bodies=False):
        statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    digest = control.seeds_digest("LTV")
    lost = USERS - int(digest["users"])
    requests = sum(statuses.values())
    retries = requests - statuses.get(202, 0)
    print(
        f"\nfaults: {USERS:,} users, {requests:,} requests, {retries:,} retries "
        f"(503: {statuses.get(503, 0)}, 429: {statuses.get(429, 0)}, dropped: {statuses.get(-1, 0)}), "
        f"users lost: {lost}, {report.duration_seconds:.1f} s"
    )
    figures.record(
        "users_lost",
        lost,
        users=USERS,
        requests=requests,
        retries=retries,
        status_503=statuses.get(503, 0),
        status_429=statuses.get(429, 0),
        dropped=statuses.get(-1, 0),
        seconds=round(report.duration_seconds, 1),
    )
    # Every fault kind really happened, at about the configured rates.
    assert statuses.get(503, 0) > 0.05 * requests
    assert statuses.get(429, 0) > 0.008 * requests
    assert statuses.get(-1, 0) > 0.005 * requests
    assert report.users_sent == USERS
    assert statuses.get(202, 0) == USERS // 100
    assert report.retries >= retries
    assert lost == 0
    assert digest["seeds"] == USERS
    assert digest["digest"] == expected_digest(USERS)
