from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Before anything imports Airflow: a project-local Airflow home with SQLite, the example DAGs as the
# DAGs folder (``dag.test()`` looks DAGs up in their bundle), and no Airflow example DAGs.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "example_dags"))

from airflow_provider_mparticle.client import MParticleClient  # noqa: E402

VALID_DEFINITION = {
    "recipe_type": "event",
    "datapoint": {
        "type": "event",
        "event_name": "Purchase",
        "attribute_name": "Total Amount",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
    },
    "conditions": [],
    "calculation_type": "sum",
    "time_period": {"type": "since", "date": "2026-01-01T00:00:00", "within": None, "within_unit": None},
    "seeding": {"cutoff_date": "2026-06-01T00:00:00"},
}


def definition(**changes):
    """A valid draft definition with some fields replaced."""
    result = {**VALID_DEFINITION, **changes}
    return result


@pytest.fixture
def client(mparticle_settings):
    with MParticleClient(mparticle_settings) as c:
        yield c


# --- Airflow metadata DB for dag.test() ---------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_db():
    """An up-to-date SQLite metadata DB in the Airflow home (``airflow db migrate``, once per session)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return os.environ["AIRFLOW_HOME"]


def load_example_dag(dag_id: str):
    """The ``dag`` of ``example_dags/<dag_id>.py``."""
    import importlib.util

    path = ROOT / "example_dags" / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(f"example_dags_{dag_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_dag(dag_id: str, **kwargs):
    """Run an example DAG with ``dag.test()``; returns the DagRun."""
    return load_example_dag(dag_id).test(**kwargs)


def stored_outputs(*dag_runs) -> dict[str, str]:
    """What the metadata DB shows of DAG runs, as JSON text: every XCom value
    (``xcom <dag>.<task>.<key>``) and every task's rendered template fields (``rendered <dag>.<task>``)."""
    import json

    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    shown: dict[str, str] = {}
    with create_session() as session:
        for run in dag_runs:
            for row in session.query(XComModel).filter_by(dag_id=run.dag_id, run_id=run.run_id):
                shown[f"xcom {row.dag_id}.{row.task_id}.{row.key}"] = json.dumps(row.value, default=str)
            for row in session.query(RenderedTaskInstanceFields).filter_by(
                dag_id=run.dag_id, run_id=run.run_id
            ):
                shown[f"rendered {row.dag_id}.{row.task_id}"] = json.dumps(row.rendered_fields, default=str)
    return shown


# --- A task context for calling execute() / poke() directly -------------------------------------


class RecordingTaskInstance:
    """Stands in for Airflow's task instance where tests call ``execute()`` directly: records XCom."""

    def __init__(self):
        self.xcom: dict = {}
        self.stats_tags: dict = {}  # read by ResumableJobMixin
        self.try_number = 1

    def xcom_push(self, key, value):
        self.xcom[key] = value

    def get_first_reschedule_date(self, context):
        return None


@pytest.fixture
def task_context():
    return {"ti": RecordingTaskInstance(), "ds": "2026-03-01"}


@pytest.fixture(autouse=True)
def _fresh_connection_cache():
    """Tests change connections between runs: forget the connections triggers looked up before."""
    from airflow_provider_mparticle.hooks.base import CONNECTION_SETTINGS_CACHE

    CONNECTION_SETTINGS_CACHE.clear()
