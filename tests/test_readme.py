"""What the README tells a newcomer to paste works as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_provider_mparticle.testing.emulator.server import (
    adobe_connection_json,
    mparticle_connection_json,
)

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def exported_connections() -> dict[str, dict]:
    """The JSON connections the README exports in its emulator section, by variable name."""
    section = README[README.index("Or run it as a server") :]
    found = re.findall(r"export (AIRFLOW_CONN_\w+)='(\{.*?\})'", section, flags=re.DOTALL)
    return {name: json.loads(body) for name, body in found}


def test_the_readme_names_the_credentials_the_command_line_emulator_accepts():
    connections = exported_connections()
    url = "http://127.0.0.1:8080"
    assert connections["AIRFLOW_CONN_MPARTICLE_DEFAULT"] == mparticle_connection_json(url)
    assert connections["AIRFLOW_CONN_ADOBE_AEP_DEFAULT"] == adobe_connection_json(url)


@pytest.mark.parametrize("name", ["AIRFLOW_CONN_MPARTICLE_DEFAULT", "AIRFLOW_CONN_ADOBE_AEP_DEFAULT"])
def test_the_readme_connections_reach_a_running_emulator(name, mparticle_emulator, monkeypatch):
    from airflow_provider_mparticle.hooks.adobe import AdobeExperiencePlatformHook
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    text = json.dumps(exported_connections()[name]).replace("http://127.0.0.1:8080", mparticle_emulator.url)
    monkeypatch.setenv(name, text)
    hook = MParticleHook() if "MPARTICLE" in name else AdobeExperiencePlatformHook()
    ok, message = hook.test_connection()
    assert ok, message
