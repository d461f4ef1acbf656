"""The emulator's own behaviour: auth answers, control plane, faults, rate limit, the console script."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time

import requests


def basic(key, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def test_seeding_auth_401_missing_403_invalid(mparticle_emulator):
    url = mparticle_emulator.url + "/v2/bulkcalculatedattributes"
    assert requests.post(url, json=[], timeout=5).status_code == 401
    response = requests.post(url, json=[], headers=basic("emulator-api-key", "bad"), timeout=5)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "FORBIDDEN"


def test_platform_auth_401_missing_403_forged(mparticle_emulator):
    url = mparticle_emulator.url + "/platform/v2/workspaces/1/calculatedattributes"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer abc.def"}, timeout=5).status_code == 403


def test_other_workspace_is_not_found(mparticle_emulator, client):
    token = client.transport.bearer_token()
    url = mparticle_emulator.url + "/platform/v2/workspaces/999/calculatedattributes"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 404


def test_malformed_json_gets_the_documented_400(mparticle_emulator):
    response = requests.post(
        mparticle_emulator.url + "/v2/calculatedattributes",
        data=b"{not json",
        headers=basic("emulator-api-key", "emulator-api-secret"),
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"code": "BAD_REQUEST", "message": "The request JSON was malformed."}]
    }


def test_reset_clears_state_and_faults(mparticle_emulator, client):
    client.calculated_attributes.create("LTV", _definition())
    mparticle_emulator.control.add_fault(path="nothing", status=500)
    mparticle_emulator.control.reset()
    assert mparticle_emulator.control.calculated_attributes() == []
    assert requests.get(mparticle_emulator.url + "/_emulator/faults", timeout=5).json() == []
    assert mparticle_emulator.control.journal() == []


def test_fault_probability_and_count(mparticle_emulator):
    mparticle_emulator.control.add_fault(path="/v2/", status=503, times=2, retry_after="3")
    url = mparticle_emulator.url + "/v2/calculatedattributes"
    answers = [requests.post(url, json={}, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 401]
    assert answers[0].headers["Retry-After"] == "3"


def test_rate_limit_counts_users_and_reports_usage(mparticle_emulator, client):
    client.calculated_attributes.create("LTV", _definition())
    mparticle_emulator.control.set_rate_limit(10, path="bulk")
    users = [_user(i) for i in range(8)]
    headers = basic("emulator-api-key", "emulator-api-secret")
    url = mparticle_emulator.url + "/v2/bulkcalculatedattributes"
    first = requests.post(url, json=users, headers=headers, timeout=5)
    assert first.status_code == 202
    assert float(first.headers["X-mp-rate-limit-percentage-used"]) >= 79
    second = requests.post(url, json=users, headers=headers, timeout=5)
    assert second.status_code == 429
    assert second.headers["X-mp-rate-limit-exceeded"] == "workspace"
    assert int(second.headers["Retry-After"]) >= 1


def test_latency_is_added(mparticle_emulator):
    mparticle_emulator.control.set_latency(150)
    started = time.monotonic()
    requests.post(mparticle_emulator.url + "/v2/calculatedattributes", json={}, timeout=5)
    assert time.monotonic() - started >= 0.15


def test_console_script_serves_on_the_given_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_mparticle.testing.emulator.server", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        deadline = time.monotonic() + 20
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=2).json() == {
                    "status": "ok"
                }
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _definition():
    from tests.conftest import VALID_DEFINITION

    return VALID_DEFINITION


def _user(i):
    return {
        "environment": "development",
        "identities": {"customer_id": f"c{i}"},
        "calculated_attributes": {
            "workspace": [
                {
                    "attribute_name": "LTV",
                    "calculation_type": "sum",
                    "cutoff_date": "2026-06-01",
                    "seed": {"value": i},
                }
            ]
        },
    }
