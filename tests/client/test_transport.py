"""The transports against the emulator over real HTTP: auth, token cache, retries, error mapping."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    MParticleAuthError,
    MParticleClient,
    MParticleConfigError,
    MParticleNotFoundError,
    MParticleRateLimitError,
    MParticleServerError,
    MParticleTransportError,
    MParticleValidationError,
    RetrySettings,
)


def test_token_is_fetched_once_for_many_calls(client, mparticle_emulator):
    for _ in range(5):
        client.calculated_attributes.list()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1
    assert client.transport.stats.token_fetches == 1


def test_token_is_shared_by_threads(client, mparticle_emulator):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: client.calculated_attributes.exists(), range(32)))
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1


def test_token_refreshed_before_expiry(mparticle_emulator, mparticle_settings):
    # A 2 s token is refreshed by the client itself (10% early) rather than after a 401.
    mparticle_emulator.control.configure(token_ttl=2)
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.list()
        time.sleep(1.9)
        client.calculated_attributes.list()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 2
    assert all(e["status"] != 401 for e in mparticle_emulator.control.journal())


def test_token_refreshed_once_after_a_401(client, mparticle_emulator):
    client.calculated_attributes.list()
    mparticle_emulator.control.expire_tokens()
    assert client.calculated_attributes.list() == []
    statuses = [e["status"] for e in mparticle_emulator.control.journal(path="/calculatedattributes")]
    assert statuses == [200, 401, 200]
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 2


def test_expired_token_after_clock_moves(client, mparticle_emulator):
    client.calculated_attributes.list()
    mparticle_emulator.control.advance_clock(28800 + 1)
    client.calculated_attributes.list()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 2


def test_wrong_client_secret_is_an_auth_error_without_the_secret(mparticle_emulator, mparticle_settings):
    settings = mparticle_settings.with_overrides(client_secret="very-secret-value")
    with MParticleClient(settings) as client, pytest.raises(MParticleAuthError) as info:
        client.calculated_attributes.list()
    assert info.value.status_code == 401
    assert "very-secret-value" not in str(info.value)


def test_missing_platform_credentials_is_a_config_error(mparticle_settings):
    with (
        MParticleClient(mparticle_settings.with_overrides(client_id=None)) as client,
        pytest.raises(MParticleConfigError, match="client_id"),
    ):
        client.calculated_attributes.list()


def test_wrong_seeding_secret_is_403(mparticle_emulator, mparticle_settings):
    settings = mparticle_settings.with_overrides(api_secret="nope")
    with MParticleClient(settings) as client, pytest.raises(MParticleAuthError) as info:
        client.seeding.seed_users(b"[]")
    assert info.value.status_code == 403


def test_429_with_retry_after_is_honoured(client, mparticle_emulator):
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=429, retry_after="1", times=1)
    started = time.monotonic()
    client.calculated_attributes.list()
    assert time.monotonic() - started >= 1.0
    assert client.transport.stats.throttled == 1
    statuses = [e["status"] for e in mparticle_emulator.control.journal(path="/calculatedattributes")]
    assert statuses == [429, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried(client, mparticle_emulator, status):
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=status, times=2)
    client.calculated_attributes.list()
    assert client.transport.stats.retries == 2


def test_dropped_connection_is_retried(client, mparticle_emulator):
    mparticle_emulator.control.add_fault(path="calculatedattributes", drop=True, times=2)
    assert client.calculated_attributes.list() == []
    assert client.transport.stats.retries == 2


def test_retries_give_up_after_max_attempts(mparticle_emulator, mparticle_settings):
    settings = mparticle_settings.with_overrides(retry=RetrySettings(max_attempts=3, initial_backoff=0.01))
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=503)
    with MParticleClient(settings) as client, pytest.raises(MParticleServerError) as info:
        client.calculated_attributes.list()
    assert info.value.status_code == 503
    assert len(mparticle_emulator.control.journal(path="/calculatedattributes")) == 3


def test_rate_limit_error_carries_retry_after(mparticle_emulator, mparticle_settings):
    settings = mparticle_settings.with_overrides(retry=RetrySettings(max_attempts=1))
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=429, retry_after="7")
    with MParticleClient(settings) as client, pytest.raises(MParticleRateLimitError) as info:
        client.calculated_attributes.list()
    assert info.value.retry_after == 7
    assert info.value.limit_scope == "workspace"


def test_400_is_not_retried_and_keeps_messages_verbatim(client, mparticle_emulator):
    with pytest.raises(MParticleValidationError) as info:
        client.calculated_attributes.create("x", {"recipe_type": "audience"})
    assert "Invalid recipe type" in info.value.messages
    assert "Invalid calculation type" in info.value.messages
    assert len(mparticle_emulator.control.journal(path="/calculatedattributes", method="POST")) == 1


def test_404_is_not_found_and_not_retried(client, mparticle_emulator):
    with pytest.raises(MParticleNotFoundError):
        client.calculated_attributes.get(999)
    assert len(mparticle_emulator.control.journal(path="/calculatedattributes/999")) == 1


async def test_async_client_shares_the_policy(mparticle_emulator, mparticle_settings):
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=429, retry_after="0", times=1)
    mparticle_emulator.control.add_fault(path="calculatedattributes", drop=True, times=1)
    async with AsyncMParticleClient(mparticle_settings) as client:
        assert await client.calculated_attributes.list() == []
        mparticle_emulator.control.expire_tokens()
        assert await client.calculated_attributes.list() == []
        assert client.transport.stats.retries == 2
        with pytest.raises(MParticleNotFoundError):
            await client.calculated_attributes.calculation_status(5)
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 2


# --- one token per process and credential ----------------------------------------------------------


def test_clients_built_from_the_same_settings_share_one_token(mparticle_emulator, mparticle_settings):
    # A worker runs many tasks, each with its own client: they must not each ask for a token.
    for _ in range(3):
        with MParticleClient(mparticle_settings) as client:
            client.calculated_attributes.list()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1
    assert len(mparticle_emulator.control.journal(path="/oauth/token")) == 1


async def test_async_clients_share_the_token_of_sync_clients(mparticle_emulator, mparticle_settings):
    import asyncio

    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.list()
    clients = [AsyncMParticleClient(mparticle_settings) for _ in range(4)]
    try:
        # Many triggers waking together: one fetch between them.
        await asyncio.gather(*(c.calculated_attributes.list() for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1


async def test_concurrent_async_clients_fetch_one_token(mparticle_emulator, mparticle_settings):
    import asyncio

    clients = [AsyncMParticleClient(mparticle_settings) for _ in range(8)]
    try:
        await asyncio.gather(*(c.calculated_attributes.list() for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1


def test_threads_with_their_own_clients_fetch_one_token(mparticle_emulator, mparticle_settings):
    from concurrent.futures import ThreadPoolExecutor

    def one_task(_: int) -> None:
        with MParticleClient(mparticle_settings) as client:
            client.calculated_attributes.exists()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one_task, range(16)))
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 1


def test_another_secret_does_not_borrow_the_cached_token(mparticle_emulator, mparticle_settings):
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.list()
    wrong = mparticle_settings.with_overrides(client_secret="not-the-secret")
    with MParticleClient(wrong) as client, pytest.raises(MParticleAuthError):
        client.calculated_attributes.list()


def test_a_401_replaces_the_shared_token_once(mparticle_emulator, mparticle_settings):
    first, second = MParticleClient(mparticle_settings), MParticleClient(mparticle_settings)
    with first, second:
        first.calculated_attributes.list()
        mparticle_emulator.control.expire_tokens()
        first.calculated_attributes.list()
        # The second client finds the token the first one refreshed: no 401, no fetch of its own.
        second.calculated_attributes.list()
    statuses = [e["status"] for e in mparticle_emulator.control.journal(path="/calculatedattributes")]
    assert statuses == [200, 401, 200, 200]
    assert mparticle_emulator.control.stats()["oauth_tokens_issued"] == 2


# --- one flat retry budget per call -----------------------------------------------------------------


def test_token_fetch_shares_the_call_budget(mparticle_emulator, mparticle_settings):
    # A token endpoint that keeps failing costs max_attempts tries in all, not max_attempts squared.
    settings = mparticle_settings.with_overrides(retry=RetrySettings(max_attempts=3, initial_backoff=0.01))
    mparticle_emulator.control.add_fault(path="oauth/token", status=503)
    with MParticleClient(settings) as client, pytest.raises(MParticleServerError):
        client.calculated_attributes.list()
    assert len(mparticle_emulator.control.journal(path="/oauth/token")) == 3
    assert mparticle_emulator.control.journal(path="/calculatedattributes") == []


async def test_token_and_request_failures_count_against_one_budget(mparticle_emulator, mparticle_settings):
    settings = mparticle_settings.with_overrides(retry=RetrySettings(max_attempts=3, initial_backoff=0.01))
    mparticle_emulator.control.add_fault(path="oauth/token", status=503, times=1)
    mparticle_emulator.control.add_fault(path="calculatedattributes", status=503)
    async with AsyncMParticleClient(settings) as client:
        with pytest.raises(MParticleServerError):
            await client.calculated_attributes.list()
    tries = mparticle_emulator.control.journal(path="/oauth/token") + mparticle_emulator.control.journal(
        path="/calculatedattributes"
    )
    assert [e["status"] for e in sorted(tries, key=lambda e: e["seq"])] == [503, 200, 503, 503]


def test_max_elapsed_bounds_the_whole_call(mparticle_emulator, mparticle_settings):
    # A hung answer is cut at what remains of max_elapsed, not at the (longer) per-request timeout.
    settings = mparticle_settings.with_overrides(
        timeout=30.0, retry=RetrySettings(max_attempts=5, initial_backoff=0.01, max_elapsed=1.0)
    )
    mparticle_emulator.control.add_fault(path="calculatedattributes", latency_ms=5000)
    started = time.monotonic()
    with MParticleClient(settings) as client, pytest.raises(MParticleTransportError):
        client.calculated_attributes.list()
    assert time.monotonic() - started < 5.0


def test_the_direct_path_sends_what_session_request_sends(
    mparticle_emulator, mparticle_settings, monkeypatch
):
    """The bulk POST and a bearer GET, sent straight to urllib3's pool and then by ``Session.request``
    (which a response hook on the session brings back): the server sees the same requests."""
    import requests

    from tests.conftest import VALID_DEFINITION

    calls = []
    request = requests.Session.request

    def counted(self, method, url, *args, **kwargs):
        if "/_emulator/" not in url:  # the emulator's control client is a requests session too
            calls.append((method, url))
        return request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", counted)
    control = mparticle_emulator.control
    user = {"environment": "production", "identities": {"customer_id": "c1"}, "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": 1.5}}]}}  # fmt: skip
    seen = {}
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
        for way in ("direct", "session"):
            if way == "session":
                client.transport.session.hooks["response"].append(lambda answer, *args, **kwargs: None)
            calls.clear()
            assert client.seeding.seed_users([user]).status_code == 202
            assert client.calculated_attributes.list()[0].name == "LTV"
            journal = control.journal()
            bulk = next(e for e in reversed(journal) if e["path"].endswith("/bulkcalculatedattributes"))
            listing = journal[-1]
            seen[way] = [
                (e["method"], e["path"], e["query"], e["headers"], e["body"]) for e in (bulk, listing)
            ]
            assert len(calls) == (0 if way == "direct" else 2)
    assert seen["direct"] == seen["session"]
    assert seen["direct"][0][3]["content-length"] == str(len(json.dumps(user, separators=(",", ":"))) + 2)


def test_the_direct_path_sends_a_changed_field_at_once(mparticle_emulator, mparticle_settings):
    """The header block kept between requests is the one of the same fields: a field changed on the
    session, and another length, go out with the next request."""
    user = {"environment": "production", "identities": {"customer_id": "c1"}, "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": 1.5}}]}}  # fmt: skip
    from tests.conftest import VALID_DEFINITION

    control = mparticle_emulator.control
    with MParticleClient(mparticle_settings) as client:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
        sent = []
        for extra in (None, "one", "two", None):
            if extra is None:
                client.transport.session.headers.pop("X-Extra", None)
            else:
                client.transport.session.headers["X-Extra"] = extra
            client.seeding.seed_users([user] * (len(sent) + 1))
            entry = next(
                e for e in reversed(control.journal()) if e["path"].endswith("/bulkcalculatedattributes")
            )
            sent.append((entry["headers"].get("x-extra"), int(entry["headers"]["content-length"])))
    assert [extra for extra, _ in sent] == [None, "one", "two", None]
    assert len({length for _, length in sent}) == 4
