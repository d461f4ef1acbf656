"""The AEP operators against the emulator: ensure is idempotent, rules name the field, status moves."""

from __future__ import annotations

import pytest

from airflow_provider_mparticle.client.adobe import AdobeClient
from airflow_provider_mparticle.operators.adobe import (
    AdobeComputedAttributeError,
    AdobeEnsureComputedAttributeOperator,
    AdobeSetComputedAttributeStatusOperator,
)
from tests.adobe_helpers import EXPRESSION, context

ATTRIBUTES = "/data/core/ca/attributes"


def ensure(**changes) -> AdobeEnsureComputedAttributeOperator:
    fields = {
        "task_id": "ensure",
        "name": "lifetimeValue",
        "display_name": "Lifetime value",
        "expression": EXPRESSION,
        "duration": {"count": 7, "unit": "DAYS"},
    }
    return AdobeEnsureComputedAttributeOperator(**{**fields, **changes})


def writes(emulator) -> list[str]:
    return [e["method"] for e in emulator.control.journal(path=ATTRIBUTES) if e["method"] != "GET"]


def test_ensure_creates_then_is_a_no_op(adobe_aep_conn_id, mparticle_emulator):
    ctx = context()
    first = ensure().execute(ctx)
    assert ctx["ti"].xcom["status"] == "DRAFT"
    second = ensure().execute(context())
    assert first == second
    assert writes(mparticle_emulator) == ["POST"]
    assert len(mparticle_emulator.control.adobe_attributes()) == 1


def test_ensure_patches_a_changed_draft_with_only_the_differences(adobe_aep_conn_id, mparticle_emulator):
    attribute_id = ensure().execute(context())
    assert (
        ensure(duration={"count": 2, "unit": "WEEKS"}, description="new").execute(context()) == attribute_id
    )
    patch = mparticle_emulator.control.journal(path=ATTRIBUTES, method="PATCH")
    assert [e["body"] for e in patch] == [{"description": "new", "duration": {"count": 2, "unit": "WEEKS"}}]
    stored = mparticle_emulator.control.adobe_attributes()[0]
    assert stored["duration"] == {"count": 2, "unit": "WEEKS"}


def test_ensure_activate_moves_a_draft_to_new(adobe_aep_conn_id, mparticle_emulator):
    ensure().execute(context())
    ctx = context()
    ensure(activate=True).execute(ctx)
    assert ctx["ti"].xcom["status"] == "NEW"
    # Again: already evaluating and unchanged, so nothing is sent.
    ensure(activate=True).execute(context())
    assert writes(mparticle_emulator) == ["POST", "PATCH"]


def test_ensure_refuses_to_change_an_evaluating_attribute(adobe_aep_conn_id, mparticle_emulator):
    ensure(activate=True).execute(context())
    with pytest.raises(AdobeComputedAttributeError) as info:
        ensure(activate=True, expression=EXPRESSION.replace("sum", "max")).execute(context())
    assert "is NEW" in str(info.value)
    assert "expression" in str(info.value)
    assert writes(mparticle_emulator) == ["POST"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "lifetime_value"}, "'name'"),
        ({"duration": {"count": 8, "unit": "DAYS"}}, "'duration.count'"),
        ({"duration": {"count": 1, "unit": "YEARS"}}, "'duration.unit'"),
        ({"expression": " "}, "'expression'"),
    ],
)
def test_ensure_validates_before_any_request(adobe_aep_conn_id, mparticle_emulator, changes, field):
    with pytest.raises(AdobeComputedAttributeError) as info:
        ensure(**changes).execute(context())
    assert field in str(info.value)
    assert mparticle_emulator.control.journal() == []


def test_display_name_of_a_draft_cannot_change(adobe_aep_conn_id, mparticle_emulator):
    ensure().execute(context())
    with pytest.raises(AdobeComputedAttributeError, match="'displayName'"):
        ensure(display_name="Another name").execute(context())
    assert writes(mparticle_emulator) == ["POST"]


def status_op(attribute_id: str, status: str) -> AdobeSetComputedAttributeStatusOperator:
    return AdobeSetComputedAttributeStatusOperator(task_id="status", attribute_id=attribute_id, status=status)


def test_set_status_new_then_disabled_idempotently(adobe_aep_conn_id, mparticle_emulator):
    attribute_id = ensure().execute(context())
    assert status_op(attribute_id, "NEW").execute(context()) == "NEW"
    assert status_op(attribute_id, "new").execute(context()) in ("INITIALIZING", "PROCESSING", "PROCESSED")
    assert status_op(attribute_id, "DISABLED").execute(context()) == "DISABLED"
    assert status_op(attribute_id, "DISABLED").execute(context()) == "DISABLED"
    assert [e["body"] for e in mparticle_emulator.control.journal(method="PATCH")] == [
        {"status": "NEW"},
        {"status": "DISABLED"},
    ]


def test_set_status_refuses_documented_impossible_moves(
    adobe_aep_conn_id, adobe_aep_settings, mparticle_emulator
):
    attribute_id = ensure().execute(context())
    with pytest.raises(AdobeComputedAttributeError, match="DRAFT can only move to NEW"):
        status_op(attribute_id, "DISABLED").execute(context())
    mparticle_emulator.control.adobe_set_status(attribute_id, "FAILED")
    with AdobeClient(adobe_aep_settings) as client:
        assert client.computed_attributes.get(attribute_id).status_text == "FAILED"
    with pytest.raises(AdobeComputedAttributeError, match="in FAILED status cannot be updated"):
        status_op(attribute_id, "NEW").execute(context())
    assert mparticle_emulator.control.journal(method="PATCH")[-1]["status"] == 400


def test_set_status_rejects_other_targets_at_parse_time():
    with pytest.raises(ValueError, match="'status' must be NEW or DISABLED"):
        status_op("x", "PROCESSED")
