"""Plan, then apply: the change between code and the live and draft definitions, computed without sending."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from airflow_provider_mparticle.client.adobe import ComputedAttribute
from airflow_provider_mparticle.client.adobe.computed_attributes import plan_computed_attribute
from airflow_provider_mparticle.client.calculated_attributes.api import (
    CalculatedAttribute,
    active_limit_holders,
    active_limit_message,
)
from airflow_provider_mparticle.client.calculated_attributes.definitions import (
    parse_spec,
    plan_calculated_attribute,
)
from airflow_provider_mparticle.client.core.errors import MParticleError
from airflow_provider_mparticle.client.data_planning.api import plan_data_plan
from airflow_provider_mparticle.client.data_planning.documents import load_plan_document
from airflow_provider_mparticle.client.data_planning.models import DataPlan, DataPlanVersion
from airflow_provider_mparticle.client.plans import ChangeMode, json_diff
from airflow_provider_mparticle.client.warehouse_sync.models import PipelineRun, TriggerIntent, run_started_by
from tests.adobe_helpers import definition as adobe_definition
from tests.conftest import VALID_DEFINITION, definition

PLAN_FILE = pathlib.Path(__file__).parents[2] / "example_dags" / "data_plans" / "mobile_app.json"


def ca(ca_id=1, name="LTV", draft=None, active=None, description=None):
    return CalculatedAttribute.from_api(
        {
            "id": ca_id,
            "name": name,
            "description": description,
            "draft_definition": draft,
            "active_definition": active,
        }
    )


def test_mode_names_and_a_clear_error():
    assert ChangeMode.parse(" Plan ") is ChangeMode.PLAN
    with pytest.raises(MParticleError, match="mode: 'dry' is not one of 'apply', 'plan', 'check'"):
        ChangeMode.parse("dry")


def test_json_diff_is_empty_for_equal_values_and_unified_otherwise():
    assert json_diff({"a": 1}, {"a": 1}, "live") == []
    lines = json_diff({"a": 1}, {"a": 2}, "live")
    assert lines[:2] == ["--- live", "+++ code"]
    assert '-  "a": 1' in lines
    assert '+  "a": 2' in lines


def test_new_calculated_attribute_plans_a_create_and_nothing_is_live():
    plan = plan_calculated_attribute(None, parse_spec({"name": "LTV", "draft_definition": VALID_DEFINITION}))
    assert plan.action == "create"
    assert plan.has_changes
    assert plan.live_differs
    assert plan.request["draft_definition"]["calculation_type"] == "sum"
    assert "none in the workspace" in plan.text()
    assert plan.drift() == ["calculated attribute 'LTV': active definition is missing"]


def test_spelling_differences_are_no_change():
    spelled = copy.deepcopy(VALID_DEFINITION)
    spelled["data_point"] = spelled.pop("datapoint")
    spelled["time_period"] = {"type": "since", "date": "2026-01-01T00:00:00Z"}
    plan = plan_calculated_attribute(
        ca(active=spelled), parse_spec({"name": "LTV", "draft_definition": VALID_DEFINITION})
    )
    assert plan.action == "none"
    assert not plan.live_differs
    assert "against live (active definition): matches code" in plan.text()
    assert "against draft (draft definition): none in the workspace" in plan.text()


def test_draft_matches_code_but_live_differs():
    old = definition(calculation_type="count", seeding=None)
    new = definition(seeding=None)
    plan = plan_calculated_attribute(
        ca(active=old, draft=new), parse_spec({"name": "LTV", "draft_definition": new})
    )
    assert plan.action == "none"  # the draft already holds the change; activation makes it live
    assert plan.live_differs
    live, draft = plan.comparisons
    assert not draft.differs
    assert '-    "calculation_type": "count",' in live.lines
    assert '+    "calculation_type": "sum",' in live.lines
    assert plan.drift() == ["calculated attribute 'LTV' (id 1): active definition differs from code"]


def test_update_writes_only_what_differs_and_diffs_the_draft():
    old = definition(seeding=None)
    wanted = definition(seeding=None, conditions=[])
    spec = parse_spec({"name": "LTV", "description": "Lifetime value", "draft_definition": wanted})
    plan = plan_calculated_attribute(ca(draft=old, description="old"), spec)
    assert plan.action == "update"
    assert plan.writes == ("description",)
    assert plan.request == {"name": "LTV", "draft_definition": None, "description": "Lifetime value"}
    assert '-  "description": "old",' in plan.comparisons[1].lines


def test_seed_deleting_change_is_refused_unless_allowed():
    spec = parse_spec({"name": "LTV", "draft_definition": definition(calculation_type="count")})
    refused = plan_calculated_attribute(ca(draft=VALID_DEFINITION), spec)
    assert refused.refusal
    assert "calculation_type 'sum' -> 'count'" in refused.refusal
    assert "apply would be refused" in refused.text()
    allowed = plan_calculated_attribute(ca(draft=VALID_DEFINITION), spec, allow_seed_reset=True)
    assert allowed.refusal is None
    assert "deletes the seeds" in allowed.warnings[0]


def test_rename_after_activation_is_refused():
    spec = parse_spec({"name": "LTV2", "draft_definition": VALID_DEFINITION})
    plan = plan_calculated_attribute(ca(active=VALID_DEFINITION), spec)
    assert "renaming only before activation" in plan.refusal


def test_plan_is_json_for_xcom():
    plan = plan_calculated_attribute(None, parse_spec({"name": "LTV", "draft_definition": VALID_DEFINITION}))
    data = json.loads(json.dumps(plan.as_dict()))
    assert data["action"] == "create"
    assert data["live_differs"]
    assert data["text"] == plan.text()
    assert "request" not in data


def test_active_limit_names_the_holders():
    attributes = [
        ca(1, "B", active=VALID_DEFINITION),
        ca(2, "A", active=VALID_DEFINITION),
        ca(3, "C"),
        ca(4, "D", active={"x": 1}),
    ]
    holders = active_limit_holders(attributes, ca_id=4)
    assert [h.name for h in holders] == ["A", "B"]
    assert (
        active_limit_message(holders, 2)
        == "2 active calculated attribute(s) of the limit of 2 hold it: 'A' (id 2), 'B' (id 1)"
    )


def _versions(plan_json):
    return {
        v["version"]: DataPlanVersion.from_api(v, plan_json["data_plan_id"])
        for v in plan_json["data_plan_versions"]
    }


def test_data_plan_create_update_and_unchanged():
    raw = json.loads(PLAN_FILE.read_text())
    document = load_plan_document(raw)
    created = plan_data_plan(None, {}, document)
    assert created.action == "create"
    assert created.request["create_plan"]
    assert created.live_differs

    current = DataPlan.from_api(raw)
    same = plan_data_plan(current, _versions(raw), document)
    assert same.action == "none", same.text()
    assert not same.live_differs

    changed = copy.deepcopy(raw)
    changed["data_plan_versions"][0]["version_document"]["data_points"].pop()
    drifted = plan_data_plan(DataPlan.from_api(changed), _versions(changed), document)
    assert drifted.action == "update"
    assert drifted.live_differs
    assert drifted.request["versions"] == {"1": "update"}
    assert any(line.startswith("+ data point") for c in drifted.comparisons for line in c.lines)


def test_data_plan_version_not_activated_is_a_draft():
    raw = json.loads(PLAN_FILE.read_text())
    draft = copy.deepcopy(raw)
    for version in draft["data_plan_versions"]:
        version["activated_environment"] = "none"
    for version in raw["data_plan_versions"]:
        version.pop("activated_environment", None)
    document = load_plan_document(raw)  # the file leaves the environment alone
    plan = plan_data_plan(DataPlan.from_api(draft), _versions(draft), document)
    assert {c.against for c in plan.comparisons[1:]} == {"draft"}
    assert plan.action == "none"


def adobe_attribute(status="DRAFT", expression=None, **fields):
    wanted = adobe_definition()
    body = {
        "id": "ca-1",
        "name": wanted.name,
        "displayName": wanted.name,
        "status": status,
        "expression": {"type": "PQL", "format": "pql/text", "value": expression or wanted.expression},
        "duration": wanted.duration.as_api(),
        "keepCurrent": False,
        **fields,
    }
    return ComputedAttribute.from_api(body)


def test_adobe_draft_difference_is_an_update_and_live_difference_is_refused():
    wanted = adobe_definition()
    assert plan_computed_attribute(adobe_attribute(), wanted).action == "none"
    draft = plan_computed_attribute(adobe_attribute(expression="xEvent.count()"), wanted)
    assert draft.action == "update"
    assert draft.refusal is None
    assert draft.comparisons[1].against == "draft"
    assert draft.comparisons[1].differs
    assert '-  "expression": "xEvent.count()",' in draft.comparisons[1].lines
    live = plan_computed_attribute(adobe_attribute("PROCESSED", expression="xEvent.count()"), wanted)
    assert live.live_differs
    assert "accepts no change to it but status DISABLED" in live.refusal
    activate = plan_computed_attribute(adobe_attribute(), wanted, activate=True)
    assert activate.request == {"status": "NEW"}
    assert plan_computed_attribute(None, wanted, activate=True).writes == (
        "create computed attribute 'lifetimeValue' as NEW",
    )


def run(run_id, logical_date, pipeline_id="p"):
    return PipelineRun.from_api(
        {"id": run_id, "pipeline_id": pipeline_id, "status": "success", "logical_date": logical_date}
    )


def test_run_started_by_an_unanswered_trigger_is_the_earliest_from_the_intent_on():
    intent = TriggerIntent("p", "2026-12-01T10:00:00.000+00:00", 1)
    runs = [
        run(1, "2026-12-01T09:00:00.000Z"),  # long before: another run
        run(3, "2026-12-01T10:05:00.000Z"),
        run(2, "2026-12-01T09:59:30.000Z"),  # within the clock skew
        run(9, "2026-12-01T10:00:01.000Z", pipeline_id="other"),
    ]
    scheduled = PipelineRun.from_api(
        {"id": 0, "status": "success", "type": "scheduled", "logical_date": "2026-12-01T10:00:00.000Z"}
    )
    assert run_started_by(intent, [scheduled]) is None
    assert run_started_by(intent, runs).id == 2
    assert run_started_by(intent, runs[:1]) is None
    assert TriggerIntent.from_json(intent.answered(2).as_json()) == intent.answered(2)
    assert TriggerIntent.from_json({"at": "x"}) is None
