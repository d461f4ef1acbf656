"""A drift check for definitions kept as code: fail when what is live in mParticle differs from them.

Run it nightly, or from a DAG repository's CI before a deploy. ``mode="check"`` writes nothing; the task
log shows the difference against the live and the draft definition as a diff (for Warehouse Sync, per
object and field by field), and the plan is in XCom (``change_plan``). Fix the drift by deploying
(``mode="apply"``, the default) or by changing the code.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.operators.data_planning import MParticleDeployDataPlanOperator
from airflow_provider_mparticle.operators.warehouse_sync import MParticleEnsureWarehouseSyncOperator

with DAG(
    dag_id="example_mparticle_drift_check",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_drift_check]
    check_calculated_attribute = MParticleEnsureCalculatedAttributeOperator(
        task_id="check_lifetime_value",
        definition="calculated_attributes/lifetime_value.yaml",
        mode="check",
        retries=0,
    )
    check_data_plan = MParticleDeployDataPlanOperator(
        task_id="check_data_plan",
        plan_file="data_plans/mobile_app.json",
        mode="check",
        retries=0,
    )
    # [END howto_operator_mparticle_drift_check]

    # [START howto_operator_mparticle_warehouse_sync_drift_check]
    check_warehouse_sync = MParticleEnsureWarehouseSyncOperator(
        task_id="check_warehouse_sync",
        file="warehouse_sync.yaml",
        mode="check",
        retries=0,
    )
    # [END howto_operator_mparticle_warehouse_sync_drift_check]
