from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import MParticleClient

VALID_DEFINITION = {
    "recipe_type": "event",
    "datapoint": {
        "type": "event",
        "event_name": "Purchase",
        "attribute_name": "Total Amount",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
    },
    "conditions": [],
    "calculation_type": "sum",
    "time_period": {"type": "since", "date": "2026-01-01T00:00:00", "within": None, "within_unit": None},
    "seeding": {"cutoff_date": "2026-06-01T00:00:00"},
}


def definition(**changes):
    """A valid draft definition with some fields replaced."""
    result = {**VALID_DEFINITION, **changes}
    return result


@pytest.fixture
def client(mparticle_settings):
    with MParticleClient(mparticle_settings) as c:
        yield c
