"""The Platform calculated-attributes client against the emulator's documented rules."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
from tests.conftest import VALID_DEFINITION, definition


def test_create_get_list_exists_delete(client):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION, description="Lifetime value")
    ca = client.calculated_attributes.get(ca_id)
    assert (ca.id, ca.name, ca.description) == (ca_id, "LTV", "Lifetime value")
    assert ca.draft_definition["calculation_type"] == "sum"
    assert not ca.is_active
    assert [c.id for c in client.calculated_attributes.list(name="LTV")] == [ca_id]
    assert client.calculated_attributes.list(name="other") == []
    assert client.calculated_attributes.exists("LTV") is True
    assert client.calculated_attributes.exists("other") is False
    assert client.calculated_attributes.find_by_name("LTV").id == ca_id
    client.calculated_attributes.delete(ca_id)
    with pytest.raises(MParticleNotFoundError):
        client.calculated_attributes.get(ca_id)


def test_name_must_be_unique(client):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    with pytest.raises(MParticleValidationError) as info:
        client.calculated_attributes.create("LTV", VALID_DEFINITION)
    assert info.value.messages == ["Field 'name' must be unique."]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"calculation_type": "median"}, "Invalid calculation type"),
        ({"time_period": {"type": "all"}}, "Field 'time_period.type' = 'all' is not supported."),
        ({"time_period": {"type": "within", "within": 0, "within_unit": "days"}}, "Invalid 'within' time period specification"),
        ({"time_period": {"type": "within", "within": 3, "within_unit": "months"}}, "Invalid 'within_unit' time period specification"),
        ({"datapoint": {"type": "event", "event_type": "custom_event"}}, "Invalid data point custom event name"),
        (
            {"conditions": [{"type": "string", "operator": "greater_than", "attribute_name": "a", "value": "1"}]},
            "Invalid string condition operator",
        ),
        (
            {"conditions": [{"type": "number", "operator": "between", "attribute_name": "a", "min_value": "1"}]},
            "Invalid numeric condition maximum value",
        ),
        ({"conditions": [{"type": "string", "operator": "in_list", "attribute_name": "a"}]}, "In-list condition values must be specified"),
    ],
)  # fmt: skip
def test_documented_validation_messages(client, changes, message):
    with pytest.raises(MParticleValidationError) as info:
        client.calculated_attributes.create("CA", definition(**changes))
    assert message in info.value.messages


def test_update_draft_and_rename_only_before_activation(client):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    client.calculated_attributes.update(
        ca_id, name="Lifetime value", draft_definition=definition(calculation_type="max")
    )
    ca = client.calculated_attributes.get(ca_id)
    assert ca.name == "Lifetime value"
    assert ca.draft_definition["calculation_type"] == "max"
    client.calculated_attributes.activate(ca_id)
    with pytest.raises(MParticleValidationError) as info:
        client.calculated_attributes.update(ca_id, name="Renamed")
    assert info.value.messages == [
        "Calculated attribute name cannot be changed once the calculated attribute has been activated."
    ]


def test_activation_and_calculation_progress(client):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    assert client.calculated_attributes.activation_status(ca_id).is_active is False
    client.calculated_attributes.activate(ca_id)
    status = client.calculated_attributes.activation_status(ca_id)
    assert status.is_active is True
    assert status.activated_on
    ca = client.calculated_attributes.get(ca_id)
    assert ca.is_active
    assert ca.draft_definition is None
    # The test emulator finishes a calculation on its third read.
    seen = [client.calculated_attributes.calculation_status(ca_id) for _ in range(3)]
    assert [s.calculation_percent_complete for s in seen] == [33, 67, 100]
    assert [s.is_calculated for s in seen] == [False, False, True]
    assert seen[0].estimated_completion_time is not None


def test_activation_errors(client, mparticle_emulator):
    ca_id = client.calculated_attributes.create("LTV", VALID_DEFINITION)
    client.calculated_attributes.delete_draft(ca_id)
    with pytest.raises(MParticleValidationError, match="No draft definition was found to activate"):
        client.calculated_attributes.activate(ca_id)
    mparticle_emulator.control.configure(active_ca_limit=1)
    first = client.calculated_attributes.create("A", VALID_DEFINITION)
    second = client.calculated_attributes.create("B", VALID_DEFINITION)
    client.calculated_attributes.activate(first)
    with pytest.raises(MParticleValidationError, match="account limit on active calculated attributes"):
        client.calculated_attributes.activate(second)
