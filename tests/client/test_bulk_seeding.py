"""Packing and the bulk sender against the emulator (the pacer: test_pacing.py)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_mparticle.client import MParticleError, MParticleServerError
from airflow_provider_mparticle.client.seeding.bulk import (
    BulkSeeder,
    PackingLimits,
    SeedingRejectedError,
    SupervisorLostError,
    encode_user,
    pack,
)
from airflow_provider_mparticle.client.seeding.mapping import SeedRowError
from tests.conftest import VALID_DEFINITION


def user(i, value=None, environment="development"):
    return {
        "environment": environment,
        "identities": {"customer_id": f"c{i}"},
        "calculated_attributes": {
            "workspace": [
                {"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": i if value is None else value}}
            ]
        },
    }  # fmt: skip


def encoded(users, limits=None):
    limits = limits or PackingLimits()
    return [(n, encode_user(u, n, limits)) for n, u in enumerate(users, start=1)]


def test_pack_by_user_count():
    chunks = list(pack(encoded([user(i) for i in range(250)]), PackingLimits(max_users=100)))
    assert [c.users for c in chunks] == [100, 100, 50]
    assert [c.index for c in chunks] == [0, 1, 2]
    assert (chunks[1].first_row, chunks[1].last_row) == (101, 200)
    assert json.loads(chunks[2].body)[0]["identities"]["customer_id"] == "c200"


def test_pack_by_encoded_size_stays_under_the_limit():
    users = [user(i, value="x" * 900) for i in range(10, 30)]  # all encode to the same size
    size = len(encode_user(users[0], 1, PackingLimits()))
    limits = PackingLimits(max_users=100, max_bytes=3 * size + 4)  # three users, two commas, brackets
    chunks = list(pack(encoded(users, limits), limits))
    assert [c.users for c in chunks] == [3, 3, 3, 3, 3, 3, 2]
    assert all(len(c.body) <= limits.max_bytes for c in chunks)
    assert len(chunks[0].body) == limits.max_bytes
    assert sum(len(json.loads(c.body)) for c in chunks) == 20
    tight = PackingLimits(max_users=100, max_bytes=3 * size + 3)
    assert [c.users for c in pack(encoded(users, tight), tight)][:2] == [2, 2]


def test_pack_follows_the_packers_rules_for_every_size_and_limit():
    import random

    from airflow_provider_mparticle.client.seeding.bulk import Packer

    rng = random.Random(26)
    for _ in range(200):
        limits = PackingLimits(max_users=rng.randint(1, 6), max_bytes=rng.randint(64, 400))
        items = [
            (n, b"x" * rng.randint(1, limits.max_bytes - 2), bytes([n % 256]))
            for n in range(1, rng.randint(1, 40))
        ]
        expected, packer, last_mark = [], Packer(limits), b""
        for row, body, mark in items:
            if not packer.fits(body):
                expected.append(packer.close(last_mark))
            packer.add(row, body)
            last_mark = mark
        if packer.users:
            expected.append(packer.close(last_mark))
        chunks = list(pack(items, limits))
        assert chunks == expected
        assert [c.body for c in chunks] == [c.body for c in expected]  # not compared by the dataclass
        assert all(len(c.body) <= limits.max_bytes and c.users <= limits.max_users for c in chunks)


def test_a_user_too_large_for_any_request_is_a_row_error():
    with pytest.raises(SeedRowError, match=r"row 9, column '\*': the user encodes to \d+ bytes"):
        encode_user(user(1, value="x" * 500), 9, PackingLimits(max_bytes=300))


@pytest.fixture
def ltv(client):
    return client.calculated_attributes.create("LTV", VALID_DEFINITION)


def test_sends_everything_exactly_with_progress_and_checkpoints(mparticle_settings, mparticle_emulator, ltv):
    progress, checkpoints = [], []
    users = [user(i) for i in range(1, 1001)]
    with BulkSeeder(
        mparticle_settings,
        concurrency=4,
        on_progress=progress.append,
        progress_interval=0,
        on_checkpoint=checkpoints.append,
        checkpoint_interval=0,
        total_users=1000,
    ) as seeder:
        report = seeder.run(pack(encoded(users), PackingLimits()))
    assert (report.users_sent, report.requests, report.last_row) == (1000, 10, 1000)
    seeds = mparticle_emulator.control.seeds()
    assert len(seeds) == 1000
    assert seeds['identities:{"customer_id":"c7"}']["LTV"]["seed"] == {"value": 7}
    assert progress[-1].users_sent == 1000
    assert progress[-1].percent == 100.0
    assert checkpoints[-1].last_row == 1000
    rows = [c.last_row for c in checkpoints]
    assert rows == sorted(rows)


def test_propagation_error_is_retried_until_the_definition_arrives(
    mparticle_settings, mparticle_emulator, client
):
    mparticle_emulator.control.configure(propagation_seconds=0.8)
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    retries = []
    with BulkSeeder(
        mparticle_settings, concurrency=2, propagation_wait=0.2, on_retry=lambda e, w: retries.append(str(e))
    ) as seeder:
        report = seeder.run(pack(encoded([user(i) for i in range(1, 151)]), PackingLimits()))
    assert report.users_sent == 150
    assert report.propagation_retries >= 1
    assert "No matching calculated attribute definition found" in retries[0]
    assert len(mparticle_emulator.control.seeds()) == 150


def test_propagation_retry_is_bounded(mparticle_settings, mparticle_emulator):
    with (
        BulkSeeder(
            mparticle_settings, concurrency=1, propagation_timeout=0.3, propagation_wait=0.1
        ) as seeder,
        pytest.raises(SeedingRejectedError, match="LTV: No matching calculated attribute definition found"),
    ):
        seeder.run(pack(encoded([user(1)]), PackingLimits()))


def test_other_400_stops_with_messages_and_rows(mparticle_settings, mparticle_emulator, ltv):
    users = [user(i) for i in range(1, 301)]
    users[204] = user(205, environment="staging")
    with BulkSeeder(mparticle_settings, concurrency=1) as seeder, pytest.raises(SeedingRejectedError) as info:
        seeder.run(pack(encoded(users), PackingLimits()))
    assert info.value.row_numbers == tuple(range(201, 301))
    assert info.value.messages == ["row 205: users[4]: environment must be production or development"]
    assert "rows 201-300" in str(info.value)
    assert seeder.checkpoint.last_row == 200
    assert len(mparticle_emulator.control.seeds()) == 200


def test_persistent_server_error_stops_and_keeps_the_watermark(mparticle_settings, mparticle_emulator, ltv):
    control = mparticle_emulator.control

    def chunks():
        for chunk in pack(encoded([user(i) for i in range(1, 1001)]), PackingLimits()):
            if chunk.index == 4:
                control.add_fault(path="bulkcalculatedattributes", status=500)
            yield chunk

    with BulkSeeder(mparticle_settings, concurrency=1) as seeder, pytest.raises(MParticleServerError):
        seeder.run(chunks())
    accepted = [e for e in control.journal(path="bulkcalculatedattributes") if e["status"] == 202]
    # The fault lands while chunk 2 or 3 is in flight (two chunks are read ahead at concurrency 1).
    assert seeder.checkpoint.last_row == 100 * len(accepted)
    assert 2 <= len(accepted) <= 4


def test_accepted_but_unstored_users_stay_within_two_requests_per_sender(
    mparticle_settings, mparticle_emulator, ltv
):
    control = mparticle_emulator.control
    stored, gaps = [], []

    def slow_store(checkpoint):
        # What a SIGKILL right now would resend: users the server accepted past the stored checkpoint.
        accepted = sum(e["units"] for e in control.journal(path="bulkcalculatedattributes", bodies=False) if e["status"] == 202)  # fmt: skip
        gaps.append(accepted - (stored[-1].users if stored else 0))
        time.sleep(0.05)  # a store that is a round trip to a server
        stored.append(checkpoint)

    with BulkSeeder(mparticle_settings, concurrency=3, on_checkpoint=slow_store) as seeder:
        report = seeder.run(pack(encoded([user(i) for i in range(1, 3001)]), PackingLimits()))
    assert report.users_sent == 3000
    assert stored[-1].last_row == 3000
    assert [c.last_row for c in stored] == sorted({c.last_row for c in stored})
    assert max(gaps) <= 2 * 3 * 100
    assert report.checkpoints == len(stored)
    assert report.checkpoint_write_ms >= 50


def accepted_users(control):
    return sum(e["units"] for e in control.journal(path="bulkcalculatedattributes", bodies=False) if e["status"] == 202)  # fmt: skip


def test_a_checkpoint_store_failing_for_a_while_holds_the_sending_then_the_load_goes_on(
    mparticle_settings, mparticle_emulator, ltv
):
    control = mparticle_emulator.control
    stored, gaps, calls = [], [], []

    def flaky_store(checkpoint):
        calls.append(checkpoint)
        gaps.append(accepted_users(control) - (stored[-1].users if stored else 0))
        if 2 <= len(calls) <= 4:
            raise OSError("store unavailable")
        stored.append(checkpoint)

    with BulkSeeder(mparticle_settings, concurrency=2, on_checkpoint=flaky_store) as seeder:
        seeder.store_retry_wait = 0.05
        report = seeder.run(pack(encoded([user(i) for i in range(1, 2001)]), PackingLimits()))
    assert report.users_sent == 2000
    assert seeder.checkpoint_stats.failures == 3
    assert stored[-1].last_row == 2000
    # While the store failed, nothing was sent past the last stored checkpoint plus the sending slots.
    assert max(gaps) <= 2 * 2 * 100


def test_a_checkpoint_store_that_keeps_failing_stops_the_load_within_the_bound(
    mparticle_settings, mparticle_emulator, ltv
):
    def broken_store(checkpoint):
        raise OSError("store unavailable")

    with BulkSeeder(mparticle_settings, concurrency=2, on_checkpoint=broken_store) as seeder:
        seeder.store_retry_wait = 0.01
        with pytest.raises(MParticleError, match=r"failed 5 times in a row \(store unavailable\)"):
            seeder.run(pack(encoded([user(i) for i in range(1, 5001)]), PackingLimits()))
    assert seeder.checkpoint_stats.failures == 5
    assert 0 < accepted_users(mparticle_emulator.control) <= 2 * 2 * 100


def test_a_closed_store_channel_stops_the_load_at_once(mparticle_settings, mparticle_emulator, ltv):
    """A task process whose supervisor died reads EOF from the socket its store goes through."""

    def closed_store(checkpoint):
        raise EOFError("Request socket closed before length")

    seeder = BulkSeeder(mparticle_settings, concurrency=2, on_checkpoint=closed_store)
    with seeder, pytest.raises(SupervisorLostError, match="channel to the supervisor is closed"):
        seeder.run(pack(encoded([user(i) for i in range(1, 5001)]), PackingLimits()))
    assert seeder.checkpoint_stats.failures == 1
    assert 0 < accepted_users(mparticle_emulator.control) <= 2 * 2 * 100


def test_a_lost_supervisor_stops_the_sending_before_the_next_request(
    mparticle_settings, mparticle_emulator, ltv
):
    control = mparticle_emulator.control
    control.set_latency(30)
    lost_at = []
    lock = threading.Lock()

    def supervisor():
        with lock:  # the sending threads ask at once
            if not lost_at and accepted_users(control) >= 1000:
                lost_at.append(len(control.journal(path="bulkcalculatedattributes", bodies=False)))
            return "the supervising process (pid 1234) is gone" if lost_at else None

    seeder = BulkSeeder(mparticle_settings, concurrency=3, supervisor=supervisor)
    with seeder, pytest.raises(SupervisorLostError, match=r"pid 1234\) is gone\. No new request is sent"):
        seeder.run(pack(encoded([user(i) for i in range(1, 20001)]), PackingLimits()))
    requests = len(control.journal(path="bulkcalculatedattributes", bodies=False))
    # Only the requests already in flight when the loss was seen (at most one per thread) were answered
    # after it.
    assert lost_at
    assert requests - lost_at[0] <= 3


def test_first_progress_comes_early_then_at_the_interval(mparticle_settings, mparticle_emulator, ltv):
    mparticle_emulator.control.set_latency(40)
    progress = []
    with BulkSeeder(
        mparticle_settings,
        concurrency=1,
        on_progress=progress.append,
        progress_interval=3600,
        first_progress=0.2,
    ) as seeder:
        seeder.run(pack(encoded([user(i) for i in range(1, 2001)]), PackingLimits()))
    # One line early, none at the (long) interval, and the final one.
    assert len(progress) == 2
    assert 0 < progress[0].users_sent < 2000
    assert progress[0].elapsed < 2
    assert progress[1].users_sent == 2000


class _Text(str):
    """A str subclass, as some database drivers return."""


AWKWARD_VALUES = [
    0.1,
    1e16,
    1e-7,
    -0.0,
    2**63 - 1,
    2**64 + 1,  # beyond orjson's 64 bits: goes through json.dumps
    'naïve 東京 \u2028 "quoted" \\ \x00',
    _Text("subclass"),
    {"nested": [1, 2.5, None, True, False, {"k": "v"}]},
]


@pytest.mark.parametrize("value", AWKWARD_VALUES, ids=repr)
def test_encoded_user_is_the_json_of_json_dumps(value):
    u = user(1, value=value)
    encoded_user = encode_user(u, 1, PackingLimits())
    assert json.loads(encoded_user) == json.loads(json.dumps(u))
    # Compact UTF-8 like json.dumps(separators=(",", ":"), ensure_ascii=False): the same byte count
    # for the size limit, except where a number is spelled differently (1e16 for 1e+16).
    stdlib = json.dumps(u, separators=(",", ":"), ensure_ascii=False).encode()
    if not isinstance(value, float):
        assert encoded_user == stdlib


def test_non_string_keys_and_datetimes_keep_json_dumps_behaviour():
    from airflow_provider_mparticle.client.core.messages import encode_json

    assert json.loads(encode_json({1: "a", "b": 2})) == json.loads(json.dumps({1: "a", "b": 2}))
    import datetime as dt

    with pytest.raises(TypeError):
        encode_json({"when": dt.datetime(2026, 1, 1)})


def test_the_bodies_stored_are_the_json_of_json_dumps(mparticle_settings, mparticle_emulator, ltv):
    users = [
        user(i, value=v) for i, v in enumerate([v for v in AWKWARD_VALUES if isinstance(v, int | float)], 1)
    ]
    with BulkSeeder(mparticle_settings, concurrency=1) as seeder:
        seeder.run(pack(encoded(users), PackingLimits(max_users=2)))
    bodies = [e["body"] for e in mparticle_emulator.control.journal(path="bulkcalculatedattributes")]
    assert [u for body in bodies for u in body] == json.loads(json.dumps(users))


def test_sending_slots_wake_their_taker_once_enough_are_free_and_never_hand_out_more():
    from airflow_provider_mparticle.client.seeding.bulk import _Slots

    slots = _Slots(4, refill=2)
    assert all(slots.acquire(0.0) for _ in range(4))
    assert not slots.acquire(0.01)
    woken = threading.Event()

    def taker():
        if slots.acquire(5.0):
            woken.set()

    thread = threading.Thread(target=taker)
    thread.start()
    time.sleep(0.05)
    slots.release()  # one free: not yet worth a wake-up
    assert not woken.wait(0.2)
    slots.release()
    assert woken.wait(5.0)
    thread.join(5.0)
    assert slots.acquire(0.0)
    assert not slots.acquire(0.0)

    # Many givers, one taker: every slot is taken exactly once.
    given = 2000
    slots = _Slots(8, refill=4)
    for _ in range(8):
        slots.acquire(0.0)
    givers = [threading.Thread(target=lambda: [slots.release() for _ in range(given // 4)]) for _ in range(4)]
    for giver in givers:
        giver.start()
    taken = 0
    deadline = time.monotonic() + 30
    while taken < given and time.monotonic() < deadline:
        taken += slots.acquire(0.2)
    for giver in givers:
        giver.join(5.0)
    assert taken == given
    assert not slots.acquire(0.05)
