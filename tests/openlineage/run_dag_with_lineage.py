"""Run ``dags/mparticle_lineage.py`` with ``dag.test()`` and Airflow's OpenLineage listener; write the events.

Usage: ``python -m tests.openlineage.run_dag_with_lineage OUT.json``. A child process, because the
OpenLineage provider reads its configuration once per process: here the events go to
:class:`~tests.openlineage.collecting.CollectingTransport`, and ``execute_in_thread`` keeps emission in
this process (by default it forks). ``dag.test()`` needs the DAG in its bundle: the DAGs folder is set
to ``dags/`` beside this file. The connections ``mparticle_default`` and ``seed_db`` come from the
environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import sys

DAGS = pathlib.Path(__file__).resolve().parent / "dags"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
    {"type": "tests.openlineage.collecting.CollectingTransport"}
)
os.environ["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] = "True"
os.environ["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "mparticle-tests"


def main(out: str) -> None:
    from openlineage.client.serde import Serde

    from tests.openlineage.collecting import CollectingTransport

    spec = importlib.util.spec_from_file_location("mparticle_lineage_dag", DAGS / "mparticle_lineage.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test()
    events = [Serde.to_dict(event) for event in CollectingTransport.events]
    pathlib.Path(out).write_text(json.dumps({"state": str(run.state), "events": events}), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
