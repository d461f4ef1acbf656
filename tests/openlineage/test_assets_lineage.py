"""mparticle:// assets in OpenLineage: the provider's converter, as Airflow's OpenLineage integration calls it."""

from __future__ import annotations

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.extractors.manager import ExtractorManager
from airflow.providers.openlineage.utils.utils import translate_airflow_asset
from airflow.sdk import Asset
from openlineage.client.event_v2 import Dataset

from airflow_provider_mparticle.assets import calculated_attribute_assets, workspace_asset
from airflow_provider_mparticle.openlineage import calculated_attribute_dataset_name, workspace_namespace
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleActivateCalculatedAttributeOperator,
)


def test_an_asset_becomes_the_dataset_the_seed_operator_writes():
    dataset = translate_airflow_asset(Asset("mparticle://123/calculated-attributes/Lifetime value"), None)
    assert dataset == Dataset(namespace="mparticle://123", name="calculated-attributes/Lifetime value")
    assert (dataset.namespace, dataset.name) == (
        workspace_namespace(123),
        calculated_attribute_dataset_name("Lifetime value"),
    )


def test_a_workspace_asset_becomes_the_dataset_a_pipeline_writes():
    dataset = translate_airflow_asset(workspace_asset(123, "user-attributes"), None)
    assert dataset == Dataset(namespace="mparticle://123", name="user-attributes")


def test_declared_outlets_of_an_operator_without_lineage_methods_become_outputs():
    operator = MParticleActivateCalculatedAttributeOperator(
        task_id="activate", ca_name="LTV", outlets=calculated_attribute_assets(123, ["LTV", "Orders"])
    )
    lineage = OperatorLineage()
    ExtractorManager().extract_inlets_and_outlets(lineage, operator)
    assert lineage.outputs == [
        Dataset(namespace="mparticle://123", name="calculated-attributes/LTV"),
        Dataset(namespace="mparticle://123", name="calculated-attributes/Orders"),
    ]
