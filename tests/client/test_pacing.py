"""The pacer's rules, on a clock the tests move (but for the threads of one test on the real clock)."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time

import pytest

from airflow_provider_mparticle.client.core.errors import MParticleConfigError
from airflow_provider_mparticle.client.seeding.pacing import Pacer, PacerTuning


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(clock, ceiling=None, seed=1, **tuning):
    return Pacer(ceiling, tuning=PacerTuning(**tuning), clock=clock, rng=random.Random(seed))


def acks(pacer, clock, percentages, every=0.1, users=100):
    """Answers arriving every ``every`` seconds, to senders that take every slot due and then wait."""
    for used in percentages:
        clock.advance(every)
        while pacer.try_acquire(users, clock()) == 0.0:
            pass
        pacer.observe_ack(users, used)


def test_slots_are_spaced_by_the_rate_in_force():
    clock = FakeClock()
    pacer = make(clock, ceiling=200)
    assert pacer.try_acquire(100, clock()) == 0.0
    wait = pacer.try_acquire(100, clock())
    assert 0.43 <= wait <= 0.55  # 100 users at 200 users/s, +-10% jitter, 20 ms of slack
    clock.advance(wait)
    assert pacer.try_acquire(100, clock()) == 0.0


def test_a_new_rate_applies_to_a_sender_already_waiting():
    clock = FakeClock()
    pacer = make(clock, initial_rate=500)
    pacer.try_acquire(100, clock())
    assert pacer.try_acquire(100, clock()) > 0.15  # 100 users at 500 users/s
    pacer.rate = 5000.0
    assert pacer.try_acquire(100, clock()) < 0.023


def test_ramp_doubles_while_the_budget_is_unused_and_ends_when_it_drains():
    clock = FakeClock()
    pacer = make(clock, initial_rate=500, ramp_seconds=0.15)
    acks(pacer, clock, [2.0] * 4)  # 0.3 s of answers after the first: two doublings
    assert pacer.ramping
    assert 1800 <= pacer.rate <= 2200
    before = pacer.rate
    acks(pacer, clock, [20.0])
    assert not pacer.ramping
    assert pacer.rate < before


def test_no_growth_when_the_gate_holds_nobody_back():
    # A load limited by its threads or its source: the rate must not build up unused.
    clock = FakeClock()
    pacer = make(clock, initial_rate=500)
    for _ in range(20):
        clock.advance(0.3)
        pacer.observe_ack(100, 2.0)
    assert pacer.rate == 500.0


def test_a_draining_budget_lowers_the_rate_and_a_refilling_one_lets_it_rise():
    clock = FakeClock()
    pacer = make(clock, initial_rate=4000)
    pacer.ramping = False
    acks(pacer, clock, [40.0 + 3 * i for i in range(10)])  # above target and rising
    lowered = pacer.rate
    assert lowered < 4000 * 0.8
    acks(pacer, clock, [60.0 - 3 * i for i in range(10)])  # falling back towards the target
    assert pacer.rate > lowered


def test_shards_seeing_the_same_signal_converge_on_a_common_rate():
    clock = FakeClock()
    fast, slow = make(clock, initial_rate=4000, seed=1), make(clock, initial_rate=500, seed=2)
    for pacer in (fast, slow):
        pacer.ramping = False
    level = 40.0
    for _ in range(400):  # 20 s of answers; the level follows what both send against 2,000 users/s
        clock.advance(0.05)
        level = min(99.0, max(5.0, level + 100 * (fast.rate + slow.rate - 2000) / 2000 * 0.05))
        for pacer in (fast, slow):
            pacer.try_acquire(100, clock())
            pacer.observe_ack(100, level)
    assert 0.8 <= fast.rate / slow.rate <= 1.25
    assert 1600 <= fast.rate + slow.rate <= 2400


def test_a_429_pauses_every_sender_for_retry_after_and_cuts_the_rate_once():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1000, throttle_factor=0.7)
    pacer.observe_throttled(2.0, "workspace")
    assert not pacer.ramping
    assert pacer.rate == pytest.approx(700.0)
    assert 2.0 <= pacer.paused_until - clock() <= 2.3  # Retry-After plus jitter
    assert pacer.try_acquire(100, clock()) >= 2.0
    pacer.observe_throttled(2.0, "workspace")  # sent before the pause: already accounted for
    assert pacer.rate == pytest.approx(700.0)
    assert (pacer.pauses, pacer.throttled) == (1, 2)
    clock.advance(2.3)
    assert pacer.try_acquire(100, clock()) == 0.0


def test_an_acceleration_429_halves_and_a_429_without_retry_after_does_not_pause():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1000)
    pacer.observe_throttled(None, "acceleration")
    assert pacer.rate == pytest.approx(500.0)
    assert pacer.try_acquire(100, clock()) == 0.0


def test_without_the_header_the_rate_recovers_quickly_then_probes_near_the_last_429():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1000)
    pacer.ramping = False
    pacer.observe_throttled(1.0, "workspace")
    clock.advance(1.2)
    acks(pacer, clock, [None] * 10)
    recovered = pacer.rate
    assert recovered > 0.85 * 1000 * 0.99
    acks(pacer, clock, [None] * 10)  # 1 s of probing: about +50 users/s
    assert recovered < pacer.rate < recovered + 200


def test_the_ceiling_bounds_the_rate_in_force():
    clock = FakeClock()
    pacer = make(clock, ceiling=300)
    acks(pacer, clock, [2.0] * 20)
    assert pacer.limit() == 300
    assert pacer.rate <= 1.2 * 300


def test_settings_are_checked():
    with pytest.raises(MParticleConfigError, match="max_users_per_second"):
        Pacer(0)
    with pytest.raises(MParticleConfigError, match="throttle_factor"):
        PacerTuning(throttle_factor=1.0)
    with pytest.raises(MParticleConfigError, match="target_used"):
        PacerTuning(target_used=10.0, ramp_until_used=15.0)


def test_resends_after_a_429_are_spaced_on_the_schedule():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1000)
    pacer.observe_throttled(1.0, "workspace")  # eight threads throttled at once resend one by one
    delays = [pacer.retry_delay(1.0, clock()) for _ in range(8)]
    assert delays == sorted(delays)
    assert delays[-1] - delays[0] >= 7 * 100 / 700 * 0.9
    assert pacer.try_acquire(100, clock() + 1.2) > 0  # the booked slots hold new sends back too


def test_a_pause_wakes_a_waiting_sender_to_wait_longer():
    pacer = Pacer(1.0)  # one user per second: the second slot is a second away
    pacer.acquire(1)
    released = threading.Event()

    def sender() -> None:
        pacer.acquire(1)
        released.set()

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    pacer.pause(30.0)
    assert not released.wait(1.5)  # still held: the pause outlasts the slot it waited for
    with pacer._lock:
        pacer.paused_until = 0.0
        pacer._last_slot = None
    pacer._wake.put(None)
    assert released.wait(5.0)
    thread.join(5.0)


def test_one_waiting_sender_at_a_time_watches_the_clock():
    """Eight senders wait for slots 20 ms apart: only the next in turn waits on the clock, the others
    queue behind it, so each slot wakes one thread rather than all eight (a herd per request)."""
    calls = [0]

    def clock() -> float:
        calls[0] += 1
        return time.monotonic()

    pacer = Pacer(50.0, clock=clock)  # one user per 20 ms
    pacer.acquire(1)
    taken: list[float] = []
    threads = [
        threading.Thread(target=lambda: (pacer.acquire(1), taken.append(time.monotonic()))) for _ in range(8)
    ]
    calls[0] = 0
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    assert len(taken) == 8
    assert calls[0] <= 3 * 8, calls[0]  # herded, every slot's due time woke each thread still waiting
    ordered = sorted(taken)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    assert min(gaps) > 0.01  # still spaced by the rate


def simulate(shards, limit=5000.0, users=20_000, header=True, seed=7):
    """Shards of 8 senders against a token bucket (one second of burst), 25 ms per answer, virtual time."""
    clock = FakeClock()
    rng = random.Random(seed)
    events: list = []
    order = itertools.count()
    bucket = {"tokens": limit, "at": clock()}
    totals = {"requests": 0, "throttled": 0}
    accepted: list[float] = []
    state = []

    def later(delay, action):
        heapq.heappush(events, (clock() + delay, next(order), action))

    def take(units):
        now = clock()
        bucket["tokens"] = min(limit, bucket["tokens"] + (now - bucket["at"]) * limit)
        bucket["at"] = now
        if bucket["tokens"] >= units:
            bucket["tokens"] -= units
            accepted.append(now)
            return True, 0, 100 * (1 - bucket["tokens"] / limit)
        return False, math.ceil((units - bucket["tokens"]) / limit), 100.0

    def next_request(shard):
        if shard["left"] > 0:
            shard["left"] -= 100
            ask(shard)

    def ask(shard):
        wait = shard["pacer"].try_acquire(100, clock())
        if wait > 0:
            later(wait + 0.0005, lambda: ask(shard))
        else:
            send(shard)

    def send(shard):
        totals["requests"] += 1
        allowed, retry_after, used = take(100)

        def answer():
            if allowed:
                shard["pacer"].observe_ack(100, used if header else None)
                shard["done"] += 100
                shard["end"] = clock()
                next_request(shard)
            else:
                totals["throttled"] += 1
                shard["pacer"].observe_throttled(retry_after, "workspace")
                wait = retry_after + rng.uniform(0, 0.1)  # the transport's wait, then the paced slot
                later(wait + shard["pacer"].retry_delay(wait, clock()), lambda: send(shard))

        later(0.025, answer)

    for index in range(shards):
        shard = {"pacer": make(clock, seed=seed + index), "left": users, "done": 0, "end": 0.0}
        state.append(shard)
        for _ in range(8):
            later(0.0, lambda shard=shard: next_request(shard))
    start = clock()
    while events:
        at, _, action = heapq.heappop(events)
        clock.now = at
        action()
    end = max(s["end"] for s in state)
    steady = sum(100 for at in accepted if at >= start + 2.0)  # after the ramp, as the benchmark counts
    return {
        "rate_fraction": steady / (end - start - 2.0) / limit,
        "throttled_fraction": totals["throttled"] / totals["requests"],
        "spread": max(s["end"] for s in state) / min(s["end"] for s in state),
        "lost": shards * users - sum(s["done"] for s in state),
    }


@pytest.mark.parametrize("shards", [1, 4, 16])
def test_shards_share_a_token_bucket_close_to_its_limit(shards):
    # A model of the workspace (the emulator's token bucket) and of the senders, in virtual time: the
    # control loop's figures are checked here; the real ones, over HTTP and processes, by `make bench`.
    result = simulate(shards)
    assert result["lost"] == 0
    assert result["rate_fraction"] >= 0.9
    assert result["throttled_fraction"] <= 0.05
    assert result["spread"] <= 1.5


def test_without_the_header_shards_still_share_the_bucket():
    result = simulate(8, header=False)
    assert result["lost"] == 0
    assert result["rate_fraction"] >= 0.75
    assert result["throttled_fraction"] <= 0.1


def test_a_load_under_an_acceleration_limit_pauses_and_loses_nothing(
    mparticle_settings, mparticle_emulator, client
):
    from airflow_provider_mparticle.client.seeding.bulk import BulkSeeder, PackingLimits, encode_user, pack
    from tests.conftest import VALID_DEFINITION

    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    mparticle_emulator.control.set_rate_limit(20_000, path="bulk", acceleration=100)
    seed = {
        "attribute_name": "LTV",
        "calculation_type": "sum",
        "cutoff_date": "2026-06-01",
        "seed": {"value": 2},
    }
    limits = PackingLimits()
    users = (
        (i, encode_user({"environment": "development", "identities": {"customer_id": f"c{i}"}, "calculated_attributes": {"workspace": [seed]}}, i, limits))
        for i in range(1, 1501)
    )  # fmt: skip
    pacer = Pacer()
    with BulkSeeder(mparticle_settings, concurrency=4, pacer=pacer) as seeder:
        report = seeder.run(pack(users, limits))
    assert report.users_sent == 1500
    assert mparticle_emulator.control.seeds_digest("LTV")["users"] == 1500
    # 100 users more per second each second: the first second's 100 leave no room for the start's 250/s.
    statuses = [e["status"] for e in mparticle_emulator.control.journal(path="bulk", bodies=False)]
    assert 429 in statuses
    assert pacer.pauses >= 1
    assert not pacer.ramping
