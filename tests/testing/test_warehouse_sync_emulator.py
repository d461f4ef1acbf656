"""The Warehouse Sync emulator's documented validations, over HTTP through the client.

Each refusal is one the v2 reference documents (see ``testing/emulator/warehouse_sync/rules.py``); the
client's own checks pass for every body here, so the answers are the emulator's.
"""

from __future__ import annotations

import copy
import threading

import pytest

from airflow_provider_mparticle.client import MParticleNotFoundError, MParticleValidationError
from airflow_provider_mparticle.testing.examples import (
    CONNECTION,
    DATA_MODEL,
    PURCHASE_POINT,
    create_pipeline,
    pipeline_body,
)


def refused(call, *args):
    with pytest.raises(MParticleValidationError) as caught:
        call(*args)
    assert caught.value.status_code == 400
    return caught.value.messages


def test_a_data_model_whose_sql_is_empty_or_blank_is_refused(client, mparticle_emulator):
    api = client.warehouse_sync
    for sql in ("", "   \n  "):
        body = {**DATA_MODEL, "config": {"sql_query": sql}}
        assert refused(api.create_data_model, body) == [
            "Field 'config.sql_query' is required and must not be empty."
        ]
    api.create_data_model(DATA_MODEL)
    blank = {**DATA_MODEL, "config": {"sql_query": " "}}
    assert "must not be empty" in refused(api.update_data_model, DATA_MODEL["id"], blank)[0]
    assert api.get_data_model(DATA_MODEL["id"]).sql_query == DATA_MODEL["config"]["sql_query"]
    assert "Field 'state' must be one of new, active, inactive." in refused(
        api.create_data_model, {**DATA_MODEL, "id": "m2", "state": "on"}
    )


def test_each_warehouse_needs_the_config_fields_its_table_marks_required(client):
    api = client.warehouse_sync
    snowflake = copy.deepcopy(CONNECTION)
    del snowflake["config"]["password"], snowflake["config"]["storage_integration"]
    assert refused(api.create_connection, snowflake) == [
        "Snowflake connections require field(s) 'config.password', 'config.storage_integration'."
    ]
    databricks = {**CONNECTION, "service_provider": "Databricks", "config": {"provider": "org"}}
    assert refused(api.create_connection, databricks) == [
        "Databricks connections require field(s) 'config.schema'."
    ]
    # The BigQuery and Redshift tables mark no field required.
    bigquery = {**CONNECTION, "id": "bq", "service_provider": "BigQuery", "config": {"project_id": "p"}}
    assert api.create_connection(bigquery).status == "healthy"


def test_a_pipeline_naming_a_missing_connection_or_data_model_is_refused(client):
    api = client.warehouse_sync
    api.create_connection(CONNECTION)
    assert refused(api.create_pipeline, pipeline_body()) == [f"Data model {DATA_MODEL['id']} does not exist."]
    api.create_data_model(DATA_MODEL)
    assert refused(api.create_pipeline, pipeline_body(connection_id="gone")) == [
        "Connection gone does not exist."
    ]
    assert api.list_pipelines() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": {"type": "interval", "frequency": "hourly"}}, "Fields 'schedule.frequency' and 'schedule.start' are required for intervals."),
        ({"schedule": {"type": "interval", "frequency": "fortnightly", "start": "2026-01-01T00:00:00Z"}}, "Field 'schedule.frequency' must be one of hourly, daily, weekly, monthly."),
        ({"schedule": {"type": "on_demand", "delay": "5 minutes"}}, "Field 'schedule.delay' must be a number followed by one of s, m, h, d, w, y."),
        ({"sync_mode": {"type": "full", "from": "2023-03-01T:12:00:00Z"}}, "Field 'sync_mode.from' must be a timestamp like 2022-10-30T11:00:16Z."),
        ({"partner_feed_id": "12"}, "Field 'partner_feed_id' must be an integer."),
        ({"pipeline_type": "events"}, "Field 'field_transformation_id' is required for event pipelines."),
    ],
)  # fmt: skip
def test_pipeline_fields_are_checked_as_the_reference_documents_them(client, changes, message):
    create_pipeline(client)
    assert message in refused(client.warehouse_sync.create_pipeline, pipeline_body("other", **changes))


def test_both_spellings_of_on_demand_and_an_absent_delay_are_accepted(client):
    create_pipeline(client, schedule={"type": "on-demand"})
    created = client.warehouse_sync.create_pipeline(
        pipeline_body(
            "p2",
            state="paused",
            schedule={"type": "interval", "frequency": "daily", "start": "2026-01-01T00:00:00Z"},
        )
    )
    assert created.raw["schedule"]["frequency"] == "daily"


def test_a_data_plan_must_exist_come_with_a_version_and_be_active(client):
    create_pipeline(client)
    api = client.warehouse_sync
    with pytest.raises(MParticleNotFoundError, match="no data plan version was specified"):
        api.create_pipeline(pipeline_body("p2", data_plan_id="web_events"))
    with pytest.raises(MParticleNotFoundError, match="Data plan web_events was not found"):
        api.create_pipeline(pipeline_body("p2", data_plan_id="web_events", data_plan_version=1))
    versions = [
        {"version": n, "activated_environment": env, "version_document": {"data_points": [PURCHASE_POINT]}}
        for n, env in ((1, "none"), (2, "development"))
    ]
    client.data_planning.create_plan(
        {"data_plan_id": "web_events", "data_plan_name": "Web Events", "data_plan_versions": versions}
    )
    with pytest.raises(MParticleNotFoundError, match="Version 3 of data plan web_events was not found"):
        api.create_pipeline(pipeline_body("p2", data_plan_id="web_events", data_plan_version=3))
    assert refused(
        api.create_pipeline, pipeline_body("p2", data_plan_id="web_events", data_plan_version=1)
    ) == ["Version 1 of data plan web_events is not active."]
    # The reference gives the version as an integer and as a string.
    assert (
        api.create_pipeline(pipeline_body("p2", data_plan_id="web_events", data_plan_version="2")).id == "p2"
    )


def test_at_most_five_pipelines_are_active(client):
    for n in range(5):
        create_pipeline(client, f"p{n}")
    api = client.warehouse_sync
    assert refused(api.create_pipeline, pipeline_body("p5")) == [
        "A workspace can have at most 5 active pipelines."
    ]
    api.create_pipeline(pipeline_body("p5", state="paused"))
    assert refused(api.resume_pipeline, "p5") == ["A workspace can have at most 5 active pipelines."]
    api.pause_pipeline("p0")
    assert api.resume_pipeline("p5").state == "active"


def test_a_running_pipeline_is_neither_updated_nor_deleted_but_can_be_paused(client, mparticle_emulator):
    control = mparticle_emulator.control
    create_pipeline(client)
    api = client.warehouse_sync
    control.plan_pipeline_runs("example-pipeline", hold=True)
    run_id = api.trigger("example-pipeline").pipeline_run_id
    renamed = pipeline_body(name="Renamed")
    message = "Pipeline example-pipeline is in progress and cannot be updated (other than its state) until its run ends."
    assert refused(api.update_pipeline, "example-pipeline", renamed) == [message]
    assert refused(api.delete_pipeline, "example-pipeline") == [
        "Pipeline example-pipeline is in progress and cannot be deleted until its run ends."
    ]
    assert api.get_pipeline("example-pipeline").name == "Pipeline example-pipeline"
    assert api.pause_pipeline("example-pipeline").state == "paused"  # the documented way to stop syncing
    api.resume_pipeline("example-pipeline")
    control.release_pipeline_run(run_id)
    api.run("example-pipeline", run_id)  # read: the released run ends
    assert api.update_pipeline("example-pipeline", renamed).name == "Renamed"
    api.delete_pipeline("example-pipeline")


def test_a_held_create_answer_comes_after_the_object_exists(client, mparticle_emulator):
    control = mparticle_emulator.control
    control.hold_create_answers("Connection", seconds=30)
    answers: list[object] = []
    sender = threading.Thread(
        target=lambda: answers.append(client.warehouse_sync.create_connection(CONNECTION))
    )
    sender.start()
    backend = mparticle_emulator.state.backends["warehouse_sync"]
    for _ in range(500):
        if backend.connections:
            break
        threading.Event().wait(0.02)
    assert list(backend.connections) == [CONNECTION["id"]]
    assert answers == []  # created, its answer still held
    assert control.release_trigger_answers() == 1
    sender.join(10)
    assert answers[0].id == CONNECTION["id"]
    # Only the next create was held.
    client.warehouse_sync.create_connection({**CONNECTION, "id": "second"})
