"""Trigger a Warehouse Sync pipeline, wait for its run in the triggerer, and use its record counts.

The pipeline id comes from the ``pipeline_id`` param; left empty, from the ``mparticle_pipeline_id``
Variable, else ``example-pipeline`` (read when the task runs, not when the file is parsed). A retry after a worker crash reconnects to the run the task started.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param, task

from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator

with DAG(
    dag_id="example_mparticle_warehouse_sync",
    start_date=dt.datetime(2026, 1, 1),
    schedule=None,
    catchup=False,
    params={
        "pipeline_id": Param(
            None,
            type=["null", "string"],
            description="Warehouse Sync pipeline to trigger (an on-demand pipeline).",
        ),
        "max_failed_records": Param(0, type="integer", minimum=0),
    },
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_trigger_pipeline]
    sync = MParticleTriggerPipelineOperator(
        task_id="sync_users_from_warehouse",
        pipeline_id="{{ params.pipeline_id or var.value.get('mparticle_pipeline_id', 'example-pipeline') }}",
        deferrable=True,
        poll_interval=60,
        wait_timeout=6 * 3600,
        max_failed_records=100,
        retries=2,
    )
    # [END howto_operator_mparticle_trigger_pipeline]

    @task
    def report_counts(result: dict, params=None) -> str:
        """Downstream use of the run's record counts."""
        if result["failed_records"] > params["max_failed_records"]:
            print(f"{result['failed_records']} records failed; check the pipeline's errors in mParticle")
        return f"run {result['run_id']}: {result['successful_records']} synced, {result['failed_records']} failed"

    report_counts(sync.output)
