"""The ``adobe_aep`` connection: settings, errors naming the field, clients, test_connection."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mparticle.client import MParticleConfigError
from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
from airflow_provider_mparticle.testing.emulator.adobe.models import connection_json


def set_conn(monkeypatch, conn_id="adobe_aep_default", **conn):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "adobe_aep", **conn}))


def test_settings_from_the_connection(adobe_aep_conn_id, mparticle_emulator):
    settings = AdobeExperiencePlatformHook(adobe_aep_conn_id).settings
    assert settings.sandbox_name == "prod"
    assert settings.platform_base_url == mparticle_emulator.url
    assert settings.token_url == mparticle_emulator.url + "/ims/token/v3"
    assert "openid" in settings.scopes


def test_defaults_and_scopes(monkeypatch):
    set_conn(monkeypatch, login="id", password="secret", extra={"org_id": "O@AdobeOrg", "scopes": "a, b"})
    settings = AdobeExperiencePlatformHook().settings
    assert settings.platform_base_url == "https://platform.adobe.io"
    assert settings.token_url == "https://ims-na1.adobelogin.com/ims/token/v3"
    assert settings.scopes == ("a", "b")
    assert settings.sandbox_name == "prod"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"platform_url": "http://platform.example.com"}, "'platform_url' uses plain http://"),
        ({"ims_url": "ftp://ims"}, "'ims_url' must be an http(s) URL"),
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"sandbox": "dev"}, "unknown extra field(s): sandbox"),
        ({"scopes": 5}, "'scopes' must be"),
    ],
)
def test_bad_settings_name_the_field_and_connection(monkeypatch, extra, message):
    set_conn(monkeypatch, conn_id="bad_aep", login="id", password="s3cr3t", extra=extra)
    with pytest.raises(MParticleConfigError) as info:
        AdobeExperiencePlatformHook("bad_aep").settings  # noqa: B018
    assert message in str(info.value)
    assert "'bad_aep'" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_sync_client_works(adobe_aep_conn_id):
    with AdobeExperiencePlatformHook(adobe_aep_conn_id).get_client() as client:
        assert client.computed_attributes.list_page().items == []


async def test_async_client_looks_the_connection_up(adobe_aep_conn_id):
    client = await AdobeExperiencePlatformHook(adobe_aep_conn_id).aget_client()
    try:
        assert (await client.computed_attributes.list_page()).total_count == 0
    finally:
        await client.aclose()


def test_connection_ok(adobe_aep_conn_id):
    ok, message = AdobeExperiencePlatformHook(adobe_aep_conn_id).test_connection()
    assert ok, message
    assert "sandbox 'prod'" in message


def test_connection_reports_wrong_secret_without_it(mparticle_emulator, monkeypatch):
    conn = connection_json(mparticle_emulator.url, mparticle_emulator.state)
    conn["password"] = "wrong-secret-value"
    set_conn(monkeypatch, **{k: v for k, v in conn.items() if k != "conn_type"})
    ok, message = AdobeExperiencePlatformHook().test_connection()
    assert not ok
    assert "401" in message
    assert "invalid client_secret" in message
    assert "wrong-secret-value" not in message
