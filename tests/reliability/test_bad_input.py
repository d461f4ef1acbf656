# ruff: noqa: PT017 (a property test checks the error it got, whichever input produced it)
"""Property-based tests: bad input ends in success or a project error naming the field; nothing half-sent.

Fixed ``max_examples`` and ``derandomize=True``: the same cases in every CI run. Each test counts the cases
it ran; the total is the ``hypothesis_cases`` figure.
"""

from __future__ import annotations

import json
import math

import pytest
import requests
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowFailException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mparticle.client import MParticleConfigError
from airflow_provider_mparticle.client.calculated_attributes.definitions import (
    CalculatedAttributeDefinitionError,
    parse_spec,
)
from airflow_provider_mparticle.client.seeding.bulk import PackingLimits, encode_user
from airflow_provider_mparticle.client.seeding.mapping import SeedMapping, SeedRowError
from airflow_provider_mparticle.hooks.mparticle import settings_from_connection
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleSeedCalculatedAttributesOperator,
)
from tests.conftest import VALID_DEFINITION

pytestmark = pytest.mark.reliability

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "12", "1.5", "-3", "1e3", "NaN", "2026-06-01", "[]", '["a"]', '{"sum": 3, "count": 2}']),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)  # fmt: skip


class Cases:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> None:
        self.n += 1


@pytest.fixture
def cases(figures):
    counter = Cases()
    yield counter
    figures.add("hypothesis_cases", counter.n)
    print(f"\n{counter.n} cases")


# --- seed rows ---------------------------------------------------------------------------------

MAPPING = SeedMapping(
    calculated_attributes=[
        {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"},
        {"name": "Seen", "calculation_type": "unique_list", "cutoff_date": "2026-06-01", "column": "seen", "optional": True},
        {"name": "Avg", "calculation_type": "average", "cutoff_date": "2026-06-01", "sum_column": "s", "count_column": "c", "optional": True},
        {"name": "First", "calculation_type": "first_occurrence_timestamp", "cutoff_date": "2026-06-01", "column": "first", "optional": True},
    ],
    identities={"customer_id": "customer_id", "email": "email"},
    mpid_column="mpid",
    user_attributes={"Tier": "tier"},
)  # fmt: skip
COLUMNS = ["customer_id", "email", "mpid", "ltv", "seen", "s", "c", "first", "tier"]
rows = st.dictionaries(st.sampled_from(COLUMNS), values, max_size=len(COLUMNS))


@SETTINGS
@given(row=rows)
def test_any_row_becomes_a_user_or_an_error_naming_its_column(row, cases):
    cases()
    try:
        user = MAPPING.build(row, 7)
        encoded = encode_user(user, 7, PackingLimits())
    except SeedRowError as error:
        assert error.row_number == 7
        named = [c.strip() for c in error.column.split(",")]
        assert all(c in [*COLUMNS, "*"] for c in named), error
        assert "row 7" in str(error)
        return
    # What the mapping accepts is strict JSON (no NaN / Infinity) that the emulator's checks accept too.
    json.loads(encoded, parse_constant=lambda c: pytest.fail(f"{c} in {encoded!r}"))


@pytest.fixture
def seedable(mparticle_emulator, mparticle_conn_id, client):
    for name, kind in (("LTV", "sum"), ("Seen", "unique_list"), ("Avg", "average"), ("First", "first_occurrence_timestamp")):  # fmt: skip
        client.calculated_attributes.create(name, {**VALID_DEFINITION, "calculation_type": kind})
    return mparticle_emulator


@settings(SETTINGS, max_examples=60)
@given(batch=st.lists(rows, min_size=1, max_size=8))
def test_a_batch_is_sent_whole_or_not_at_all(batch, seedable, cases):
    cases()
    control = seedable.control
    before = len(control.journal(path="bulkcalculatedattributes"))
    op = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        rows=batch,
        calculated_attributes=_specs(),
        identities={"customer_id": "customer_id", "email": "email"},
        mpid_column="mpid",
        user_attributes={"Tier": "tier"},
        preflight=False,
    )
    sent = control.journal(path="bulkcalculatedattributes")[before:]
    try:
        summary = op.execute({})
    except AirflowFailException as error:
        assert "row" in str(error)
        assert control.journal(path="bulkcalculatedattributes")[before:] == sent == []
        return
    requests_made = control.journal(path="bulkcalculatedattributes")[before:]
    # Everything the client let through, the server accepted: no 400 after a passed validation.
    assert [e["status"] for e in requests_made] == [202] * len(requests_made)
    assert summary["users_sent"] == len(batch)


def _specs():
    return [
        {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"},
        {"name": "Seen", "calculation_type": "unique_list", "cutoff_date": "2026-06-01", "column": "seen", "optional": True},
        {"name": "Avg", "calculation_type": "average", "cutoff_date": "2026-06-01", "sum_column": "s", "count_column": "c", "optional": True},
        {"name": "First", "calculation_type": "first_occurrence_timestamp", "cutoff_date": "2026-06-01", "column": "first", "optional": True},
    ]  # fmt: skip


# --- mappings ----------------------------------------------------------------------------------

MAPPING_FIELDS = [
    "name",
    "calculation_type",
    "cutoff_date",
    "column",
    "sum_column",
    "count_column",
    "optional",
]
ca_specs = st.dictionaries(
    st.sampled_from([*MAPPING_FIELDS, "colum"]),
    st.one_of(
        values, st.sampled_from(["sum", "average", "minimum", "unique_list", "2026-06-01", "ltv", "LTV"])
    ),
)


@settings(SETTINGS, max_examples=400)
@given(
    cas=st.lists(ca_specs, max_size=3),
    identities=st.one_of(st.none(), st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2)),
    mpid=st.one_of(st.none(), st.text(max_size=5)),
    environment=st.sampled_from(["production", "development", "staging", ""]),
)
def test_any_mapping_builds_or_names_the_setting(cas, identities, mpid, environment, cases):
    cases()
    try:
        SeedMapping(
            calculated_attributes=cas, identities=identities, mpid_column=mpid, environment=environment
        )
    except MParticleConfigError as error:
        text = str(error)
        assert any(word in text for word in ["calculated_attributes", "identities", "mpid_column", "environment", "Calculated attribute", *(f"{f!r}" for f in MAPPING_FIELDS)]), text  # fmt: skip
    except TypeError as error:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"unhandled {error!r}")


# --- calculated attribute definitions ----------------------------------------------------------


def mutate(definition):
    """Replace some fields of the valid definition (at any depth) with anything."""
    paths = [("recipe_type",), ("calculation_type",), ("datapoint",), ("datapoint", "type"), ("datapoint", "event_name"), ("time_period",), ("time_period", "type"), ("time_period", "date"), ("time_period", "within"), ("conditions",), ("seeding",), ("seeding", "cutoff_date")]  # fmt: skip

    @st.composite
    def strategy(draw):
        result = json.loads(json.dumps(definition))
        for path in draw(st.lists(st.sampled_from(paths), max_size=4)):
            target = result
            for key in path[:-1]:
                if not isinstance(target.get(key), dict):
                    break
                target = target[key]
            else:
                target[path[-1]] = draw(
                    values | st.sampled_from(["within", "since", "sum", "event", "2026-01-01"])
                )
        return result

    return strategy()


@settings(SETTINGS, max_examples=400)
@given(
    draft=mutate(VALID_DEFINITION) | values,
    name=st.one_of(st.none(), st.text(max_size=5)),
    wrapped=st.booleans(),
)
def test_any_definition_parses_or_names_every_field(draft, name, wrapped, cases):
    cases()
    raw = {"name": name, "draft_definition": draft} if wrapped else draft
    try:
        parse_spec(raw, name=None if wrapped else (name or "X"))
    except CalculatedAttributeDefinitionError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.split(":")[0].split(".")[0].split("[")[0] in ("draft_definition", "name", "description", "definition"), problem  # fmt: skip


# --- connection extras -------------------------------------------------------------------------

EXTRA_FIELDS = ["workspace_id", "account_id", "s2s_url", "api_url", "oauth_url", "token_url", "client_id", "client_secret", "pod", "timeout", "max_attempts", "max_elapsed", "verify", "extra__mparticle__pod", "bogus"]  # fmt: skip


@settings(SETTINGS, max_examples=500)
@given(
    extra=st.dictionaries(st.sampled_from(EXTRA_FIELDS), values | st.sampled_from(["US1", "EU1", "https://x.example", "http://10.0.0.1", "http://127.0.0.1:1", "-1", "0"]), max_size=6),
    login=st.one_of(st.none(), st.text(max_size=4)),
)  # fmt: skip
def test_any_connection_extra_gives_settings_or_names_the_field(extra, login, cases):
    cases()
    conn = Connection(
        conn_id="mp", conn_type="mparticle", login=login, password="secret-value", extra=json.dumps(extra)
    )
    try:
        result = settings_from_connection(conn)
    except MParticleConfigError as error:
        text = str(error)
        assert "Connection 'mp'" in text, text
        assert any(f in text for f in [*EXTRA_FIELDS, "extra", "setting", "Setting", "pod", "url", "URL"]), (
            text
        )
        return
    assert isinstance(result.timeout, float)
    assert result.timeout > 0
    assert math.isfinite(result.timeout)


# --- emulator request bodies -------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
user_bodies = st.fixed_dictionaries(
    {},
    optional={
        "environment": st.sampled_from(["production", "development", "x"]) | json_values,
        "mpid": st.integers() | json_values,
        "identities": st.just({"customer_id": "c1"}) | json_values,
        "calculated_attributes": st.just(
            {
                "workspace": [
                    {
                        "attribute_name": "LTV",
                        "calculation_type": "sum",
                        "cutoff_date": "2026-06-01",
                        "seed": {"value": 1},
                    }
                ]
            }
        )
        | json_values,
        "user_attributes": json_values,
    },
)


@settings(SETTINGS, max_examples=300)
@given(body=st.lists(user_bodies, max_size=4) | json_values, single=st.booleans())
def test_emulator_answers_any_body_with_202_or_400_and_stores_all_or_nothing(body, single, seedable, cases):
    cases()
    control = seedable.control
    before = control.seeds_digest()
    path = "/v2/calculatedattributes" if single else "/v2/bulkcalculatedattributes"
    answer = requests.post(seedable.url + path, json=body, auth=("emulator-api-key", "emulator-api-secret"), timeout=10)  # fmt: skip
    assert answer.status_code in (202, 400), answer.text
    after = control.seeds_digest()
    if answer.status_code == 400:
        errors = answer.json()["errors"]
        assert errors
        assert all(isinstance(e["message"], str) for e in errors)
        assert after == before
    elif not single:
        assert after["seeds"] >= before["seeds"]
