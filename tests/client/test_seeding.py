"""The seeding client against the emulator: single and bulk, all-or-nothing, documented errors."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import MParticleValidationError
from tests.conftest import VALID_DEFINITION, definition


def user(customer_id, value, name="LTV", calculation_type="sum", cutoff="2026-06-01"):
    return {
        "environment": "development",
        "identities": {"customer_id": customer_id},
        "calculated_attributes": {
            "workspace": [
                {"attribute_name": name, "calculation_type": calculation_type, "cutoff_date": cutoff, "seed": {"value": value}}
            ]
        },
    }  # fmt: skip


@pytest.fixture
def ltv(client):
    return client.calculated_attributes.create("LTV", VALID_DEFINITION)


def test_single_and_bulk_seeds_are_stored(client, mparticle_emulator, ltv):
    assert client.seeding.seed_user(user("c1", 10)).status_code == 202
    ack = client.seeding.seed_users([user("c2", 20), user("c3", 30.5)])
    assert ack.status_code == 202
    seeds = mparticle_emulator.control.seeds()
    assert {k: v["LTV"]["seed"]["value"] for k, v in seeds.items()} == {
        'identities:{"customer_id":"c1"}': 10,
        'identities:{"customer_id":"c2"}': 20,
        'identities:{"customer_id":"c3"}': 30.5,
    }


def test_bulk_is_all_or_nothing_with_messages_verbatim(client, mparticle_emulator, ltv):
    with pytest.raises(MParticleValidationError) as info:
        client.seeding.seed_users([user("c1", 10), user("c2", "ten")])
    assert info.value.messages == ["LTV: Seed value must be numeric"]
    assert mparticle_emulator.control.seeds() == {}


def test_unknown_ca_and_wrong_cutoff_find_no_definition(client, ltv):
    for bad in (
        user("c1", 1, name="Nope"),
        user("c1", 1, cutoff="2026-05-31"),
        user("c1", 1, calculation_type="count"),
    ):
        with pytest.raises(MParticleValidationError) as info:
            client.seeding.seed_user(bad)
        name = bad["calculated_attributes"]["workspace"][0]["attribute_name"]
        assert info.value.messages == [f"{name}: No matching calculated attribute definition found"]


def test_definition_propagation_delay(client, mparticle_emulator):
    mparticle_emulator.control.configure(propagation_seconds=300)
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    with pytest.raises(MParticleValidationError, match="No matching calculated attribute definition found"):
        client.seeding.seed_user(user("c1", 1))
    mparticle_emulator.control.advance_clock(301)
    assert client.seeding.seed_user(user("c1", 1)).status_code == 202


def test_min_and_minimum_are_the_same_type(client, mparticle_emulator):
    client.calculated_attributes.create("Low", definition(calculation_type="min"))
    client.seeding.seed_user(user("c1", 3, name="Low", calculation_type="minimum"))
    assert (
        mparticle_emulator.control.seeds()['identities:{"customer_id":"c1"}']["Low"]["calculation_type"]
        == "min"
    )


def test_seeds_are_deleted_when_the_calculation_type_changes(client, mparticle_emulator, ltv):
    client.seeding.seed_user(user("c1", 10))
    client.calculated_attributes.update(ltv, name="LTV", draft_definition=definition(calculation_type="max"))
    assert mparticle_emulator.control.seeds() == {}


def test_rolling_window_cannot_be_seeded(client):
    client.calculated_attributes.create(
        "Recent", definition(time_period={"type": "within", "within": 30, "within_unit": "days"})
    )
    with pytest.raises(MParticleValidationError, match=r"Recent: .*cannot be seeded"):
        client.seeding.seed_user(user("c1", 1, name="Recent"))
