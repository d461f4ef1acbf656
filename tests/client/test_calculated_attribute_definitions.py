"""Client-side checks of calculated-attribute definitions: every problem names its field."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client.calculated_attributes.definitions import (
    CalculatedAttributeDefinitionError,
    definitions_equal,
    parse_spec,
    seed_deleting_changes,
    validate_draft_definition,
)
from tests.conftest import VALID_DEFINITION, definition


def test_valid_definition_has_no_problems():
    assert validate_draft_definition(VALID_DEFINITION) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipe_type": "audience"}, "draft_definition.recipe_type"),
        ({"calculation_type": "median"}, "draft_definition.calculation_type"),
        ({"calculation_type": None}, "draft_definition.calculation_type"),
        ({"time_period": {"type": "all"}}, "draft_definition.time_period.type: 'all' is not supported"),
        ({"time_period": None}, "draft_definition.time_period: required"),
        ({"time_period": {"type": "since", "date": "yesterday"}}, "draft_definition.time_period.date"),
        ({"time_period": {"type": "within", "within": 0, "within_unit": "days"}, "seeding": None}, "draft_definition.time_period.within:"),
        ({"time_period": {"type": "within", "within": 3, "within_unit": "months"}, "seeding": None}, "draft_definition.time_period.within_unit"),
        ({"time_period": {"type": "within", "within": 3, "within_unit": "days"}}, "draft_definition.seeding: a rolling 'within' time period cannot be seeded"),
        ({"datapoint": None}, "draft_definition.data_point: required"),
        ({"datapoint": {"type": "event", "event_type": "custom_event"}}, "draft_definition.data_point.event_name"),
        ({"datapoint": {"type": "event", "event_name": "x", "event_type": "screen_view", "custom_event_type": "other"}}, "draft_definition.data_point.custom_event_type"),
        ({"datapoint": {"type": "thing", "event_name": "x", "event_type": "custom_event"}}, "draft_definition.data_point.type"),
        ({"conditions": [{"type": "string", "operator": "greater_than", "attribute_name": "a", "value": "1"}]}, "draft_definition.conditions[0].operator: 'greater_than' is not an operator for a 'string'"),
        ({"conditions": [{"type": "boolean", "operator": "in_list", "attribute_name": "a", "values": ["true"]}]}, "draft_definition.conditions[0].operator"),
        ({"conditions": [{"type": "number", "operator": "between", "attribute_name": "a", "min_value": "1"}]}, "draft_definition.conditions[0].max_value"),
        ({"conditions": [{"type": "number", "operator": "equals", "attribute_name": "a", "value": "ten"}]}, "draft_definition.conditions[0].value"),
        ({"conditions": [{"type": "string", "operator": "in_list", "attribute_name": "a"}]}, "draft_definition.conditions[0].values"),
        ({"conditions": [{"type": "string", "operator": "equals", "value": "x"}]}, "draft_definition.conditions[0].attribute_name"),
        ({"conditions": [{"type": "date", "operator": "after", "attribute_name": "a", "value": "soon"}]}, "draft_definition.conditions[0].value"),
        ({"conditions": [{"type": "string", "operator": "equals", "attribute_name": "a", "value": "x", "min_value": "1"}]}, "draft_definition.conditions[0].min_value: must be empty"),
        ({"conditions": [{"type": "money", "operator": "equals", "attribute_name": "a", "value": "1"}]}, "draft_definition.conditions[0].type"),
        ({"seeding": {"cutoff_date": "not a date"}}, "draft_definition.seeding.cutoff_date"),
    ],
)  # fmt: skip
def test_problems_name_the_field(changes, field):
    problems = validate_draft_definition(definition(**changes))
    assert any(field in p for p in problems), problems


@pytest.mark.parametrize(
    "changes",
    [
        {"calculation_type": "minimum"},
        {"calculation_type": "MAX"},
        {"datapoint": None, "data_point": VALID_DEFINITION["datapoint"]},
        {"time_period": {"type": "within", "within": 2, "within_unit": "weeks"}, "seeding": None},
        {"conditions": [{"type": "number", "operator": "between", "attribute_name": "a", "min_value": 1, "max_value": "9.5"}]},
        {"conditions": [{"type": "date", "operator": "between_dates", "attribute_name": "a", "min_value": "2026-01-01", "max_value": "2026-02-01T00:00:00Z"}]},
        {"conditions": [{"type": "boolean", "operator": "equals", "attribute_name": "a", "value": True}]},
        {"conditions": [{"type": "string", "operator": "exists", "attribute_name": "a", "value": None, "values": None}]},
    ],
)  # fmt: skip
def test_documented_variants_are_accepted(changes):
    assert validate_draft_definition({k: v for k, v in definition(**changes).items() if v is not None}) == []


def test_parse_spec_reports_every_problem_at_once():
    with pytest.raises(CalculatedAttributeDefinitionError) as info:
        parse_spec({"draft_definition": definition(calculation_type="median", recipe_type="x")})
    fields = [p.split(":")[0] for p in info.value.problems]
    assert fields == ["name", "draft_definition.recipe_type", "draft_definition.calculation_type"]
    assert "name: required" in str(info.value)


def test_parse_spec_forms_and_string_condition_values():
    bare = parse_spec(
        definition(conditions=[{"type": "number", "operator": "equals", "attribute_name": "a", "value": 22}]),
        name="LTV",
    )
    assert bare.name == "LTV"
    assert bare.draft_definition["conditions"][0]["value"] == "22"
    assert (bare.calculation_type.value, bare.cutoff_date) == ("sum", "2026-06-01")
    full = parse_spec({"name": "LTV", "description": "d", "draft_definition": VALID_DEFINITION})
    assert (full.name, full.description) == ("LTV", "d")
    with pytest.raises(CalculatedAttributeDefinitionError, match="name: given as 'Other'"):
        parse_spec({"name": "LTV", "draft_definition": VALID_DEFINITION}, name="Other")


def test_spellings_compare_equal_and_real_changes_do_not():
    variant = {k: v for k, v in VALID_DEFINITION.items() if k != "datapoint"}
    variant["data_point"] = {**VALID_DEFINITION["datapoint"], "attribute_category": "event_attribute"}
    variant["time_period"] = {"type": "since", "date": "2026-01-01T00:00:00Z"}
    variant["seeding"] = {"cutoff_date": "2026-06-01T00:00:00+00:00"}
    assert definitions_equal(VALID_DEFINITION, variant)
    assert definitions_equal(definition(calculation_type="min"), definition(calculation_type="minimum"))
    assert not definitions_equal(VALID_DEFINITION, definition(calculation_type="max"))


def test_seed_deleting_changes():
    seeded = VALID_DEFINITION
    assert seed_deleting_changes("LTV", seeded, "LTV", definition(conditions=None)) == []
    assert seed_deleting_changes("LTV", seeded, "LTV", definition(calculation_type="max")) == [
        "calculation_type 'sum' -> 'max'"
    ]
    assert seed_deleting_changes(
        "LTV", seeded, "LTV2", definition(seeding={"cutoff_date": "2026-07-01"})
    ) == [
        "rename 'LTV' -> 'LTV2'",
        "seeding.cutoff_date '2026-06-01' -> '2026-07-01'",
    ]
    # Without a seeding cutoff there are no seeds to lose.
    assert (
        seed_deleting_changes("LTV", definition(seeding=None), "X", definition(calculation_type="max")) == []
    )
