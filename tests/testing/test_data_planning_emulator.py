"""The Data Planning emulator over raw HTTP: every answer, errors included, must conform to the spec."""

from __future__ import annotations

import pytest
import requests

from tests.dataplanning_spec import load_spec

DOC_POINT = {
    "description": "My first data point",
    "match": {
        "type": "custom_event",
        "criteria": {"event_name": "My Custom Event Name", "custom_event_type": "other"},
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
                            "properties": {"foo": {"type": "number"}},
                            "required": ["foo"],
                        }
                    },
                    "required": ["custom_attributes"],
                }
            }
        },
    },
}
# The page's "Create Data Plan" example, verbatim (its version names another plan id).
DOC_PLAN = {
    "data_plan_id": "example_data_plan",
    "data_plan_name": "Mobile Data Plan",
    "data_plan_description": "This is an example data plan description.",
    "data_plan_versions": [
        {
            "version": 1,
            "data_plan_id": "mobile_data_plan",
            "activated_environment": "none",
            "version_document": {"data_points": [DOC_POINT]},
        }
    ],
}


class Api:
    """Raw calls; each request and answer is checked against the spec."""

    def __init__(self, emulator):
        self.base = emulator.url
        self.path = f"/platform/v2/workspaces/{emulator.state.settings.workspace_id}/plans"
        token = requests.post(
            emulator.url + "/oauth/token",
            json={
                "client_id": emulator.state.settings.client_id,
                "client_secret": emulator.state.settings.client_secret,
                "audience": "https://api.mparticle.com",
                "grant_type": "client_credentials",
            },
            timeout=10,
        ).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.spec = load_spec()

    def __call__(self, method, suffix="", body=None, check_request=True):
        path = self.path + suffix
        if check_request:
            self.spec.check_request(method, path, body)
        response = requests.request(method, self.base + path, json=body, headers=self.headers, timeout=10)
        parsed = response.json() if response.content else None
        self.spec.check_response(method, path, response.status_code, parsed, dict(response.headers))
        return response.status_code, parsed, response.headers


@pytest.fixture
def api(mparticle_emulator):
    return Api(mparticle_emulator)


def test_the_pages_create_example(api):
    status, plan, headers = api("POST", "", DOC_PLAN)
    assert status == 200
    assert plan["data_plan_versions"][0]["data_plan_id"] == "example_data_plan"
    assert plan["data_plan_versions"][0]["version_document"]["data_points"] == [DOC_POINT]
    assert headers["X-mp-rate-limit-percentage-used"] == "0"
    status, plans, _ = api("GET")
    assert "version_document" not in plans[0]["data_plan_versions"][0]
    assert api("DELETE", "/example_data_plan")[0] == 204
    assert api("GET", "/example_data_plan")[0] == 404


def test_a_plan_without_versions_gets_an_empty_first_version(api):
    status, plan, _ = api("POST", "/", {"data_plan_name": "Web Events"})
    assert status == 200
    assert plan["data_plan_id"] == "web_events"
    assert [(v["version"], v["version_document"]) for v in plan["data_plan_versions"]] == [
        (1, {"data_points": []})
    ]


def test_bad_documents_get_schema_errors(api):
    point = {**DOC_POINT, "validator": {"type": "json_schema", "definition": {"anyOf": [{"type": "object"}]}}}
    body = {
        "data_plan_id": "p",
        "data_plan_versions": [{"version": 1, "version_document": {"data_points": [point, point]}}],
    }
    status, errors, _ = api("POST", "", body)
    assert status == 400
    assert [(e["message"], e["schema_pointer"]) for e in errors["errors"]] == [
        ("Unsupported JSON Schema keyword 'anyOf'.", "#/data_plan_versions/0/version_document/data_points/0/validator/definition/anyOf"),
        ("Duplicate data point.", "#/data_plan_versions/0/version_document/data_points/1/match"),
        ("Unsupported JSON Schema keyword 'anyOf'.", "#/data_plan_versions/0/version_document/data_points/1/validator/definition/anyOf"),
    ]  # fmt: skip
    api("POST", "", DOC_PLAN)
    assert api("POST", "", DOC_PLAN)[1]["errors"][0]["message"] == (
        "Data plan ID example_data_plan already exists in this workspace."
    )
    assert api("POST", "/example_data_plan/versions", {"version": 1})[0] == 400
    assert api("POST", "/missing/versions", {"version": 1})[0] == 404


def test_validate_errors_are_the_specs_messages(api, mparticle_emulator):
    assert api("POST", "/validate", {"batch": {"environment": "production"}})[1]["errors"][0]["message"] == (
        "A required value was missing."
    )
    bad_batch = {"document": {"data_points": []}, "batch": {"environment": "staging", "events": []}}
    assert (
        api("POST", "/validate", bad_batch, check_request=False)[1]["errors"][0]["message"]
        == "Invalid Event Batch."
    )
    bad_document = {"document": {"data_points": "all"}, "batch": {"environment": "production"}}
    assert api("POST", "/validate", bad_document, check_request=False)[1]["errors"][0]["message"] == (
        "Invalid data plan document."
    )
    mparticle_emulator.control.configure_data_planning(max_data_points_per_plan=1)
    too_many = {"document": {"data_points": [DOC_POINT, DOC_POINT]}, "batch": {"environment": "production"}}
    assert api("POST", "/validate", too_many)[1]["errors"][0]["message"] == (
        "Data plan exceeds maximum of 1 with 2 data points."
    )


def test_validate_results(api):
    events = [
        {"event_type": "custom_event", "data": {"event_name": "My Custom Event Name", "custom_event_type": "other", "custom_attributes": {"foo": "12"}}},
        {"event_type": "screen_view", "data": {"screen_name": "Home", "source_message_id": "s-1"}},
        {"event_type": "commerce_event", "data": {"product_action": {"action": "purchase"}}},
        {"event_type": "session_start", "data": {}},
    ]  # fmt: skip
    status, body, _ = api(
        "POST",
        "/validate",
        {"document": {"data_points": [DOC_POINT]}, "batch": {"environment": "development", "events": events}},
    )
    assert status == 200
    results = [r["data"] for r in body["results"]]
    assert [r["match"]["type"] for r in results] == ["custom_event", "screen_view", "product_action"]
    assert results[0]["validation_errors"] == [
        {
            "validation_error_type": "invalid_value",
            "key": "foo",
            "error_pointer": "#/data/custom_attributes/foo",
            "expected": "number",
            "actual": "string",
            "schema_keyword": "type",
        }
    ]
    assert results[1]["validated_source_message_id"] == "s-1"
    assert [e["validation_error_type"] for e in results[2]["validation_errors"]] == ["unplanned"]


def test_rate_limit_window_and_methods(api, mparticle_emulator):
    mparticle_emulator.control.configure_data_planning(requests_per_minute=2)
    api("POST", "", DOC_PLAN)
    api("GET")
    status, body, headers = api("GET")
    assert status == 429
    assert headers["Retry-After"] == "60"
    assert headers["X-mp-rate-limit-exceeded"] == "account"
    assert body["errors"][0]["message"] == "Rate limit exceeded: 2 requests per minute per account."
    # The page limits GET, POST and PATCH: DELETE still goes through.
    assert api("DELETE", "/example_data_plan")[0] == 204
    mparticle_emulator.control.advance_clock(30)
    assert api("PATCH", "/x", {"data_plan_name": "y"})[2]["Retry-After"] == "30"
    mparticle_emulator.control.advance_clock(30)
    assert api("GET")[0] == 200
