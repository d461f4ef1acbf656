"""The DAG the OpenLineage end-to-end test runs: seed ``LTV`` from the SQLite warehouse, then sync a pipeline.

Connections ``mparticle_default`` and ``seed_db`` come from the environment (see run_dag_with_lineage.py).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator

LTV = {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}

with DAG("mparticle_lineage", schedule=None, start_date=pendulum.datetime(2026, 3, 1, tz="UTC")) as dag:
    seed = MParticleSeedCalculatedAttributesOperator(
        task_id="seed_ltv",
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        sql="SELECT customer_id, ltv FROM customer_ltv WHERE ltv > {{ params.min_ltv }}",
        sql_conn_id="seed_db",
        params={"min_ltv": 0},
    )
    sync = MParticleTriggerPipelineOperator(
        task_id="sync_users", pipeline_id="example-pipeline", deferrable=False, poll_interval=0.05
    )
    seed >> sync
