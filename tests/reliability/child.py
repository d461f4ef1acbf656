"""Run in a child process that the tests kill: the seed operator, or the pipeline operator, on a file store.

``python -m tests.reliability.child seed <store> <users> <concurrency> <checkpoint_interval>``
``python -m tests.reliability.child pipeline <store> <pipeline_id>``

The connection comes from ``AIRFLOW_CONN_MPARTICLE_DEFAULT``. The last line printed is ``RESULT <json>``.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
from typing import Any


class FileStore:
    """Stands in for Airflow's ``task_state_store`` (get / set / delete), kept in a JSON file.

    Every write replaces the file atomically, as a database commit would, so a kill at any moment
    leaves either the old or the new value.
    """

    def __init__(self, path: str) -> None:
        self.path = pathlib.Path(path)

    def _read(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return {}

    def _write(self, values: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        os.replace(tmp, self.path)

    def get(self, key: str, default: Any = None) -> Any:
        return self._read().get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self._write({**self._read(), key: value})

    def delete(self, key: str) -> None:
        values = self._read()
        values.pop(key, None)
        self._write(values)


def seed(store: str, users: int, concurrency: int, checkpoint_interval: float) -> Any:
    from airflow_provider_mparticle.operators.calculated_attributes import (
        MParticleSeedCalculatedAttributesOperator,
    )
    from benchmarks.seeding import LTV

    rows = [{"customer_id": f"c{i}", "ltv": i * 0.5} for i in range(1, users + 1)]
    op = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        rows=rows,
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        validation_pass=False,
        preflight=False,
        concurrency=concurrency,
        checkpoint_interval=checkpoint_interval,
        progress_interval=3600,
    )
    return op.execute({"task_state_store": FileStore(store)})  # type: ignore[arg-type]


def pipeline(store: str, pipeline_id: str) -> Any:
    from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator

    op = MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id=pipeline_id, deferrable=False, poll_interval=0.1
    )
    return op.execute({"task_state_store": FileStore(store)})  # type: ignore[arg-type]


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "seed":
        result = seed(args[0], int(args[1]), int(args[2]), float(args[3]))
    else:
        result = pipeline(args[0], args[1])
    print("RESULT " + json.dumps(result, default=str), flush=True)
