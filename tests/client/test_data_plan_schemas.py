"""Data point schemas are checked with jsonschema (draft 2019-09) before a plan is sent."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from airflow_provider_mparticle.client.data_planning.documents import (
    DataPlanDocumentError,
    check_version_document,
    load_plan_document,
)

EXAMPLE_PLAN = pathlib.Path(__file__).parents[2] / "example_dags" / "data_plans" / "mobile_app.json"


def document(definition):
    point = {
        "match": {
            "type": "custom_event",
            "criteria": {"event_name": "Purchase", "custom_event_type": "transaction"},
        },
        "validator": {"type": "json_schema", "definition": definition},
    }
    return {"data_points": [{"match": {"type": "screen_view", "criteria": {"screen_name": "Home"}},
                             "validator": {"type": "json_schema", "definition": {}}}, point]}  # fmt: skip


def test_an_invalid_schema_is_refused_naming_the_data_point_and_each_problem():
    with pytest.raises(DataPlanDocumentError) as info:
        check_version_document(document({"type": "objekt", "required": "yes"}))
    message = str(info.value)
    assert message.startswith("version_document.data_points[1].validator.definition")
    assert "data point custom_event 'Purchase' (transaction)" in message
    assert "/required: 'yes' is not of type 'array'" in message
    assert "/type: 'objekt' is not a JSON Schema type" in message


def test_problems_deep_in_the_schema_carry_their_path():
    definition = {"properties": {"data": {"properties": {"sku": {"type": "string", "minLength": -1}}}}}
    with pytest.raises(DataPlanDocumentError, match=r"/properties/data/properties/sku/minLength: -1 is less"):
        check_version_document(document(definition))


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("oneOf", [{}]), ("$ref", "#/x"), ("patternProperties", {}), ("if", {}), ("dependentRequired", {})],
)
def test_keywords_mparticle_refuses_are_named(keyword, value):
    definition = {"properties": {"data": {"type": "object", keyword: value}}}
    with pytest.raises(DataPlanDocumentError) as info:
        check_version_document(document(definition))
    assert f"/properties/data: JSON Schema keyword {keyword!r} is not supported" in str(info.value)


def test_an_attribute_named_like_a_keyword_is_fine():
    # Under "properties" the keys are attribute names, not keywords.
    definition = {
        "properties": {"data": {"properties": {"oneOf": {"type": "string"}, "not": {"type": "integer"}}}}
    }
    assert (
        check_version_document(document(definition))["data_points"][1]["validator"]["definition"]
        == definition
    )


def test_the_example_plan_passes():
    plan = load_plan_document(json.loads(EXAMPLE_PLAN.read_text(encoding="utf-8")), source=str(EXAMPLE_PLAN))
    assert plan.versions


def test_a_plan_file_with_a_bad_schema_is_refused_before_loading():
    plan = json.loads(EXAMPLE_PLAN.read_text(encoding="utf-8"))
    bad = copy.deepcopy(plan)
    points = bad["data_plan_versions"][0]["version_document"]["data_points"]
    points[0]["validator"]["definition"]["type"] = "objekt"
    with pytest.raises(DataPlanDocumentError, match="not a JSON Schema type"):
        load_plan_document(bad, source="bad.json")
