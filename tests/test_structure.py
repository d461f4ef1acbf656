"""Structure rules: layering, registration and cheap imports."""

from __future__ import annotations

import importlib
import json
import pathlib
import pkgutil
import subprocess
import sys

import airflow_provider_mparticle
from airflow_provider_mparticle.connection_fields import MPARTICLE_FIELDS
from airflow_provider_mparticle.get_provider_info import get_provider_info

HEAVY = (
    "requests",
    "httpx",
    "tenacity",
    "fastapi",
    "uvicorn",
    "airflow_provider_mparticle.client.core.transport",
)


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_client_package_imports_without_airflow():
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ImportError("airflow is blocked")
sys.meta_path.insert(0, Block())
import airflow_provider_mparticle.client as c
import airflow_provider_mparticle.client.calculated_attributes, airflow_provider_mparticle.client.seeding
print(sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow.")))
"""
    assert run_python(code).strip() == "[]"


def test_client_modules_never_import_airflow_in_source():
    package = importlib.import_module("airflow_provider_mparticle.client")
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        source = importlib.util.find_spec(info.name).origin
        text = pathlib.Path(source).read_text(encoding="utf-8")
        assert "import airflow\n" not in text
        assert "from airflow." not in text, info.name
        assert "from airflow " not in text, info.name


def airflow_modules():
    names = ["airflow_provider_mparticle.hooks.mparticle"]
    for sub in ("operators", "sensors", "triggers", "links"):
        package = importlib.import_module(f"airflow_provider_mparticle.{sub}")
        names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return names


def test_airflow_facing_modules_import_no_http_stack_at_parse_time():
    # The scheduler imports DAG files (and so these modules) constantly: clients load on first use.
    modules = airflow_modules()
    code = f"""
import sys, json
import airflow.sdk
before = set(sys.modules)
for name in {modules!r}:
    __import__(name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""
    loaded = json.loads(run_python(code).strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []


def test_provider_info_matches_airflow_schema_and_lists_every_public_class():
    import jsonschema

    schema_path = (
        importlib.util.find_spec("airflow").submodule_search_locations[0] + "/provider_info.schema.json"
    )
    info = get_provider_info()
    jsonschema.validate(info, json.loads(pathlib.Path(schema_path).read_text(encoding="utf-8")))
    listed = set()
    for key in ("operators", "sensors", "triggers", "hooks"):
        for entry in info.get(key, []):
            listed.update(entry["python-modules"])
    for name in airflow_modules():
        module = importlib.import_module(name)
        public = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == name]
        if public and ".links." not in name:
            assert name in listed, f"{name} is not listed in get_provider_info()"


def test_airflow_loads_the_provider_without_warnings():
    code = """
import logging, warnings
logging.basicConfig(level=logging.WARNING)
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    pm = ProvidersManager()
    assert "airflow-provider-mparticle" in pm.providers, sorted(pm.providers)
    hook = ProvidersManagerTaskRuntime().hooks["mparticle"]
    widgets = [k for k in pm.connection_form_widgets if k.startswith("extra__mparticle__")]
    behaviour = pm.field_behaviours["mparticle"]
print(hook.hook_class_name, hook.connection_type, len(widgets), behaviour["hidden_fields"])
for w in caught:
    if "mparticle" in str(w.message).lower():
        print("WARNING", w.message)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    fields = len(MPARTICLE_FIELDS)
    assert f"airflow_provider_mparticle.hooks.mparticle.MParticleHook mparticle {fields}" in result.stdout
    assert "WARNING" not in result.stdout
    assert [line for line in result.stderr.splitlines() if "mparticle" in line.lower()] == []


def test_version_is_consistent():
    assert get_provider_info()["versions"][0] == airflow_provider_mparticle.__version__
