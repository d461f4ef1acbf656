"""The activate and delete-draft operators share their id-or-name arguments through one base."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk import DAG

from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
    MParticleDeleteCalculatedAttributeDraftOperator,
)


@pytest.mark.parametrize(
    "operator",
    [MParticleActivateCalculatedAttributeOperator, MParticleDeleteCalculatedAttributeDraftOperator],
)
def test_shared_arguments_take_dag_default_args_and_are_checked(operator):
    with DAG(
        "d", default_args={"mparticle_conn_id": "other"}, schedule=None, start_date=dt.datetime(2024, 1, 1)
    ):
        task = operator(task_id="t", ca_name="Lifetime value")
        with pytest.raises(ValueError, match="ca_id or ca_name"):
            operator(task_id="neither")
    assert (task.mparticle_conn_id, task.ca_id, task.ca_name) == ("other", None, "Lifetime value")
    assert set(task.template_fields) >= {"ca_id", "ca_name", "mparticle_conn_id"}
