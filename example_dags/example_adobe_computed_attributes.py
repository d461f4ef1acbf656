"""Keep an Adobe Experience Platform computed attribute as code, start its evaluation and wait for it.

Runs against the local emulator in the test suite (``dag.test()``); point ``adobe_aep_default`` at AEP to
run it for real.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_mparticle.operators.adobe import (
    AdobeEnsureComputedAttributeOperator,
    AdobeSetComputedAttributeStatusOperator,
)
from airflow_provider_mparticle.sensors.adobe import AdobeComputedAttributeSensor

with DAG(
    dag_id="example_adobe_computed_attributes",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule=None,
    catchup=False,
    tags=["adobe", "example"],
) as dag:
    # [START howto_operator_adobe_ensure_computed_attribute]
    ensure = AdobeEnsureComputedAttributeOperator(
        task_id="ensure_lifetime_value",
        name="lifetimeValue7d",
        display_name="Lifetime value (7 days)",
        description="Sum of order totals over the last 7 days.",
        expression="xEvent[commerce.order.priceTotal > 0.0].sum(commerce.order.priceTotal)",
        duration={"count": 7, "unit": "DAYS"},
    )
    # [END howto_operator_adobe_ensure_computed_attribute]

    # [START howto_operator_adobe_set_computed_attribute_status]
    activate = AdobeSetComputedAttributeStatusOperator(
        task_id="activate_lifetime_value",
        attribute_id="{{ ti.xcom_pull(task_ids='ensure_lifetime_value') }}",
        status="NEW",
    )
    # [END howto_operator_adobe_set_computed_attribute_status]

    # [START howto_sensor_adobe_computed_attribute]
    wait = AdobeComputedAttributeSensor(
        task_id="wait_lifetime_value",
        attribute_id="{{ ti.xcom_pull(task_ids='ensure_lifetime_value') }}",
        deferrable=True,
        poke_interval=1,
        timeout=300,
    )
    # [END howto_sensor_adobe_computed_attribute]

    ensure >> activate >> wait
