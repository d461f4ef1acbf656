# ruff: noqa: F811  (pytest fixtures imported from tests.dataplanning_spec)
"""Data Planning client against the emulator; every request and answer is checked against the OpenAPI spec."""

from __future__ import annotations

import copy

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    ClientSettings,
    MParticleClient,
    MParticleNotFoundError,
    MParticleRateLimitError,
    MParticleValidationError,
    RetrySettings,
)
from airflow_provider_mparticle.client.data_planning.documents import (
    ActivatedEnvironment,
    DataPlanDocumentError,
    PlannedVersion,
    load_plan_document,
    version_changes,
)
from airflow_provider_mparticle.client.data_planning.models import DataPlan
from tests.dataplanning_spec import SpecError, load_spec, spec_recorder  # noqa: F401

PURCHASE_POINT = {
    "description": "A purchase",
    "match": {
        "type": "custom_event",
        "criteria": {"event_name": "Purchase", "custom_event_type": "transaction"},
    },
    "validator": {
        "type": "json_schema",
        "definition": {
            "properties": {
                "data": {
                    "additionalProperties": True,
                    "properties": {
                        "custom_attributes": {
                            "additionalProperties": False,
                            "properties": {
                                "sku": {"type": "string"},
                                "currency": {"type": "string", "enum": ["EUR", "USD"]},
                            },
                            "required": ["sku"],
                        }
                    },
                    "required": ["custom_attributes"],
                }
            }
        },
    },
}
HOME_POINT = {
    "match": {"type": "screen_view", "criteria": {"screen_name": "Home"}},
    "validator": {"type": "json_schema", "definition": {"properties": {"data": {"type": "object"}}}},
}
PLAN = {
    "data_plan_id": "mobile_app",
    "data_plan_name": "Mobile app",
    "data_plan_description": "Events of the mobile app.",
    "data_plan_versions": [
        {
            "version": 1,
            "version_description": "First version",
            "activated_environment": "development",
            "version_document": {"data_points": [PURCHASE_POINT]},
        }
    ],
}


def event(name, attributes, event_type="transaction", message_id=None):
    data = {"event_name": name, "custom_event_type": event_type, "custom_attributes": attributes}
    if message_id:
        data["source_message_id"] = message_id
    return {"event_type": "custom_event", "data": data}


def batch(*events):
    return {"environment": "development", "events": list(events)}


@pytest.fixture
def dp(mparticle_settings, spec_recorder):
    with MParticleClient(mparticle_settings) as client:
        spec_recorder.attach(client)
        yield client.data_planning


def test_plan_lifecycle(dp, mparticle_emulator):
    created = dp.create_plan(PLAN)
    assert created.data_plan_id == "mobile_app"
    assert created.version(1).data_points == [PURCHASE_POINT]
    assert created.created_by == "client_id:emulator-client-id"

    listed = dp.list_plans()
    assert [p.data_plan_id for p in listed] == ["mobile_app"]
    # The page: the list leaves out the data points.
    assert listed[0].versions[0].version_document is None

    updated = dp.update_plan("mobile_app", description="Changed.")
    assert (updated.data_plan_name, updated.data_plan_description) == ("Mobile app", "Changed.")
    assert mparticle_emulator.control.journal(method="PATCH")[-1]["body"] == {
        "data_plan_description": "Changed."
    }

    dp.delete_plan("mobile_app")
    assert dp.find_plan("mobile_app") is None
    assert dp.list_plans() == []


def test_version_lifecycle_and_documented_refusals(dp):
    dp.create_plan(PLAN)
    second = PlannedVersion(
        2, {"data_points": [PURCHASE_POINT, HOME_POINT]}, "Second", ActivatedEnvironment.NONE
    )
    created = dp.create_version("mobile_app", second)
    assert (created.version, created.data_plan_id, len(created.data_points)) == (2, "mobile_app", 2)

    changed = dp.update_version("mobile_app", 2, activated_environment="production")
    assert changed.activated_environment == "production"
    assert changed.data_points[1] == HOME_POINT
    assert dp.get_plan("mobile_app").latest_version.version == 2

    with pytest.raises(MParticleValidationError) as refused:
        dp.delete_version("mobile_app", 2)
    assert refused.value.messages == [
        "Unable to delete plan version - this version is active in prod and cannot be deleted."
    ]
    dp.delete_version("mobile_app", 1)
    dp.update_version("mobile_app", 2, activated_environment="none")
    with pytest.raises(MParticleValidationError) as last:
        dp.delete_version("mobile_app", 2)
    assert last.value.messages == [
        "Unable to delete plan version - plans must contain at least one plan version."
    ]


def test_not_found_messages_are_the_specs(dp):
    with pytest.raises(MParticleNotFoundError) as plan:
        dp.get_plan("nope")
    assert plan.value.messages == ["The specified plan ID nope in workspace 1 was not found."]
    dp.create_plan(PLAN)
    with pytest.raises(MParticleNotFoundError) as version:
        dp.get_version("mobile_app", 7)
    assert version.value.messages == [
        "The specified version 7 in plan ID mobile_app was not found in workspace 1."
    ]


def test_a_bad_plan_is_refused_before_anything_is_sent(dp, mparticle_emulator):
    bad = copy.deepcopy(PLAN)
    definition = bad["data_plan_versions"][0]["version_document"]["data_points"][0]["validator"]["definition"]
    definition["properties"]["data"]["oneOf"] = [{"type": "object"}]
    with pytest.raises(DataPlanDocumentError, match=r"data_points\[0\]\.validator\.definition.*'oneOf'"):
        dp.create_plan(bad)
    with pytest.raises(DataPlanDocumentError, match=r"data_plan_versions\[0\]\.activated_environment"):
        dp.create_plan(
            {
                **PLAN,
                "data_plan_versions": [{**PLAN["data_plan_versions"][0], "activated_environment": "prod"}],
            }
        )
    assert mparticle_emulator.control.journal(path="/plans") == []


def test_validate_batches_reports_each_kind_of_error(dp):
    dp.create_plan(PLAN)
    results = dp.validate_batches(
        [
            batch(
                event("Purchase", {"sku": "A-1", "currency": "EUR"}, message_id="ok-1"),
                event("Purchase", {"currency": "GBP", "coupon": "X"}, message_id="bad-1"),
                event("Refund", {"sku": "A-1"}),
                {"event_type": "session_start", "data": {}},
            )
        ],
        "mobile_app",
        1,
    )
    (result,) = results
    assert [len(r.issues) for r in result.results] == [0, 3, 1]
    issues = {(i.validation_error_type, i.key, i.error_pointer) for i in result.results[1].issues}
    assert issues == {
        ("missing_required", "custom_attributes", "#/data/custom_attributes"),
        ("unplanned", "coupon", "#/data/custom_attributes/coupon"),
        ("invalid_value", "currency", "#/data/custom_attributes/currency"),
    }
    assert result.results[1].source_message_id == "bad-1"
    assert result.results[2].issues[0].validation_error_type == "unplanned"
    assert result.error_count == 4
    assert any("custom_event 'Refund' (transaction): unplanned" in line for line in result.messages())


def test_validate_sends_the_document_without_read_only_fields(dp, mparticle_emulator):
    document = {"data_points": [PURCHASE_POINT], "active_transformation_ids": [3]}
    dp.validate_batch(batch(event("Purchase", {"sku": "A"})), document)
    (sent,) = mparticle_emulator.control.journal(path="/plans/validate")
    assert sent["body"]["document"] == {"data_points": [PURCHASE_POINT]}


def test_rate_limit_answers_429_with_retry_after(mparticle_settings, mparticle_emulator, spec_recorder):
    mparticle_emulator.control.configure_data_planning(requests_per_minute=3)
    settings = mparticle_settings.with_overrides(retry=RetrySettings(max_attempts=1))
    with MParticleClient(settings) as client:
        spec_recorder.attach(client)
        dp = client.data_planning
        dp.create_plan(PLAN)
        dp.list_plans()
        dp.get_plan("mobile_app")
        with pytest.raises(MParticleRateLimitError) as limited:
            dp.list_plans()
        assert limited.value.retry_after == 60
        assert limited.value.limit_scope == "account"
        # DELETE is not among the limited methods.
        dp.delete_plan("mobile_app")
        mparticle_emulator.control.advance_clock(60)
        assert dp.list_plans() == []


def test_rate_limited_requests_are_retried_after_the_wait(mparticle_settings, mparticle_emulator):
    mparticle_emulator.control.configure_data_planning(requests_per_minute=1)
    with MParticleClient(mparticle_settings) as client:
        client.data_planning.list_plans()
        # A 429 then success: the client retried instead of failing the task.
        mparticle_emulator.control.advance_clock(59.5)
        assert client.data_planning.list_plans() == []
        assert client.transport.stats.throttled == 1


async def test_async_client_same_calls(mparticle_settings, mparticle_emulator, spec_recorder):
    async with AsyncMParticleClient(mparticle_settings) as client:
        spec_recorder.attach_async(client)
        dp = client.data_planning
        await dp.create_plan(PLAN)
        version = await dp.update_version("mobile_app", 1, version_description="Renamed")
        assert version.version_description == "Renamed"
        (result,) = await dp.validate_batches([batch(event("Nope", {}))], "mobile_app", 1)
        assert result.results[0].issues[0].validation_error_type == "unplanned"
        with pytest.raises(MParticleNotFoundError):
            await dp.get_plan("other")
    assert len(spec_recorder.responses) == 5


def test_the_spec_check_can_fail():
    spec = load_spec()
    path = "/platform/v2/workspaces/1/plans"
    with pytest.raises(SpecError, match="validator"):
        spec.check_request(
            "POST",
            path,
            {
                "data_plan_versions": [
                    {
                        "version_document": {
                            "data_points": [{"match": {"type": "custom_event", "criteria": {}}}]
                        }
                    }
                ]
            },
        )
    with pytest.raises(SpecError, match="custom_attributes"):
        spec.check_request(
            "POST",
            path + "/validate",
            {"batch": {"environment": "production", "events": [{"data": {"custom_attributes": {"n": 1}}}]}},
        )
    with pytest.raises(SpecError, match="read-only"):
        spec.check_request("POST", path + "/p/versions", {"version": 2, "quarantine_feed_id": 3})
    with pytest.raises(SpecError, match=r"is not a .date-time."):
        spec.check_response(
            "GET", path + "/p", 200, {"data_plan_id": "p", "created_on": "2020-04-19T14:45:44.39"}
        )
    with pytest.raises(SpecError, match="Retry-After"):
        spec.check_response("GET", path, 429, None, {})
    with pytest.raises(SpecError, match="not documented"):
        spec.check_response("GET", path, 418, None)
    spec.check_response(
        "GET", path + "/p/versions/10", 404,
        {"errors": [{"message": "The specified version 10 in plan ID p was not found in workspace 1."}]},
    )  # fmt: skip
    with pytest.raises(SpecError):
        spec.check_response("GET", path + "/p/versions/10", 404, {"errors": [{"message": "Gone."}]})


def test_models_accept_both_documented_forms():
    # The page's timestamps carry no zone; the spec's list example names the description "description".
    plan = DataPlan.from_api(
        {
            "data_plan_id": "foo_bar",
            "description": "foo_bar",
            "data_plan_versions": [{"version": 2, "created_on": "2020-04-07T14:28:14.903"}],
        }
    )
    assert plan.data_plan_description == "foo_bar"
    assert plan.version(2).data_plan_id == "foo_bar"
    assert plan.version(2).version_document is None


def test_version_changes_read_like_a_review():
    desired = load_plan_document(PLAN).versions[0]
    changed_point = copy.deepcopy(PURCHASE_POINT)
    changed_point["description"] = "Old"
    from airflow_provider_mparticle.client.data_planning.models import DataPlanVersion

    current = DataPlanVersion.from_api(
        {
            "version": 1,
            "activated_environment": "none",
            "version_description": "First version",
            "version_document": {"data_points": [changed_point, HOME_POINT], "active_transformation_ids": []},
        }
    )
    lines = version_changes(current, desired)
    assert lines[0] == "~ activated_environment: 'none' -> 'development'"
    assert "~ data point custom_event 'Purchase' (transaction):" in lines
    assert any(line.strip() == '-  "description": "Old",' for line in lines)
    assert lines[-1] == "- data point screen_view 'Home'"
    same = DataPlanVersion.from_api(
        {
            **PLAN["data_plan_versions"][0],
            "version_document": {"data_points": [PURCHASE_POINT], "active_transformation_ids": [1]},
        }
    )
    assert version_changes(same, desired) == []


def test_settings_need_a_workspace():
    with pytest.raises(Exception, match="workspace_id"):
        MParticleClient(ClientSettings(client_id="a", client_secret="b")).data_planning  # noqa: B018
