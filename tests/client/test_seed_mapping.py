"""The row -> user mapping: every calculation type's valid and invalid seeds, identities, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_mparticle.client import MParticleConfigError
from airflow_provider_mparticle.client.seeding.mapping import (
    CalculatedAttributeSeed,
    SeedMapping,
    SeedRowError,
)
from airflow_provider_mparticle.testing.emulator.seeding.models import seed_errors


def mapping(calculation_type, **column):
    spec = {"name": "CA", "calculation_type": calculation_type, "cutoff_date": "2026-06-01", **column}
    if not column:
        spec["column"] = "v"
    return SeedMapping([spec], identities={"customer_id": "id"})


def seed_of(calculation_type, value, **column):
    user = mapping(calculation_type, **column).build({"id": "c1", "v": value}, 7)
    return user["calculated_attributes"]["workspace"][0]["seed"]


VALID = [
    ("count", 3, {"value": 3}),
    ("count", "12", {"value": 12}),
    ("count", 4.0, {"value": 4}),
    ("sum", "10.5", {"value": 10.5}),
    ("sum", -2, {"value": -2}),
    ("min", 1.25, {"value": 1.25}),
    ("minimum", "7", {"value": 7}),
    ("max", 9, {"value": 9}),
    ("maximum", 0, {"value": 0}),
    ("first_occurrence", "Shoes", {"value": "Shoes"}),
    ("last_occurrence", 42, {"value": 42}),
    ("first_occurrence_timestamp", 1_700_000_000_000, {"value": 1_700_000_000_000}),
    ("last_occurrence_timestamp", "1700000000123", {"value": 1_700_000_000_123}),
    ("last_occurrence_timestamp", "2026-01-02T03:04:05Z", {"value": 1_767_323_045_000}),
    ("first_occurrence_timestamp", dt.datetime(2026, 1, 2, 3, 4, 5), {"value": 1_767_323_045_000}),
    ("average", {"sum": 10, "count": 4}, {"key_value_pairs": {"sum": 10, "count": 4}}),
    ("average", '{"sum": "2.5", "count": "1"}', {"key_value_pairs": {"sum": 2.5, "count": 1}}),
    ("most_frequent", {"red": 3, "blue": "1"}, {"key_value_pairs": {"red": 3, "blue": 1}}),
    ("most_frequent", '{"red": 2}', {"key_value_pairs": {"red": 2}}),
    ("unique_list", ["a", "b"], {"list": ["a", "b"]}),
    ("unique_list", '["a", 2]', {"list": ["a", "2"]}),
    ("unique_values_count", ("x",), {"list": ["x"]}),
]


@pytest.mark.parametrize(("calculation_type", "value", "expected"), VALID)
def test_valid_seeds_take_the_documented_shape(calculation_type, value, expected):
    seed = seed_of(calculation_type, value)
    assert seed == expected
    # The emulator holds mParticle's rules: what passes here must pass there.
    assert seed_errors(calculation_type, seed) == []


INVALID = [
    ("count", "ten", "must be a number"),
    ("count", -1, "must be >= 0"),
    ("count", 1.5, "must be an integer"),
    ("sum", "abc", "must be a number"),
    ("sum", float("nan"), "finite"),
    ("sum", True, "must be a number"),
    ("min", "", "is empty"),
    ("max", None, "is empty"),
    ("first_occurrence", {"a": 1}, "string or a number"),
    ("first_occurrence_timestamp", 1_700_000_000, "looks like seconds"),
    ("last_occurrence_timestamp", "2026-13-01", "ISO 8601"),
    ("last_occurrence_timestamp", 1.7e12 + 0.5, "must be an integer"),
    ("average", {"sum": 1}, "'sum' and 'count'"),
    ("average", {"sum": 1, "count": 0}, "must be >= 1"),
    ("average", {"sum": "x", "count": 1}, "must be a number"),
    ("average", "not json", "JSON dict"),
    ("most_frequent", {}, "non-empty object"),
    ("most_frequent", {"red": "many"}, "must be a number"),
    ("most_frequent", [1, 2], "non-empty object"),
    ("unique_list", "a,b", "JSON list"),
    ("unique_list", [None], "list items"),
    ("unique_values_count", {"a": 1}, "must be a list"),
]


@pytest.mark.parametrize(("calculation_type", "value", "reason"), INVALID)
def test_invalid_seeds_name_row_column_and_reason(calculation_type, value, reason):
    with pytest.raises(SeedRowError) as info:
        seed_of(calculation_type, value)
    assert info.value.row_number == 7
    assert info.value.column == "v"
    assert reason in info.value.reason
    assert str(info.value).startswith("row 7, column 'v': seed of 'CA'")


def test_average_from_two_columns():
    m = SeedMapping(
        [{"name": "AOV", "calculation_type": "average", "cutoff_date": "2026-06-01", "sum_column": "s", "count_column": "n"}],
        identities={"email": "mail"},
    )  # fmt: skip
    user = m.build({"mail": "a@example.com", "s": "99.5", "n": "3"}, 1)
    assert user["calculated_attributes"]["workspace"][0]["seed"] == {
        "key_value_pairs": {"sum": 99.5, "count": 3}
    }
    with pytest.raises(SeedRowError, match=r"column 'n'.*must be >= 1"):
        m.build({"mail": "a@example.com", "s": "1", "n": "0"}, 2)


def test_full_user_shape_with_mpid_identities_user_attributes_and_optional_seed():
    m = SeedMapping(
        [
            {"name": "LTV", "calculation_type": "sum", "cutoff_date": dt.datetime(2026, 6, 1, 12), "column": "ltv"},
            {"name": "Tags", "calculation_type": "unique_list", "cutoff_date": "2026-06-01T00:00:00", "column": "tags", "optional": True},
        ],
        identities={"customer_id": "id", "email": "mail"},
        mpid_column="mpid",
        user_attributes={"Tier": "tier"},
        environment="development",
    )  # fmt: skip
    user = m.build({"id": 12, "mail": "", "mpid": "-42", "ltv": 5, "tags": None, "tier": "gold"}, 1)
    assert user == {
        "environment": "development",
        "mpid": -42,
        "identities": {"customer_id": "12"},
        "calculated_attributes": {
            "workspace": [{"attribute_name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "seed": {"value": 5}}]
        },
        "user_attributes": {"workspace": [{"attribute_name": "Tier", "attribute_value": "gold"}]},
    }  # fmt: skip


def test_identity_errors_never_echo_the_value():
    m = SeedMapping([{"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "v"}],
                    identities={"email": "mail"}, mpid_column="mpid")  # fmt: skip
    with pytest.raises(SeedRowError, match="no mpid and no identity") as info:
        m.build({"mail": " ", "v": 1}, 3)
    assert info.value.column == "mpid, mail"
    with pytest.raises(SeedRowError, match="mpid must be a 64-bit integer"):
        m.build({"mpid": "abc", "v": 1}, 4)
    with pytest.raises(SeedRowError, match="mpid must be a 64-bit integer"):
        m.build({"mpid": 2**64, "v": 1}, 4)
    with pytest.raises(SeedRowError) as info:
        m.build({"mail": ["secret@example.com"], "v": 1}, 5)
    assert "secret" not in str(info.value)
    with pytest.raises(SeedRowError, match="column 'v': column is missing"):
        m.build({"mail": "a@example.com"}, 6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calculated_attributes": []}, "at least one attribute"),
        ({"calculated_attributes": [{"name": "A", "calculation_type": "median", "cutoff_date": "2026-06-01", "column": "v"}]}, "calculation_type is 'median'"),
        ({"calculated_attributes": [{"name": "A", "calculation_type": "sum", "cutoff_date": "June", "column": "v"}]}, "cutoff_date"),
        ({"calculated_attributes": [{"name": "A", "calculation_type": "sum", "cutoff_date": "2026-06-01"}]}, "'column' is required"),
        ({"calculated_attributes": [{"name": "A", "calculation_type": "average", "cutoff_date": "2026-06-01", "sum_column": "s"}]}, "sum_column"),
        ({"calculated_attributes": [{"name": "A", "calculation_type": "sum", "cutoff_date": "2026-06-01", "colum": "v"}]}, "unknown field(s): colum"),
        ({"identities": {}}, "'identities' or 'mpid_column'"),
        ({"environment": "prod"}, "'environment'"),
    ],
)  # fmt: skip
def test_mapping_settings_are_checked(kwargs, message):
    base = {
        "calculated_attributes": [
            {"name": "A", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "v"}
        ],
        "identities": {"customer_id": "id"},
    }
    with pytest.raises(MParticleConfigError) as info:
        SeedMapping(**{**base, **kwargs})
    assert message in str(info.value)


def test_duplicate_attribute_is_refused():
    ca = CalculatedAttributeSeed("A", "sum", "2026-06-01", column="v")  # type: ignore[arg-type]
    with pytest.raises(MParticleConfigError, match="mapped twice: A"):
        SeedMapping([ca, ca], identities={"customer_id": "id"})
