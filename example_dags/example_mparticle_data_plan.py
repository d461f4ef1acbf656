"""Data plans as code: deploy the plan kept next to this DAG, then check sample batches against it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_mparticle.operators.data_planning import (
    MParticleDeployDataPlanOperator,
    MParticleValidateBatchOperator,
)

with DAG(
    dag_id="example_mparticle_data_plan",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_deploy_data_plan]
    deploy = MParticleDeployDataPlanOperator(
        task_id="deploy_data_plan",
        plan_file="data_plans/mobile_app.json",
    )
    # [END howto_operator_mparticle_deploy_data_plan]

    # [START howto_operator_mparticle_validate_batch]
    validate = MParticleValidateBatchOperator(
        task_id="validate_sample_batches",
        data_plan_id="{{ ti.xcom_pull(task_ids='deploy_data_plan')['data_plan_id'] }}",
        version=1,
        batches_file="data_plans/sample_batches.json",
        policy="fail",
    )
    # [END howto_operator_mparticle_validate_batch]

    deploy >> validate
