"""The client package loads names on first use: errors, settings and models cost no HTTP stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("requests", "httpx", "tenacity", "airflow_provider_mparticle.client.core.transport")


def _loaded_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    return [m for m in HEAVY if m in modules]


def test_errors_settings_and_models_load_no_http_stack():
    assert _loaded_after("import airflow_provider_mparticle.client.core.errors") == []
    assert (
        _loaded_after("from airflow_provider_mparticle.client import ClientSettings, MParticleError, Pod")
        == []
    )
    assert _loaded_after("from airflow_provider_mparticle.client.warehouse_sync import PipelineRun") == []
    assert _loaded_after("from airflow_provider_mparticle.client.adobe import ComputedAttributeStatus") == []


def test_clients_load_the_http_stack_when_asked_for():
    loaded = _loaded_after("from airflow_provider_mparticle.client import MParticleClient")
    assert loaded == ["requests", "httpx", "airflow_provider_mparticle.client.core.transport"]


def test_unknown_names_are_attribute_errors():
    import airflow_provider_mparticle.client as client

    assert "MParticleClient" in dir(client)
    assert set(client.__all__) <= set(dir(client))
    with pytest.raises(AttributeError, match="NoSuchThing"):
        client.NoSuchThing  # noqa: B018
