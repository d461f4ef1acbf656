"""pytest fixtures for DAG authors and this project's tests: a local mParticle emulator.

Registered through the ``pytest11`` entry point, so installing the provider makes them available:

- ``mparticle_emulator_server``: one emulator per test session on a free loopback port;
- ``mparticle_emulator``: the same server, reset before each test (no propagation delay, calculations
  done after three reads), then set to the saved workspace of the test's
  ``@pytest.mark.mparticle_workspace("file.json")`` marker if it has one (a file written by
  ``EmulatorControl.save_snapshot``, relative to the test module's folder);
- ``mparticle_conn_id``: an ``mparticle_default`` connection pointed at it (``AIRFLOW_CONN_...``);
- ``adobe_aep_settings`` / ``adobe_aep_conn_id``: the same for Adobe Experience Platform
  (``adobe_aep_default``), served by the same emulator.

``--mparticle-journal-dir DIR`` writes each test's request journal to ``DIR/<test id>.jsonl`` after the
test (secrets masked), for assertions or a CI artifact; ``read_journal`` reads one back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_mparticle.client import ClientSettings
    from airflow_provider_mparticle.client.adobe import AdobeClientSettings
    from airflow_provider_mparticle.testing.emulator import EmulatorServer

TEST_SETTINGS: dict[str, Any] = {"propagation_seconds": 0.0, "progress_mode": "reads", "progress_steps": 3}
WORKSPACE_MARKER = "mparticle_workspace"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--mparticle-journal-dir",
        default=None,
        help="write the mParticle emulator's request journal of each test to DIR/<test id>.jsonl",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{WORKSPACE_MARKER}(snapshot): start the test's mParticle emulator from a saved workspace "
        "(a snapshot file, relative to the test module, or a snapshot dict)",
    )


@pytest.fixture(scope="session")
def mparticle_emulator_server() -> Iterator[EmulatorServer]:
    from airflow_provider_mparticle.testing.emulator import EmulatorServer

    with EmulatorServer(**TEST_SETTINGS) as server:
        yield server


@pytest.fixture
def mparticle_emulator(
    mparticle_emulator_server: EmulatorServer, request: pytest.FixtureRequest
) -> Iterator[EmulatorServer]:
    """The session's emulator, reset to a clean state (and the tokens it had issued forgotten) or to the
    test's ``mparticle_workspace``."""
    from airflow_provider_mparticle.client.core.tokens import clear_token_cache

    control = mparticle_emulator_server.control
    control.reset()
    clear_token_cache()
    marker = request.node.get_closest_marker(WORKSPACE_MARKER)
    if marker is not None:
        snapshot = marker.args[0] if marker.args else marker.kwargs["snapshot"]
        if not isinstance(snapshot, dict):
            snapshot = Path(request.path).parent / snapshot
        control.restore(snapshot)
    yield mparticle_emulator_server
    journal_dir = request.config.getoption("--mparticle-journal-dir")
    if journal_dir:
        Path(journal_dir).mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
        control.export_journal(Path(journal_dir) / f"{name}.jsonl")


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
    from airflow_provider_mparticle.testing.emulator.adobe.models import TOKEN_PATH

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
    from airflow_provider_mparticle.testing.emulator.adobe.models import connection_json

    conn = connection_json(mparticle_emulator.url, mparticle_emulator.state)
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_AEP_DEFAULT", json.dumps(conn))
    return "adobe_aep_default"
