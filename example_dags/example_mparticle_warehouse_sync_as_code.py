"""Warehouse Sync kept as code: ``warehouse_sync.yaml`` beside this file holds the connection, data model
and pipeline; this DAG plans, applies, then syncs once and waits for the run.

Trigger ``example_mparticle_warehouse_sync_as_code`` on every change of the file (the deploy step of
the DAG repository's CI, after the merge): the plan task logs a readable diff per object and pushes it
to XCom (``change_plan``) before the apply writes it. A second apply of the same file sends nothing. The
warehouse password comes from the Airflow connection the file names (``snowflake_mparticle``), never
from the file.

The daily ``example_mparticle_drift_check`` checks the same file for drift (``mode="check"``): it writes
nothing and fails, without retries, when the live workspace differs from the file, naming every field
that drifted.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_mparticle.operators.warehouse_sync import (
    MParticleEnsureWarehouseSyncOperator,
    MParticleTriggerPipelineOperator,
)
from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor

PIPELINE_ID = "{{ ti.xcom_pull(task_ids='apply_warehouse_sync', key='warehouse_sync_ids')['pipelines']['open-tickets-sync'] }}"  # fmt: skip

with DAG(
    dag_id="example_mparticle_warehouse_sync_as_code",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule=None,
    catchup=False,
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_ensure_warehouse_sync]
    plan = MParticleEnsureWarehouseSyncOperator(
        task_id="plan_warehouse_sync",
        file="warehouse_sync.yaml",
        mode="plan",
    )
    apply = MParticleEnsureWarehouseSyncOperator(
        task_id="apply_warehouse_sync",
        file="warehouse_sync.yaml",
        # A running pipeline is never changed mid-run: the apply fails before sending anything and
        # these retries apply the file once the run has ended.
        retries=3,
        retry_delay=dt.timedelta(minutes=10),
    )
    # [END howto_operator_mparticle_ensure_warehouse_sync]

    # [START howto_operator_mparticle_sync_applied_pipeline]
    start = MParticleTriggerPipelineOperator(
        task_id="sync_open_tickets", pipeline_id=PIPELINE_ID, wait_for_completion=False
    )
    wait = MParticlePipelineRunSensor(
        task_id="wait_for_open_tickets",
        pipeline_id=PIPELINE_ID,
        run_id="{{ ti.xcom_pull(task_ids='sync_open_tickets')['run_id'] }}",
        deferrable=True,
        poke_interval=60,
        timeout=6 * 3600,
    )
    # [END howto_operator_mparticle_sync_applied_pipeline]

    plan >> apply >> start >> wait
