"""pytest fixtures for DAG authors and this project's tests: a local mParticle emulator.

Registered through the ``pytest11`` entry point, so installing the provider makes them available:

- ``mparticle_emulator_server``: one emulator per test session on a free loopback port;
- ``mparticle_emulator``: the same server, reset before each test (no propagation delay, calculations
  done after three reads);
- ``mparticle_conn_id``: an ``mparticle_default`` connection pointed at it (``AIRFLOW_CONN_...``);
- ``adobe_aep_settings`` / ``adobe_aep_conn_id``: the same for Adobe Experience Platform
  (``adobe_aep_default``), served by the same emulator.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_mparticle.client import ClientSettings
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings
    from airflow_provider_mparticle.testing.emulator import EmulatorServer

TEST_SETTINGS: dict[str, Any] = {"propagation_seconds": 0.0, "progress_mode": "reads", "progress_steps": 3}


@pytest.fixture(scope="session")
def mparticle_emulator_server() -> Iterator[EmulatorServer]:
    from airflow_provider_mparticle.testing.emulator import EmulatorServer

    with EmulatorServer(**TEST_SETTINGS) as server:
        yield server


@pytest.fixture
def mparticle_emulator(mparticle_emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator, reset to a clean state (and the tokens it had issued forgotten)."""
    from airflow_provider_mparticle.client.tokens import clear_token_cache

    mparticle_emulator_server.control.reset()
    clear_token_cache()
    return mparticle_emulator_server


@pytest.fixture
def mparticle_settings(mparticle_emulator: EmulatorServer) -> ClientSettings:
    """Client settings for the emulator, with short retry waits."""
    return mparticle_emulator.client_settings()


@pytest.fixture
def mparticle_conn_id(mparticle_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``mparticle_default`` pointed at the emulator through ``AIRFLOW_CONN_MPARTICLE_DEFAULT``."""
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(mparticle_emulator.connection_uri_json()))
    return "mparticle_default"


# --- Adobe Experience Platform ---------------------------------------------------------------------


@pytest.fixture
def adobe_aep_settings(mparticle_emulator: EmulatorServer) -> AdobeClientSettings:
    """Adobe client settings for the (reset) emulator's ``prod`` sandbox, with short retry waits."""
    from airflow_provider_mparticle.client import RetrySettings
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings
    from airflow_provider_mparticle.testing.emulator.adobe_computed_attributes import TOKEN_PATH

    settings = mparticle_emulator.state.backends["adobe_computed_attributes"].settings
    return AdobeClientSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        org_id=settings.org_id,
        sandbox_name="prod",
        platform_url=mparticle_emulator.url,
        ims_token_url=mparticle_emulator.url + TOKEN_PATH,
        timeout=10.0,
        retry=RetrySettings(max_attempts=5, initial_backoff=0.01, max_backoff=2.0, max_elapsed=30.0),
    )


@pytest.fixture
def adobe_aep_conn_id(mparticle_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``adobe_aep_default`` pointed at the emulator through ``AIRFLOW_CONN_ADOBE_AEP_DEFAULT``."""
    from airflow_provider_mparticle.testing.emulator.adobe_computed_attributes import connection_json

    conn = connection_json(mparticle_emulator.url, mparticle_emulator.state)
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_AEP_DEFAULT", json.dumps(conn))
    return "adobe_aep_default"
