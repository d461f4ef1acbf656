from __future__ import annotations

import pytest

from airflow_provider_mparticle.client import (
    AsyncMParticleClient,
    MParticleConfigError,
    MParticleNotFoundError,
    MParticleValidationError,
)
from airflow_provider_mparticle.client.warehouse_sync.models import (
    FAILURE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    PipelineRunStatus,
    PipelineStatus,
    is_already_in_progress,
)
from airflow_provider_mparticle.testing.examples import CONNECTION, DATA_MODEL, create_pipeline, pipeline_body


def test_run_status_sets_are_defined_once():
    assert {s for s in PipelineRunStatus if s.is_terminal} == set(TERMINAL_RUN_STATUSES)
    assert {s for s in PipelineRunStatus if s.is_failure} == set(FAILURE_RUN_STATUSES)
    assert not PipelineRunStatus.RETRYING.is_terminal
    assert PipelineRunStatus.SUCCESS.is_success
    assert PipelineRunStatus.parse("SUCCESS") is PipelineRunStatus.SUCCESS
    assert PipelineRunStatus.parse("exploded") is None


def test_resources_round_trip_and_secrets_come_back_masked(client):
    api = client.warehouse_sync
    connection = api.create_connection(CONNECTION)
    assert connection.status == "healthy"
    assert connection.config["password"] == "************"
    assert [c.id for c in api.list_connections("Snowflake")] == [CONNECTION["id"]]
    assert api.list_connections("BigQuery") == []
    model = api.create_data_model(DATA_MODEL)
    assert model.status == "valid"
    assert model.sql_query.startswith("SELECT")
    pipeline = api.create_pipeline(pipeline_body())
    assert pipeline.status is PipelineStatus.IDLE
    assert pipeline.is_on_demand
    assert [p.id for p in api.list_pipelines()] == ["example-pipeline"]
    renamed = api.update_data_model(DATA_MODEL["id"], {**DATA_MODEL, "name": "Renamed"})
    assert api.get_data_model(DATA_MODEL["id"]).name == renamed.name == "Renamed"
    with pytest.raises(MParticleValidationError, match="is used by pipeline"):
        api.delete_connection(CONNECTION["id"])
    api.delete_pipeline("example-pipeline")
    api.delete_data_model(DATA_MODEL["id"])
    api.delete_connection(CONNECTION["id"])
    with pytest.raises(MParticleNotFoundError):
        api.get_connection(CONNECTION["id"])


def test_bad_resources_are_refused_before_sending(client, mparticle_emulator):
    with pytest.raises(MParticleConfigError, match=r"missing required field.*sync_mode"):
        client.warehouse_sync.create_pipeline({**pipeline_body(), "sync_mode": None})
    with pytest.raises(MParticleConfigError, match="'id'"):
        client.warehouse_sync.create_connection({**CONNECTION, "id": "has spaces"})
    assert mparticle_emulator.control.journal(path="/connections") == []


def test_emulator_validates_pipelines(client):
    create_pipeline(client)
    with pytest.raises(MParticleValidationError) as caught:
        client.warehouse_sync.create_pipeline(pipeline_body("other", environment="staging", state="on"))
    assert "Field 'environment' must be one of development, production." in caught.value.messages
    assert "Field 'state' must be one of new, active, paused." in caught.value.messages


def test_trigger_runs_to_success_and_second_trigger_is_refused_while_running(client, mparticle_emulator):
    create_pipeline(client)
    api = client.warehouse_sync
    started = api.trigger("example-pipeline")
    assert started.status == "attempt_requested"
    assert api.get_pipeline("example-pipeline").status is PipelineStatus.RUNNING
    with pytest.raises(MParticleValidationError) as caught:
        api.trigger("example-pipeline")
    assert caught.value.messages == ["Pipeline example-pipeline is already in progress."]
    assert is_already_in_progress(caught.value)
    statuses = [api.run("example-pipeline", started.pipeline_run_id).status for _ in range(3)]
    assert statuses == [PipelineRunStatus.RUNNING, PipelineRunStatus.RUNNING, PipelineRunStatus.SUCCESS]
    run = api.run("example-pipeline", started.pipeline_run_id)
    assert (run.successful_records, run.failed_records) == (100, 0)
    report = api.report("example-pipeline")
    assert report.status is PipelineStatus.IDLE
    assert report.latest_successful_pipeline_run_id == started.pipeline_run_id
    assert report.latest_pipeline_run.id == started.pipeline_run_id
    assert len(mparticle_emulator.control.pipeline_triggers("example-pipeline")) == 2


def test_failed_run_faults_the_pipeline_and_retrying_is_seen(client, mparticle_emulator):
    create_pipeline(client)
    control = mparticle_emulator.control
    control.plan_pipeline_runs(
        "example-pipeline", outcome="failed", errors=["Column plan missing"], retrying=True
    )
    api = client.warehouse_sync
    run_id = api.trigger("example-pipeline").pipeline_run_id
    statuses = [api.run("example-pipeline", run_id).status_text for _ in range(3)]
    assert statuses == ["running", "retrying", "failed"]
    assert api.run("example-pipeline", run_id).errors == ["Column plan missing"]
    report = api.report("example-pipeline")
    assert report.status is PipelineStatus.FAULTED
    assert report.errors == ["Column plan missing"]


def test_connection_fault_faults_pipeline_and_trigger_retry_fails_until_fixed(client, mparticle_emulator):
    create_pipeline(client)
    mparticle_emulator.control.configure(progress_mode="immediate")
    mparticle_emulator.control.fault_warehouse_connection(CONNECTION["id"], "Incorrect username or password")
    api = client.warehouse_sync
    assert api.get_pipeline("example-pipeline").status is PipelineStatus.FAULTED
    run = api.run("example-pipeline", api.trigger("example-pipeline").pipeline_run_id)
    assert run.status is PipelineRunStatus.FAILED
    assert run.errors == ["Incorrect username or password"]
    assert api.report("example-pipeline").connection_errors == ["Incorrect username or password"]
    api.update_connection(CONNECTION["id"], CONNECTION)
    run = api.run("example-pipeline", api.trigger("example-pipeline").pipeline_run_id)
    assert run.status is PipelineRunStatus.SUCCESS
    assert api.report("example-pipeline").status is PipelineStatus.IDLE


def test_pause_and_resume_through_state(client):
    create_pipeline(client)
    api = client.warehouse_sync
    assert api.pause_pipeline("example-pipeline").status is PipelineStatus.STOPPED
    with pytest.raises(MParticleValidationError, match="paused"):
        api.trigger("example-pipeline")
    resumed = api.resume_pipeline("example-pipeline")
    assert (resumed.state, resumed.status) == ("active", PipelineStatus.IDLE)


def test_runs_are_paged_and_filtered_by_logical_date(client, mparticle_emulator):
    create_pipeline(client)
    control = mparticle_emulator.control
    control.configure(progress_mode="immediate")
    api = client.warehouse_sync
    ids = []
    for _ in range(7):
        ids.append(api.trigger("example-pipeline").pipeline_run_id)
        api.run("example-pipeline", ids[-1])
        control.advance_clock(3600)
    page = api.runs("example-pipeline", page=2, page_size=3)
    assert [r.id for r in page.items] == ids[3:6]
    assert (page.total_pages, page.total_items, page.has_previous_page, page.has_next_page) == (
        3,
        7,
        True,
        True,
    )
    assert [r.id for r in api.iter_runs("example-pipeline", page_size=3)] == ids
    runs = list(api.iter_runs("example-pipeline", page_size=2))
    window = list(
        api.iter_runs("example-pipeline", start_date=runs[2].logical_date, end_date=runs[4].logical_date)
    )
    assert [r.id for r in window] == ids[2:5]
    queries = [e["query"] for e in control.journal(path="/runs", method="GET")]
    assert "currentPage=2&pageSize=3" in queries


async def test_async_client_reads_runs(mparticle_settings, client):
    create_pipeline(client)
    run_id = client.warehouse_sync.trigger("example-pipeline").pipeline_run_id
    async with AsyncMParticleClient(mparticle_settings) as aclient:
        run = await aclient.warehouse_sync.run("example-pipeline", run_id)
        assert run.status is PipelineRunStatus.RUNNING
        report = await aclient.warehouse_sync.report("example-pipeline")
        assert report.latest_pipeline_run.id == run_id
        assert [r.id async for r in aclient.warehouse_sync.iter_runs("example-pipeline", page_size=1)] == [
            run_id
        ]


def test_held_trigger_answer_creates_the_run_first_and_a_reconciler_finds_it(client, mparticle_emulator):
    import threading

    from airflow_provider_mparticle.client.warehouse_sync.models import TriggerIntent, run_started_by

    control = mparticle_emulator.control
    create_pipeline(client, "held-answer")
    control.plan_pipeline_runs("held-answer", answer_delay=30)
    intent = TriggerIntent.now("held-answer", try_number=1)
    answers: list[object] = []
    sender = threading.Thread(target=lambda: answers.append(client.warehouse_sync.trigger("held-answer")))
    sender.start()
    for _ in range(200):
        if control.pipeline_runs():
            break
        threading.Event().wait(0.02)
    assert [r["id"] for r in control.pipeline_runs()] == [1]
    assert answers == []  # the run exists, its answer is still held
    found = run_started_by(
        intent, client.warehouse_sync.iter_runs("held-answer", start_date=intent.search_from)
    )
    assert found is not None
    assert found.id == 1
    assert control.release_trigger_answers() == 1
    sender.join(10)
    assert answers[0].pipeline_run_id == 1
