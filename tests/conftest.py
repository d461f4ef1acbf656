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


# --- Airflow metadata DB for dag.test() ------------------------------------------------------------
# Self-contained block, shared by every test that runs a DAG: request the ``airflow_db`` fixture.


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory):
    """A migrated SQLite metadata DB in a temporary folder, for ``dag.test()`` (about 5 s, once per session).

    ``dag.test()`` runs DAGs from a bundle: the DAGs folder is the repository's ``example_dags``.
    """
    import os
    import pathlib
    import subprocess
    import sys

    from airflow import settings

    url = f"sqlite:///{tmp_path_factory.mktemp('airflow_db') / 'airflow.db'}"
    overrides = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__CORE__DAGS_FOLDER": str(pathlib.Path(__file__).parents[1] / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    settings.configure_vars()
    settings.reconfigure_orm()
    yield url
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings.configure_vars()
    settings.reconfigure_orm()
