"""Calculated attributes as code: ensure the definition -> seed -> activate -> wait for the calculation.

The definition lives in ``calculated_attributes/lifetime_value.yaml`` next to this file. Downstream DAGs
can be scheduled on the calculated attribute's asset, emitted when the calculation is done.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, XComArg, task

from airflow_provider_mparticle.assets import calculated_attribute_asset
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.sensors.calculated_attributes import MParticleCalculationSensor

WORKSPACE_ID = os.environ.get("MPARTICLE_WORKSPACE_ID", "1")
CA_NAME = "Lifetime value"

with DAG(
    dag_id="mparticle_seed_and_activate",
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

    # seed step: replaced by MParticleSeedCalculatedAttributesOperator when it lands
    @task
    def seed(summary: dict) -> int:
        from airflow_provider_mparticle.hooks.mparticle import MParticleHook

        lifetime_values = {"1001": "250.50", "1002": "99.00", "1003": "1200"}
        users = [
            {
                "environment": "development",
                "mpid": int(mpid),
                "calculated_attributes": {
                    "workspace": [
                        {
                            "attribute_name": summary["name"],
                            "calculation_type": summary["calculation_type"],
                            "cutoff_date": summary["cutoff_date"],
                            "seed": {"value": value},
                        }
                    ]
                },
            }
            for mpid, value in lifetime_values.items()
        ]
        with MParticleHook().get_client() as client:
            client.seeding.seed_users(users)
        return len(users)

    seeded = seed(XComArg(ensure, key="calculated_attribute"))

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

    ensure >> seeded >> activate >> wait
