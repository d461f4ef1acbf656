"""Each sync API class and its async twin have the same public methods with the same parameters, and
the async ones added for parity work against the emulator."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_mparticle.client import AsyncMParticleClient, MParticleNotFoundError
from airflow_provider_mparticle.client.adobe import AsyncAdobeClient, ComputedAttributeStatus
from airflow_provider_mparticle.client.adobe.computed_attributes import (
    AsyncComputedAttributesApi,
    ComputedAttributesApi,
)
from airflow_provider_mparticle.client.calculated_attributes.api import (
    AsyncCalculatedAttributesApi,
    CalculatedAttributesApi,
)
from airflow_provider_mparticle.client.data_planning.api import AsyncDataPlanningApi, DataPlanningApi
from airflow_provider_mparticle.client.seeding.api import AsyncSeedingApi, SeedingApi
from airflow_provider_mparticle.client.warehouse_sync.api import AsyncWarehouseSyncApi, WarehouseSyncApi
from airflow_provider_mparticle.client.warehouse_sync.models import PipelineStatus
from airflow_provider_mparticle.testing.examples import CONNECTION, DATA_MODEL, pipeline_body
from tests.adobe_helpers import definition

TWINS = [
    (SeedingApi, AsyncSeedingApi),
    (CalculatedAttributesApi, AsyncCalculatedAttributesApi),
    (DataPlanningApi, AsyncDataPlanningApi),
    (WarehouseSyncApi, AsyncWarehouseSyncApi),
    (ComputedAttributesApi, AsyncComputedAttributesApi),
]


def _public(cls: type) -> dict[str, object]:
    return {n: m for n, m in vars(cls).items() if not n.startswith("_") and callable(m)}


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=lambda c: c.__name__)
def test_every_sync_method_has_an_async_twin(sync, async_):
    sync_methods, async_methods = _public(sync), _public(async_)
    assert sorted(set(sync_methods) - set(async_methods)) == []
    for name, method in sync_methods.items():
        twin = async_methods[name]
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        assert list(inspect.signature(method).parameters) == list(inspect.signature(twin).parameters), name


async def test_async_warehouse_sync_writes(mparticle_settings, mparticle_emulator):
    async with AsyncMParticleClient(mparticle_settings) as client:
        api = client.warehouse_sync
        assert (await api.create_connection(CONNECTION)).status == "healthy"
        renamed = await api.update_connection(CONNECTION["id"], {**CONNECTION, "name": "Renamed"})
        assert renamed.name == "Renamed"
        assert (await api.create_data_model(DATA_MODEL)).status == "valid"
        model = await api.update_data_model(DATA_MODEL["id"], {**DATA_MODEL, "name": "Model 2"})
        assert model.name == "Model 2"
        assert (await api.create_pipeline(pipeline_body())).status is PipelineStatus.IDLE
        updated = await api.update_pipeline("example-pipeline", {**pipeline_body(), "name": "P2"})
        assert updated.name == "P2"
        assert (await api.pause_pipeline("example-pipeline")).status is PipelineStatus.STOPPED
        assert (await api.resume_pipeline("example-pipeline")).status is PipelineStatus.IDLE
        await api.delete_pipeline("example-pipeline")
        await api.delete_data_model(DATA_MODEL["id"])
        await api.delete_connection(CONNECTION["id"])
        with pytest.raises(MParticleNotFoundError):
            await api.get_connection(CONNECTION["id"])


async def test_async_find_plan(mparticle_settings, client):
    from airflow_provider_mparticle.client.data_planning.documents import load_plan_document
    from tests.client.test_data_planning import PLAN

    client.data_planning.create_plan(load_plan_document(PLAN))
    async with AsyncMParticleClient(mparticle_settings) as aclient:
        found = await aclient.data_planning.find_plan(PLAN["data_plan_id"])
        assert found is not None
        assert found.data_plan_id == PLAN["data_plan_id"]
        assert await aclient.data_planning.find_plan("no_such_plan") is None


async def test_async_adobe_create_find_and_delete(adobe_aep_settings, mparticle_emulator):
    async with AsyncAdobeClient(adobe_aep_settings) as client:
        api = client.computed_attributes
        created = await api.create(definition())
        assert created.status is ComputedAttributeStatus.DRAFT
        found = await api.find_by_name(created.name)
        assert found is not None
        assert found.id == created.id
        deleted = await api.delete(created.id, ComputedAttributeStatus.DRAFT)
        assert deleted.id == created.id
        assert await api.find_by_name(created.name) is None
