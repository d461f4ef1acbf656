"""The hook reads an ``mparticle`` connection from the environment and hands out working clients."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mparticle.client import MParticleConfigError, Pod
from airflow_provider_mparticle.hooks.mparticle import MParticleHook


def set_conn(monkeypatch, conn_id="mparticle_default", **conn):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "mparticle", **conn}))


def test_hook_builds_clients_for_the_emulator(mparticle_conn_id, mparticle_emulator):
    hook = MParticleHook(mparticle_conn_id)
    assert hook.settings.workspace_id == mparticle_emulator.state.settings.workspace_id
    with hook.get_client() as client:
        ca_id = client.calculated_attributes.create("LTV", {**_definition()})
        assert client.calculated_attributes.get(ca_id).name == "LTV"


async def test_hook_async_client_looks_the_connection_up(mparticle_conn_id):
    hook = MParticleHook(mparticle_conn_id)
    client = await hook.aget_client()
    try:
        assert await client.calculated_attributes.list() == []
    finally:
        await client.aclose()


def test_connection_ok_checks_both_credential_sets(mparticle_conn_id):
    ok, message = MParticleHook(mparticle_conn_id).test_connection()
    assert ok, message
    assert message == "Platform API credentials: OK; Seeding API credentials: OK"


def test_connection_says_which_credentials_failed(mparticle_emulator, monkeypatch):
    conn = mparticle_emulator.connection_uri_json()
    conn["password"] = "wrong-secret"
    set_conn(monkeypatch, **conn)
    ok, message = MParticleHook().test_connection()
    assert not ok
    assert "Platform API credentials: OK" in message
    assert "Seeding API credentials: FAILED" in message
    assert "403" in message
    assert "wrong-secret" not in message


def test_connection_without_credentials(monkeypatch):
    set_conn(monkeypatch, extra={"workspace_id": "1"})
    ok, message = MParticleHook().test_connection()
    assert not ok
    assert "No credentials" in message


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"pod": "mars"}, "'pod' is 'mars'"),
        ({"s2s_url": "http://seeding.example.com"}, "'s2s_url' uses plain http://"),
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"workspace": "1"}, "unknown extra field(s): workspace"),
    ],
)
def test_bad_connection_settings_name_the_field(monkeypatch, extra, message):
    set_conn(monkeypatch, conn_id="bad", login="k", password="s", extra=extra)
    with pytest.raises(MParticleConfigError) as info:
        MParticleHook("bad").settings  # noqa: B018
    assert message in str(info.value)
    assert "'bad'" in str(info.value)


def test_pod_and_prefixed_extras(monkeypatch):
    set_conn(monkeypatch, extra={"extra__mparticle__pod": "eu1", "extra__mparticle__workspace_id": 42})
    settings = MParticleHook().settings
    assert settings.pod is Pod.EU1
    assert settings.workspace_id == "42"
    assert settings.seeding_base_url == "https://s2s.eu1.mparticle.com"


def _definition():
    from tests.conftest import VALID_DEFINITION

    return VALID_DEFINITION


def test_connection_makes_one_attempt_per_credential_set(mparticle_emulator, mparticle_conn_id):
    # Endpoints that fail transiently are not retried by the connection test: it must answer quickly.
    mparticle_emulator.control.add_fault(path="oauth/token", status=503)
    mparticle_emulator.control.add_fault(path="bulkcalculatedattributes", status=503)
    ok, message = MParticleHook(mparticle_conn_id).test_connection()
    assert not ok
    assert "Platform API credentials: FAILED" in message
    assert "Seeding API credentials: FAILED" in message
    journal = mparticle_emulator.control.journal()
    assert [e["path"] for e in journal] == ["/oauth/token", "/v2/bulkcalculatedattributes"]
