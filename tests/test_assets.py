"""mparticle:// assets: Airflow validates and normalises them through the provider's asset-uris entry."""

from __future__ import annotations

import importlib.resources
import json

import jsonschema
import pytest
from airflow.sdk import Asset

from airflow_provider_mparticle.assets import (
    calculated_attribute_assets,
    calculated_attribute_uri,
    create_asset,
    parse_uri,
    sanitize_uri,
    workspace_asset,
)
from airflow_provider_mparticle.get_provider_info import get_provider_info

CANONICAL = "mparticle://123/calculated-attributes/Lifetime%20value"


@pytest.mark.parametrize(
    "written",
    [
        "mparticle://123/calculated-attributes/Lifetime value",
        "mparticle://123/calculated-attributes/Lifetime%20value",
        "MParticle://123/calculated-attributes/Lifetime%20value/",
        "mparticle://123/calculated-attributes/Lifetime value#fragment",
        "mparticle://123//calculated-attributes/Lifetime value",
    ],
)
def test_airflow_normalises_equivalent_uris_to_one(written):
    assert Asset(written).uri == CANONICAL


def test_names_with_reserved_characters_round_trip():
    uri = calculated_attribute_uri(123, "LTV / 90 days?")
    assert uri == "mparticle://123/calculated-attributes/LTV%20%2F%2090%20days%3F"
    assert Asset(uri).uri == uri
    assert parse_uri(uri) == ("123", "calculated-attributes", "LTV / 90 days?")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mparticle://123/segments/VIP", "names no mParticle dataset"),
        ("mparticle://123/calculated-attributes/", "names no mParticle dataset"),
        ("mparticle://123/calculated-attributes/a/b", "names no mParticle dataset"),
        ("mparticle://123/user-attributes/email", "names no mParticle dataset"),
        ("mparticle://123", "names no mParticle dataset"),
        ("mparticle:///calculated-attributes/LTV", "must name the workspace id"),
        ("mparticle://user@123/calculated-attributes/LTV", "must name the workspace id"),
        ("mparticle://123:443/calculated-attributes/LTV", "must name the workspace id"),
        ("mparticle://123/calculated-attributes/LTV?version=2", "must not carry a query string"),
    ],
)
def test_airflow_refuses_malformed_uris_with_the_expected_form(uri, message):
    with pytest.raises(ValueError, match=message) as info:
        Asset(uri)
    assert str(info.value).startswith("Asset URI 'mparticle:")  # names the URI it refuses


def test_the_scheme_is_registered_with_airflow():
    from airflow_provider_mparticle.openlineage import convert_asset_to_openlineage

    try:  # where tasks look asset URI handlers up since Airflow 3.3
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Providers
    except ImportError:
        from airflow.providers_manager import ProvidersManager as Providers

    providers = Providers()
    providers.initialize_providers_asset_uri_resources()
    assert providers.asset_uri_handlers["mparticle"] is sanitize_uri
    assert providers.asset_factories["mparticle"] is create_asset
    assert providers.asset_to_openlineage_converters["mparticle"] is convert_asset_to_openlineage


def test_provider_info_validates_against_airflows_schema():
    schema = json.loads(
        importlib.resources.files("airflow").joinpath("provider_info.schema.json").read_text()
    )
    info = get_provider_info()
    jsonschema.validate(info, schema)
    [entry] = info["asset-uris"]
    assert entry["schemes"] == ["mparticle"]


def test_outlets_helper_takes_the_seed_mapping_or_names():
    ltv = {"name": "Lifetime value", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}
    assets = calculated_attribute_assets(123, [ltv, "Orders", "Lifetime value"])
    assert [a.uri for a in assets] == [CANONICAL, "mparticle://123/calculated-attributes/Orders"]
    assert assets[0].extra == {"workspace_id": "123", "calculated_attribute": "Lifetime value"}
    with pytest.raises(ValueError, match="needs a non-empty name"):
        calculated_attribute_assets(123, [{"column": "ltv"}])


def test_workspace_datasets_are_assets_too():
    assert workspace_asset(123).uri == "mparticle://123/user-attributes"
    assert (
        Asset("MParticle://123/events/").uri == workspace_asset(123, "events").uri == "mparticle://123/events"
    )
    assert parse_uri("mparticle://123/user-attributes") == ("123", "user-attributes", None)
    with pytest.raises(ValueError, match="expected one of user-attributes, events"):
        workspace_asset(123, "audiences")


def test_factory_builds_the_same_asset():
    assert create_asset(workspace_id=123, name="Lifetime value").uri == CANONICAL
