"""Pause a Warehouse Sync pipeline for a warehouse maintenance window, resume it, then sync once and wait.

The run is started without waiting in the operator, and a sensor waits for it in the triggerer: the
shape to use when the run is started elsewhere (another DAG, the mParticle UI, a schedule) and only
its end matters here. The pipeline id comes from the ``pipeline_id`` param.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider_mparticle.operators.warehouse_sync import (
    MParticlePausePipelineOperator,
    MParticleResumePipelineOperator,
    MParticleTriggerPipelineOperator,
)
from airflow_provider_mparticle.sensors.warehouse_sync import MParticlePipelineRunSensor

with DAG(
    dag_id="example_mparticle_pipeline_control",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule=None,
    catchup=False,
    params={"pipeline_id": Param("example-control-pipeline", type="string")},
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_pause_pipeline]
    pause = MParticlePausePipelineOperator(task_id="pause_pipeline", pipeline_id="{{ params.pipeline_id }}")
    # [END howto_operator_mparticle_pause_pipeline]

    # [START howto_operator_mparticle_resume_pipeline]
    resume = MParticleResumePipelineOperator(
        task_id="resume_pipeline", pipeline_id="{{ params.pipeline_id }}"
    )
    # [END howto_operator_mparticle_resume_pipeline]

    start = MParticleTriggerPipelineOperator(
        task_id="start_sync", pipeline_id="{{ params.pipeline_id }}", wait_for_completion=False
    )

    # [START howto_sensor_mparticle_pipeline_run]
    wait = MParticlePipelineRunSensor(
        task_id="wait_for_sync",
        pipeline_id="{{ params.pipeline_id }}",
        run_id="{{ ti.xcom_pull(task_ids='start_sync')['run_id'] }}",
        deferrable=True,
        poke_interval=60,
        timeout=6 * 3600,
    )
    # [END howto_sensor_mparticle_pipeline_run]

    pause >> resume >> start >> wait
