"""Provider metadata: valid for Airflow's own schemas, one version everywhere, the config section read."""

from __future__ import annotations

import copy
import importlib.metadata
import json
from importlib.resources import files

import pytest
from jsonschema import Draft7Validator

import airflow_provider_mparticle
from airflow_provider_mparticle.get_provider_info import get_provider_info


def airflow_schema(name: str) -> dict:
    return json.loads(files("airflow").joinpath(name).read_text(encoding="utf-8"))


def errors(schema: dict, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in Draft7Validator(schema).iter_errors(document)
    ]


def test_connection_types_validate_against_the_provider_yaml_schema():
    # provider_info.schema.json does not describe conn-fields; provider.yaml's schema does.
    schema = airflow_schema("provider.yaml.schema.json")["properties"]["connection-types"]
    assert errors(schema, get_provider_info()["connection-types"]) == []


def test_field_behaviours_validate_against_airflows_schema():
    schema = airflow_schema("customized_form_field_behaviours.schema.json")
    for connection_type in get_provider_info()["connection-types"]:
        behaviour = connection_type["ui-field-behaviour"]
        document = {key.replace("-", "_"): value for key, value in behaviour.items()}
        assert errors(schema, document) == [], connection_type["connection-type"]


def test_schema_check_catches_a_bad_config_declaration():
    info = copy.deepcopy(get_provider_info())
    assert errors(airflow_schema("provider_info.schema.json"), info) == []
    info["config"]["mparticle"]["options"]["calculated_attribute_url_template"]["type"] = "url"
    assert errors(airflow_schema("provider_info.schema.json"), info) != []


def test_one_version_everywhere():
    from airflow_provider_mparticle.client.core.flow import USER_AGENT

    version = airflow_provider_mparticle.__version__
    assert importlib.metadata.version("airflow-provider-mparticle") == version
    assert get_provider_info()["versions"] == [version]
    assert USER_AGENT.split("/") == ["airflow-provider-mparticle", version]


def test_config_section_is_declared_with_the_default_the_link_uses():
    from airflow.sdk import conf

    from airflow_provider_mparticle.links.calculated_attributes import DEFAULT_URL_TEMPLATE

    option = get_provider_info()["config"]["mparticle"]["options"]["calculated_attribute_url_template"]
    assert option["default"] == DEFAULT_URL_TEMPLATE
    # Declared options have their default without a fallback at the call site.
    assert conf.get("mparticle", "calculated_attribute_url_template") == DEFAULT_URL_TEMPLATE


def test_trigger_pool_size_is_declared_with_the_default_the_hooks_use():
    from airflow.sdk import conf

    from airflow_provider_mparticle.client.core.shared import SHARED_POOL_SIZE
    from airflow_provider_mparticle.hooks.base import DEFAULT_TRIGGER_POOL_SIZE, shared_pool_size

    option = get_provider_info()["config"]["mparticle"]["options"]["trigger_pool_size"]
    assert int(option["default"]) == DEFAULT_TRIGGER_POOL_SIZE == SHARED_POOL_SIZE
    assert conf.getint("mparticle", "trigger_pool_size") == DEFAULT_TRIGGER_POOL_SIZE == shared_pool_size()


@pytest.mark.parametrize("key", ["Homepage", "Documentation", "Changelog", "Source", "Issues"])
def test_project_urls_are_published(key):
    urls = importlib.metadata.metadata("airflow-provider-mparticle").get_all("Project-URL") or []
    assert any(url.startswith(f"{key}, https://") for url in urls), urls
