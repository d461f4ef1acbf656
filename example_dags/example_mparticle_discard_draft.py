"""Roll back an unreleased change: discard a calculated attribute's draft definition.

The active definition, if any, keeps being calculated; a calculated attribute that was never activated
keeps its name and no definition. The calculated attribute comes from the ``ca_name`` param.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleDeleteCalculatedAttributeDraftOperator,
)

with DAG(
    dag_id="example_mparticle_discard_draft",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    schedule=None,
    catchup=False,
    params={"ca_name": Param("Churn Score", type="string")},
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_delete_calculated_attribute_draft]
    discard = MParticleDeleteCalculatedAttributeDraftOperator(
        task_id="discard_draft",
        ca_name="{{ params.ca_name }}",
        missing_ok=True,
    )
    # [END howto_operator_mparticle_delete_calculated_attribute_draft]
