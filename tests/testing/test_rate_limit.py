"""The emulator's workspace rate limit: the token bucket, the acceleration limit, the usage header."""

from __future__ import annotations

import base64

import requests

from airflow_provider_mparticle.testing.emulator.state import RateLimiter
from tests.conftest import VALID_DEFINITION


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refuses_with_a_retry_after_of_at_least_one_second():
    clock = FakeClock()
    limiter = RateLimiter(1000, clock=clock)
    first = limiter.take(900)
    assert first.allowed
    assert round(first.used) == 90
    refused = limiter.take(200)  # 100 short: a wait of 0.1 s, which is not over
    assert (refused.allowed, refused.scope, refused.retry_after) == (False, "workspace", 1)
    clock.now += 0.1
    assert limiter.take(200).allowed


def test_acceleration_limits_growth_from_one_second_to_the_next():
    clock = FakeClock()
    limiter = RateLimiter(10_000, acceleration=1000, clock=clock)
    assert limiter.take(1000).allowed  # the first second: up to 1,000
    refused = limiter.take(100)
    assert (refused.allowed, refused.scope) == (False, "acceleration")
    assert refused.retry_after == 1
    clock.now += 1.0
    for _ in range(20):  # the next second: up to 1,000 + 1,000
        assert limiter.take(100).allowed
    assert limiter.take(100).scope == "acceleration"
    clock.now += 2.0  # a second with nothing accepted in between: back to the first step
    assert limiter.take(1000).allowed
    assert not limiter.take(100).allowed


def test_the_bucket_applies_with_acceleration_too():
    clock = FakeClock()
    limiter = RateLimiter(500, acceleration=10_000, clock=clock)
    assert limiter.take(500).allowed
    assert limiter.take(100).scope == "workspace"


def _post(emulator, users):
    headers = {"Authorization": "Basic " + base64.b64encode(b"emulator-api-key:emulator-api-secret").decode()}
    url = emulator.url + "/v2/bulkcalculatedattributes"
    return requests.post(url, json=users, headers=headers, timeout=5)


def _users(n):
    seed = {
        "attribute_name": "LTV",
        "calculation_type": "sum",
        "cutoff_date": "2026-06-01",
        "seed": {"value": 1},
    }
    return [
        {"environment": "development", "identities": {"customer_id": f"c{i}"}, "calculated_attributes": {"workspace": [seed]}}
        for i in range(n)
    ]  # fmt: skip


def test_acceleration_429_over_http_and_the_header_can_be_left_out(mparticle_emulator, client):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    mparticle_emulator.control.set_rate_limit(1000, path="bulk", acceleration=10, percentage_header=False)
    first = _post(mparticle_emulator, _users(10))
    assert first.status_code == 202
    assert "X-mp-rate-limit-percentage-used" not in first.headers
    # Ten users a second more each second: one of the next posts exceeds that, in whichever second.
    answers = [_post(mparticle_emulator, _users(10)) for _ in range(5)]
    refused = next(a for a in answers if a.status_code != 202)
    assert refused.status_code == 429
    assert refused.headers["X-mp-rate-limit-exceeded"] == "acceleration"
    assert int(refused.headers["Retry-After"]) >= 1
