"""The provider imports and runs without apache-airflow-providers-openlineage (an optional extra)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, VALID_DEFINITION

# Runs in a child process that sees the OpenLineage packages as not installed: their modules cannot be
# imported, and their distributions (the provider's entry point, for one) are not listed.
WITHOUT_OPENLINEAGE = r"""
import importlib.abc, importlib.metadata, json, sys
import importlib_metadata

BLOCKED = ("openlineage", "airflow.providers.openlineage")
DISTRIBUTIONS = {"apache-airflow-providers-openlineage", "openlineage-python", "openlineage-sql",
                 "openlineage_sql", "openlineage-integration-common"}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

def without(distributions):
    def listed(**kwargs):
        return [d for d in distributions(**kwargs) if d.metadata["Name"] not in DISTRIBUTIONS]
    return listed

sys.meta_path.insert(0, Blocker())
importlib.metadata.distributions = without(importlib.metadata.distributions)
importlib_metadata.distributions = without(importlib_metadata.distributions)

from airflow.sdk import Asset

from airflow_provider_mparticle import openlineage
from airflow_provider_mparticle.get_provider_info import get_provider_info
from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator

class TaskInstance:
    task_id, map_index = "seed", -1
    def xcom_pull(self, **_):
        return summary

operator = MParticleSeedCalculatedAttributesOperator(
    task_id="seed",
    calculated_attributes=[{"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}],
    identities={"customer_id": "customer_id"},
    rows=[{"customer_id": f"c{i}", "ltv": i} for i in range(1, 8)],
)
summary = operator.execute({})
pipeline = MParticleTriggerPipelineOperator(task_id="sync", pipeline_id="p")
print(json.dumps({
    "users_sent": summary["users_sent"],
    "available": openlineage.openlineage_available(),
    "seed_lineage": operator.get_openlineage_facets_on_complete(TaskInstance()),
    "pipeline_lineage": pipeline.get_openlineage_facets_on_complete(TaskInstance()),
    "asset": Asset("mparticle://1/calculated-attributes/Lifetime value").uri,
    "asset_uris": get_provider_info()["asset-uris"][0]["schemes"],
    "loaded": sorted(m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage"))),
}))
"""


def test_package_imports_and_operators_run_without_openlineage(client, mparticle_emulator):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    env = {
        **os.environ,
        "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(mparticle_emulator.connection_uri_json()),
    }
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPENLINEAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "users_sent": 7,
        "available": False,
        "seed_lineage": None,
        "pipeline_lineage": None,
        "asset": "mparticle://1/calculated-attributes/Lifetime%20value",
        "asset_uris": ["mparticle"],
        "loaded": [],
    }
    assert len(mparticle_emulator.control.seeds()) == 7


def test_importing_the_lineage_module_and_operators_loads_no_openlineage_code():
    # Airflow itself reads every provider's get_provider_info when it loads its configuration.
    code = (
        "import sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_mparticle.openlineage, airflow_provider_mparticle.operators.seeding\n"
        "import airflow_provider_mparticle.operators.warehouse_sync\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('openlineage', 'airflow.providers.openlineage'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
