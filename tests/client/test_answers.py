"""Answer contracts: answers that are not the API's raise a clear project error, never a success."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    MParticleClient,
    MParticleUnexpectedResponseError,
)
from airflow_provider_mparticle.client.core.answers import excerpt
from airflow_provider_mparticle.client.core.tokens import clear_token_cache
from tests.reliability.hostile import LOGIN_PAGE, SECRET_IN_PAGE, HostileServer, client_settings


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


@pytest.fixture
def settings(hostile):
    hostile.requests.clear()
    hostile.hostile_token = False
    clear_token_cache()
    return client_settings(hostile.url, timeout=2.0)


def _api_requests(hostile):
    return [r for r in hostile.requests if not r[1].startswith("/oauth")]


def test_redirect_is_an_error_naming_the_location_and_never_followed(hostile, settings):
    hostile.mode = "redirect"
    with MParticleClient(settings) as client, pytest.raises(MParticleUnexpectedResponseError) as info:
        client.seeding.seed_users([{"mpid": 1}])
    assert info.value.status_code == 302
    assert info.value.location == "https://sso.example.com/login?rd=1"
    assert "https://sso.example.com/login?rd=1" in str(info.value)
    assert "POST " + settings.s2s_url + "/v2/bulkcalculatedattributes" in str(info.value)
    assert _api_requests(hostile) == [("POST", "/v2/bulkcalculatedattributes")]


def test_html_page_is_refused_without_markup_or_secrets(hostile, settings):
    hostile.mode = "html"
    with MParticleClient(settings) as client, pytest.raises(MParticleUnexpectedResponseError) as info:
        client.calculated_attributes.create("LTV", {"recipe_type": "event"})
    message = str(info.value)
    assert "text/html" in message
    assert "answered 200" in message
    assert "<" not in message
    assert SECRET_IN_PAGE not in message
    assert len(message) < 500
    assert info.value.retryable is False
    assert _api_requests(hostile) == [("POST", "/platform/v2/workspaces/1/calculatedattributes")]


def test_seeding_requires_the_documented_202(hostile, settings):
    hostile.mode = "empty"
    with MParticleClient(settings) as client, pytest.raises(MParticleUnexpectedResponseError, match="202"):
        client.seeding.seed_user({"mpid": 1})


def test_truncated_json_is_retried_only_on_a_safe_request(hostile, settings):
    hostile.mode = "truncated"
    with MParticleClient(settings) as client:
        with pytest.raises(MParticleUnexpectedResponseError, match="truncated"):
            client.warehouse_sync.run("p1", 1)
        assert len(_api_requests(hostile)) == 2
        hostile.requests.clear()
        with pytest.raises(MParticleUnexpectedResponseError, match="truncated"):
            client.warehouse_sync.trigger("p1")
        assert len(_api_requests(hostile)) == 1


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda c: c.warehouse_sync.run("p1", 1), "pipeline run status is missing"),
        (lambda c: c.calculated_attributes.calculation_status(1), "'is_calculated' is missing"),
        (lambda c: c.data_planning.get_plan("plan"), "'data_plan_id' is missing"),
        (lambda c: c.calculated_attributes.list(), "expected a JSON list"),
        (lambda c: c.warehouse_sync.trigger("p1"), "no 'pipeline_run_id'"),
    ],
)
def test_unreadable_status_or_shape_is_an_error(hostile, settings, call, problem):
    hostile.mode = "wrong_shape"
    with MParticleClient(settings) as client, pytest.raises(MParticleUnexpectedResponseError) as info:
        call(client)
    assert problem in str(info.value)


async def test_async_client_applies_the_same_contracts(hostile, settings):
    async with AsyncMParticleClient(settings) as client:
        for mode in ("redirect", "html", "empty", "truncated", "wrong_shape"):
            hostile.mode = mode
            with pytest.raises(MParticleUnexpectedResponseError):
                await client.warehouse_sync.run("p1", 1)


def test_a_hostile_token_endpoint_is_refused(hostile, settings):
    hostile.mode = "html"
    hostile.hostile_token = True
    with MParticleClient(settings) as client, pytest.raises(MParticleUnexpectedResponseError) as info:
        client.calculated_attributes.list()
    assert "/oauth/token" in str(info.value)
    assert "client-secret-value" not in str(info.value)


def test_excerpt_strips_markup_and_redacts_secrets():
    text = excerpt(LOGIN_PAGE.encode())
    assert "<" not in text
    assert "{" not in text
    assert SECRET_IN_PAGE not in text
    assert text.startswith("Corporate Proxy Login Please sign in")
    assert len(text) <= 160
    assert "s3cr3t" not in excerpt('{"client_secret": "s3cr3t", "x": 1}')
    assert "abc.def" not in excerpt("Authorization: Bearer abc.def")
