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


# --- Airflow metadata DB for dag.test() (self-contained block) ------------------------------------------
# dag.test() needs a migrated metadata DB. Point Airflow at a throw-away home (SQLite) before anything
# imports airflow, and migrate it once per session, only when a test asks for ``airflow_db``.
import os as _os  # noqa: E402
import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402
import tempfile as _tempfile  # noqa: E402

if "airflow" not in _sys.modules and not _os.environ.get("MPARTICLE_TESTS_KEEP_AIRFLOW_HOME"):
    _AIRFLOW_HOME = _tempfile.mkdtemp(prefix="mparticle-airflow-home-")
    _os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
    _os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
    _os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    _os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    # dag.test() serialises the DAG from the dags folder: the example DAGs are that folder.
    _os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = _os.path.join(
        _os.path.dirname(_os.path.dirname(__file__)), "example_dags"
    )


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB (SQLite in a temporary AIRFLOW_HOME)."""
    result = _subprocess.run(
        [_sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return _os.environ.get("AIRFLOW_HOME")
