from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import MParticleClient

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


# --- Airflow metadata DB for dag.test() -------------------------------------------------------------
# Self-contained: a session-wide SQLite DB in a temporary AIRFLOW_HOME, migrated once, with the example
# DAGs as the dags folder. The in-process ORM is pointed at it and back afterwards.

EXAMPLE_DAGS = __import__("pathlib").Path(__file__).resolve().parent.parent / "example_dags"


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory):
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("airflow_home")
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_HOME", str(home))
    patch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(EXAMPLE_DAGS))
    patch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from airflow import settings

    settings.configure_vars()
    settings.reconfigure_orm()
    yield home
    patch.undo()
    settings.configure_vars()
    settings.reconfigure_orm()
