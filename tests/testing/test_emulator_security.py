"""The emulator's own safety: loopback unless told otherwise, no secrets in the journal, JSON-only control."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from airflow_provider_mparticle.testing.emulator import EmulatorServer
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.conftest import VALID_DEFINITION

SECRETS = ("emulator-api-secret", "emulator-client-secret", "emulator-adobe-client-secret")


# --- binding ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_non_loopback_host_is_refused_without_allow_remote(host):
    with pytest.raises(ValueError, match="allow-remote"):
        EmulatorServer(host)


def test_command_line_refuses_non_loopback_host_and_names_the_flag():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_mparticle.testing.emulator.server", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert "listening" not in result.stdout


def test_allow_remote_binds_any_address_and_answers_other_host_names():
    with EmulatorServer("0.0.0.0", allow_remote=True) as server:
        url = f"http://127.0.0.1:{server.port}/_emulator/health"
        answer = requests.get(url, headers={"Host": "emulator.internal"}, timeout=5)
        assert answer.status_code == 200


def test_loopback_emulator_refuses_control_calls_for_other_host_names(mparticle_emulator):
    # A page whose DNS name was rebound to 127.0.0.1 still sends its own name.
    url = mparticle_emulator.url + "/_emulator/journal"
    refused = requests.get(url, headers={"Host": f"attacker.example:{mparticle_emulator.port}"}, timeout=5)
    assert refused.status_code == 403
    assert requests.get(url, headers={"Host": f"localhost:{mparticle_emulator.port}"}, timeout=5).ok


# --- journal redaction --------------------------------------------------------------------------------


def test_journal_masks_oauth_client_secret_and_bearer_tokens(mparticle_emulator, client):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    journal = mparticle_emulator.control.journal()
    token = next(e for e in journal if e["path"] == "/oauth/token")
    assert token["body"]["client_secret"] == "***"
    assert token["body"]["client_id"] == "emulator-client-id"
    assert token["body"]["grant_type"] == "client_credentials"
    create = next(e for e in journal if e["method"] == "POST" and e["path"].endswith("/calculatedattributes"))
    assert create["headers"]["authorization"] == "Bearer ***"
    assert create["body"]["name"] == "LTV"
    _assert_no_secret(journal)


def test_journal_masks_the_api_secret_of_basic_auth(mparticle_emulator, client):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    mparticle_emulator.control.configure(propagation_seconds=0)
    client.seeding.seed_users(
        [
            {
                "environment": "development",
                "identities": {"customer_id": "c1"},
                "calculated_attributes": {
                    "workspace": [
                        {
                            "attribute_name": "LTV",
                            "calculation_type": "sum",
                            "cutoff_date": "2026-06-01",
                            "seed": {"value": 1},
                        }
                    ]
                },
            }
        ]
    )
    journal = mparticle_emulator.control.journal(path="calculatedattributes", method="POST")
    seed = next(e for e in journal if e["path"].startswith("/v2/"))
    assert seed["headers"]["authorization"] == "Basic emulator-api-key:***"
    assert seed["body"][0]["identities"] == {"customer_id": "c1"}
    _assert_no_secret(mparticle_emulator.control.journal())


def test_journal_masks_warehouse_passwords_and_form_encoded_secrets(mparticle_emulator, client):
    create_pipeline(client)
    requests.post(
        mparticle_emulator.url + "/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": "emulator-adobe-client-id",
            "client_secret": "emulator-adobe-client-secret",
            "scope": "openid",
        },
        timeout=5,
    ).raise_for_status()
    journal = mparticle_emulator.control.journal()
    connection = next(e for e in journal if e["path"].endswith("/connections") and e["method"] == "POST")
    assert connection["body"]["config"]["password"] == "***"
    assert connection["body"]["config"]["user"] == "mparticle_user"
    ims = next(e for e in journal if e["path"] == "/ims/token/v3")
    assert ims["body"] == {
        "grant_type": "client_credentials",
        "client_id": "emulator-adobe-client-id",
        "client_secret": "***",
        "scope": "openid",
    }
    _assert_no_secret(journal)


def test_a_secret_value_is_masked_whatever_field_carries_it(mparticle_emulator):
    requests.post(
        mparticle_emulator.url + "/v2/calculatedattributes",
        json={"note": "key emulator-api-secret leaked"},
        timeout=5,
    )
    [entry] = mparticle_emulator.control.journal()
    assert entry["body"] == {"note": "key *** leaked"}


def _assert_no_secret(journal):
    text = json.dumps(journal)
    for secret in (*SECRETS, "mParticleSecurePassword"):
        assert secret not in text


# --- control plane content type -----------------------------------------------------------------------


def test_control_plane_refuses_form_posts_and_changes_nothing(mparticle_emulator):
    url = mparticle_emulator.url + "/_emulator/faults"
    form = requests.post(url, data={"path": "", "status": "500"}, timeout=5)
    assert form.status_code == 415
    assert "application/json" in form.json()["errors"][0]["message"]
    text = requests.post(url, data='{"status": 500}', headers={"Content-Type": "text/plain"}, timeout=5)
    assert text.status_code == 415
    assert requests.get(url, timeout=5).json() == []


def test_control_plane_refuses_a_delete_without_json_content_type(mparticle_emulator):
    mparticle_emulator.control.add_fault(path="nothing", status=500)
    url = mparticle_emulator.url + "/_emulator/faults"
    assert requests.delete(url, timeout=5).status_code == 415
    assert len(requests.get(url, timeout=5).json()) == 1
    deleted = requests.delete(url, headers={"Content-Type": "application/json"}, timeout=5)
    assert deleted.status_code == 200
    assert requests.get(url, timeout=5).json() == []


def test_control_plane_accepts_json_with_a_charset(mparticle_emulator):
    answer = requests.post(
        mparticle_emulator.url + "/_emulator/latency",
        data=b'{"ms": 5}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=5,
    )
    assert answer.json() == {"ms": 5.0}


def test_bodies_without_secrets_skip_the_walk_and_others_do_not():
    from airflow_provider_mparticle.testing.emulator.redaction import may_hold_secrets, redact_body

    bulk = json.dumps([{"identities": {"customer_id": "c1"}, "seed": {"value": 1}}]).encode()
    assert not may_hold_secrets(bulk, SECRETS)
    for raw in (b'{"Client_Secret": "x"}', b'{"note": "emulator-api-secret"}', b'{"PASSWORD": "x"}'):
        assert may_hold_secrets(raw, SECRETS)
    assert redact_body({"Client_Secret": "x", "PASSWORD": "y"}) == {"Client_Secret": "***", "PASSWORD": "***"}
