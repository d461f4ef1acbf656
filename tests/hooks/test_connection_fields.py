"""The connection form and the hooks agree: every declared extra is read, nothing undeclared is accepted.

Also: renamed extras still work (with a deprecation warning), only secrets are masked, errors found
while testing an unsaved connection name the field rather than Airflow's random id, and the URI form
of a connection works as the README shows it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from urllib.parse import urlencode

import pytest
from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import Connection

from airflow_provider_mparticle.client import ClientSettings, MParticleConfigError, RetrySettings
from airflow_provider_mparticle.client.adobe import AdobeClientSettings
from airflow_provider_mparticle.connection_fields import (
    ADOBE_FIELDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_ELAPSED,
    DEFAULT_TIMEOUT,
    MPARTICLE_FIELDS,
    is_secret,
)
from airflow_provider_mparticle.get_provider_info import get_provider_info
from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook, adobe_settings_from_connection
from airflow_provider_mparticle.hooks.mparticle import MParticleHook, settings_from_connection

# A value for each declared field that differs from the default. A field declared without one here
# fails the coverage test, so a new extra cannot be declared without being read (or vice versa).
MPARTICLE_VALUES = {
    "workspace_id": "777",
    "pod": "eu1",
    "client_id": "client-id-1",
    "client_secret": "client-secret-1",
    "account_id": "4242",
    "s2s_url": "https://s2s.example.com",
    "api_url": "https://api.example.com",
    "oauth_url": "https://sso.example.com/oauth/token",
    "timeout": 12,
    "max_attempts": 3,
    "max_elapsed": 45,
    "verify": False,
}
ADOBE_VALUES = {
    "org_id": "ORG@AdobeOrg",
    "sandbox_name": "dev",
    "scopes": "openid",
    "platform_url": "https://platform.example.com",
    "ims_url": "https://ims.example.com/token",
    "timeout": 12,
    "max_attempts": 3,
    "max_elapsed": 45,
    "verify": "/etc/ssl/private-ca.pem",
}
CASES = [
    ("mparticle", MPARTICLE_FIELDS, MPARTICLE_VALUES, settings_from_connection),
    ("adobe_aep", ADOBE_FIELDS, ADOBE_VALUES, adobe_settings_from_connection),
]


def connection(conn_type: str, extra: dict, conn_id: str = "c") -> Connection:
    return Connection(
        conn_id=conn_id, conn_type=conn_type, login="key", password="secret", extra=json.dumps(extra)
    )


@pytest.mark.parametrize(("conn_type", "fields", "values", "read"), CASES, ids=["mparticle", "adobe_aep"])
def test_every_declared_field_reaches_the_settings(conn_type, fields, values, read):
    assert set(values) == set(fields)
    baseline = dataclasses.asdict(read(connection(conn_type, {})))
    for name, value in values.items():
        changed = dataclasses.asdict(read(connection(conn_type, {name: value})))
        assert changed != baseline, f"extra {name!r} is declared in conn-fields but the hook ignores it"


@pytest.mark.parametrize(("conn_type", "fields", "values", "read"), CASES, ids=["mparticle", "adobe_aep"])
def test_an_undeclared_extra_is_refused_by_name(conn_type, fields, values, read):
    with pytest.raises(MParticleConfigError, match=r"unknown extra field\(s\): surplus"):
        read(connection(conn_type, {**values, "surplus": "1"}))


def test_the_form_declares_what_the_hooks_read():
    declared = {ct["connection-type"]: ct["conn-fields"] for ct in get_provider_info()["connection-types"]}
    assert set(declared["mparticle"]) == set(MPARTICLE_FIELDS)
    assert set(declared["adobe_aep"]) == set(ADOBE_FIELDS)


def test_every_field_has_a_placeholder_and_text_fields_an_example():
    for connection_type in get_provider_info()["connection-types"]:
        placeholders = connection_type["ui-field-behaviour"]["placeholders"]
        assert {"login", "password", *connection_type["conn-fields"]} <= set(placeholders)
        for name, field in connection_type["conn-fields"].items():
            schema = field["schema"]
            if schema["type"][0] != "boolean" and schema.get("format") != "password":
                assert schema.get("examples"), name


def test_form_defaults_are_the_clients_defaults():
    assert ClientSettings().timeout == AdobeClientSettings().timeout == DEFAULT_TIMEOUT
    assert RetrySettings().max_attempts == DEFAULT_MAX_ATTEMPTS
    assert RetrySettings().max_elapsed == DEFAULT_MAX_ELAPSED


@pytest.mark.parametrize(
    ("conn_type", "fields"), [("mparticle", MPARTICLE_FIELDS), ("adobe_aep", ADOBE_FIELDS)]
)
def test_airflow_masks_exactly_the_fields_declared_secret(conn_type, fields):
    # Airflow hides extras by name in the form, the extra JSON and the REST API: a URL named
    # "token_url" read back as "***". Declared secrets must be hidden, everything else readable.
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    for name in fields:
        assert should_hide_value_for_key(name) == is_secret(fields, name), name
    assert not is_secret(MPARTICLE_FIELDS, "client_id")


def test_only_secrets_are_masked_and_short_values_draw_no_warning(caplog):
    from airflow.sdk._shared.secrets_masker import SecretsMasker, _secrets_masker

    SecretsMasker._has_warned_short_secret = False
    with caplog.at_level(logging.WARNING):
        settings_from_connection(
            connection("mparticle", {"workspace_id": "123", "pod": "eu1", "client_secret": "csecret-98765"})
        )
    assert "too short" not in caplog.text
    assert _secrets_masker().redact("csecret-98765 in workspace 123 on eu1") == "*** in workspace 123 on eu1"


@pytest.mark.parametrize(
    ("conn_type", "old", "new", "read", "attribute"),
    [
        ("mparticle", "token_url", "oauth_url", settings_from_connection, "token_url"),
        ("adobe_aep", "ims_token_url", "ims_url", adobe_settings_from_connection, "ims_token_url"),
    ],
)
def test_renamed_extras_still_work_with_a_deprecation_warning(conn_type, old, new, read, attribute):
    url = "https://auth.example.com/token"
    with pytest.warns(AirflowProviderDeprecationWarning, match=f"'{old}' is deprecated: rename it '{new}'"):
        settings = read(connection(conn_type, {old: url}))
    assert getattr(settings, attribute) == url
    with pytest.raises(MParticleConfigError, match=f"'{old}' was renamed '{new}'; set only '{new}'"):
        read(connection(conn_type, {old: url, new: url}))


def test_the_renamed_url_names_the_new_extra_in_errors():
    with pytest.raises(MParticleConfigError, match="Connection 'c': Setting 'oauth_url' uses plain http://"):
        settings_from_connection(connection("mparticle", {"oauth_url": "http://sso.example.com/token"}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("True", True), ("0", False), ("/etc/ca.pem", "/etc/ca.pem"), (None, True)],
)
def test_verify_accepts_text_as_the_uri_form_gives_it(value, expected):
    assert settings_from_connection(connection("mparticle", {"verify": value})).verify == expected


def test_verify_of_another_type_names_the_field():
    with pytest.raises(MParticleConfigError, match="extra 'verify' must be true, false or the path"):
        settings_from_connection(connection("mparticle", {"verify": 3}))


@pytest.mark.parametrize(
    ("conn_type", "extra", "field"),
    [("mparticle", {"pod": "eu9"}, "'pod' is 'eu9'"), ("adobe_aep", {"timeout": "soon"}, "'timeout'")],
)
def test_testing_an_unsaved_connection_names_the_field_not_the_random_id(
    monkeypatch, conn_type, extra, field
):
    # What Airflow's API server does for the form's Test button: a random id exported as a URI.
    from airflow.models.connection import Connection as StoredConnection

    conn = StoredConnection(
        conn_id="9GkhRcAg", conn_type=conn_type, login="k", password="s", extra=json.dumps(extra)
    )
    monkeypatch.setenv("AIRFLOW_CONN_9GKHRCAG", conn.get_uri())
    ok, message = conn.test_connection()
    assert not ok
    assert field in message
    assert "9GkhRcAg" not in message
    assert not message.startswith("Connection")


def test_a_saved_connection_is_still_named_in_errors(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MY_MPARTICLE", json.dumps({"conn_type": "mparticle", "extra": {"pod": "eu9"}})
    )
    with pytest.raises(MParticleConfigError, match="Connection 'my_mparticle': Setting 'pod' is 'eu9'"):
        MParticleHook("my_mparticle").settings  # noqa: B018


def test_the_uri_form_of_the_connection(mparticle_emulator, monkeypatch):
    # The README's URI form: extras as query parameters (all text), URL overrides percent-encoded.
    emulator = mparticle_emulator.connection_uri_json()
    extra = emulator["extra"]
    query = urlencode({**extra, "pod": "us1", "timeout": "10", "verify": "true"})
    monkeypatch.setenv(
        "AIRFLOW_CONN_MPARTICLE_URI", f"mparticle://{emulator['login']}:{emulator['password']}@/?{query}"
    )
    hook = MParticleHook("mparticle_uri")
    assert hook.settings.timeout == 10.0
    assert hook.settings.workspace_id == str(extra["workspace_id"])
    ok, message = hook.test_connection()
    assert ok, message


def test_get_conn_returns_a_working_client(mparticle_conn_id):
    with MParticleHook(mparticle_conn_id).get_conn() as client:
        assert client.calculated_attributes.list() == []


def test_adobe_get_conn_returns_a_working_client(adobe_aep_conn_id):
    with AdobeExperiencePlatformHook(adobe_aep_conn_id).get_conn() as client:
        assert client.computed_attributes.list_page(limit=1) is not None
