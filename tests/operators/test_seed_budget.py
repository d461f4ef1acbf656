"""A workspace budget shared by the mapped tasks of one seed (the DAG-level run: the sharded example)."""

from __future__ import annotations

import types

import pytest

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.operators.seeding import (
    MParticleSeedCalculatedAttributesOperator,
    _mapped_tasks,
)

LTV = [{"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}]


def operator(**kwargs):
    return MParticleSeedCalculatedAttributesOperator(
        task_id="seed", calculated_attributes=LTV, identities={"customer_id": "id"}, rows=[], **kwargs
    )


def mapped_ti(map_index, count=None):
    def get_ti_count(**_):
        if count is None:
            raise RuntimeError("no supervisor")
        return count

    return types.SimpleNamespace(
        map_index=map_index, dag_id="d", task_id="seed", run_id="r", get_ti_count=get_ti_count
    )


def test_mapped_tasks_from_the_context_or_airflow():
    assert _mapped_tasks({}) == 1
    assert _mapped_tasks({"ti": mapped_ti(-1, 8)}) == 1  # not mapped
    assert _mapped_tasks({"ti": mapped_ti(2, 8)}) == 8
    assert _mapped_tasks({"ti": mapped_ti(2), "expanded_ti_count": 5}) == 5
    assert _mapped_tasks({"ti": mapped_ti(2)}) == 3  # unknown count: at least this index's worth


def test_the_share_and_the_lower_ceiling_apply():
    assert operator()._rate_ceiling({}) is None
    assert operator(max_users_per_second=700)._rate_ceiling({}) == 700
    assert operator(workspace_users_per_second=4000)._rate_ceiling({"ti": mapped_ti(0, 8)}) == 500
    assert operator(workspace_users_per_second=4000, max_users_per_second=300)._rate_ceiling({}) == 300
    with pytest.raises(MParticleTaskFailure, match="workspace_users_per_second"):
        operator(workspace_users_per_second=0)._rate_ceiling({})
