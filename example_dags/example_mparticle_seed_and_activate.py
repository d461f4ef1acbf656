"""Calculated attributes as code: ensure the definition -> seed from SQL -> activate -> wait.

The definition lives in ``calculated_attributes/lifetime_value.yaml`` next to this file. Downstream DAGs
can be scheduled on the calculated attribute's asset, emitted when the calculation is done.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_mparticle.assets import calculated_attribute_asset
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor

WORKSPACE_ID = os.environ.get("MPARTICLE_WORKSPACE_ID", "1")
CA_NAME = "Lifetime value"
# The warehouse holding the values to seed: any common.sql connection (Snowflake, BigQuery, Postgres,
# SQLite...); the demo points it at a SQLite file.
WAREHOUSE_CONN_ID = "mparticle_example_warehouse"

with DAG(
    dag_id="example_mparticle_seed_and_activate",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_ensure_calculated_attribute]
    ensure = MParticleEnsureCalculatedAttributeOperator(
        task_id="ensure_calculated_attribute",
        definition="calculated_attributes/lifetime_value.yaml",
        # Renaming, or changing the calculation type or cutoff date, deletes seeds: refused by default.
        allow_seed_reset=False,
    )
    # [END howto_operator_mparticle_ensure_calculated_attribute]

    @task
    def compute_lifetime_values() -> None:
        """Stands in for the warehouse job that sums each customer's purchases before the cutoff."""
        from airflow.sdk import BaseHook

        warehouse = BaseHook.get_connection(WAREHOUSE_CONN_ID).get_hook()
        warehouse.run(
            [
                "CREATE TABLE IF NOT EXISTS customer_ltv (mpid INTEGER PRIMARY KEY, ltv REAL)",
                "DELETE FROM customer_ltv",
                "INSERT INTO customer_ltv VALUES (1001, 250.5), (1002, 99.0), (1003, 1200.0)",
            ]
        )

    # [START howto_operator_mparticle_seed_from_sql]
    seeded = MParticleSeedCalculatedAttributesOperator(
        task_id="seed_calculated_attribute",
        sql_conn_id=WAREHOUSE_CONN_ID,
        sql="SELECT mpid, ltv FROM customer_ltv ORDER BY mpid",
        mpid_column="mpid",
        # Name, calculation type and cutoff date as the ensure task found or made them.
        calculated_attributes=[
            {
                "name": "{{ ti.xcom_pull(task_ids='ensure_calculated_attribute', key='calculated_attribute')['name'] }}",
                "calculation_type": "{{ ti.xcom_pull(task_ids='ensure_calculated_attribute', key='calculated_attribute')['calculation_type'] }}",
                "cutoff_date": "{{ ti.xcom_pull(task_ids='ensure_calculated_attribute', key='calculated_attribute')['cutoff_date'] }}",
                "column": "ltv",
            }
        ],
        environment="development",
    )
    # [END howto_operator_mparticle_seed_from_sql]

    # [START howto_operator_mparticle_activate_calculated_attribute]
    activate = MParticleActivateCalculatedAttributeOperator(
        task_id="activate_calculated_attribute",
        ca_id=ensure.output,
    )
    # [END howto_operator_mparticle_activate_calculated_attribute]

    # [START howto_sensor_mparticle_calculation]
    wait = MParticleCalculationSensor(
        task_id="wait_for_calculation",
        ca_id=ensure.output,
        deferrable=True,
        poke_interval=60,
        timeout=24 * 3600,
        outlets=[calculated_attribute_asset(WORKSPACE_ID, CA_NAME)],
    )
    # [END howto_sensor_mparticle_calculation]

    [ensure, compute_lifetime_values()] >> seeded >> activate >> wait
