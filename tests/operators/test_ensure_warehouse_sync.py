"""MParticleEnsureWarehouseSyncOperator against the emulator over HTTP: plan writes nothing, apply twice
sends nothing the second time, a kill between a create and its answer resumes without a duplicate,
drift field by field, bad files named, and the warehouse secret kept out of what the task shows."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_mparticle.exceptions import MParticleTaskFailure
from airflow_provider_mparticle.operators.warehouse_sync import MParticleEnsureWarehouseSyncOperator
from airflow_provider_mparticle.testing.examples import create_pipeline

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLE = ROOT / "example_dags" / "warehouse_sync.yaml"
TEXT = EXAMPLE.read_text()
SECRET = "zq-snowflake-pw-91c4e7"
PIPELINE = "acme-open-tickets-sync"


@pytest.fixture
def warehouse_conn(monkeypatch):
    """The Airflow connection the example file names for the Snowflake password."""
    conn = json.dumps({"conn_type": "generic", "login": "mparticle_user", "password": SECRET})
    monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_MPARTICLE", conn)
    return conn


def writes(control):
    return [
        (e["method"], e["path"].rsplit("/", 1)[-1])
        for e in control.journal(bodies=False)
        if e["method"] not in ("GET", "HEAD") and "oauth" not in e["path"]
    ]


def ensure(task_context, mode="apply", file=EXAMPLE, **kwargs):
    op = MParticleEnsureWarehouseSyncOperator(task_id="ensure", file=str(file), mode=mode, **kwargs)
    return op.execute(task_context)


def test_plan_shows_every_object_and_writes_nothing(
    mparticle_conn_id, mparticle_emulator, task_context, capsys
):
    plan = ensure(task_context, "plan")
    assert plan["counts"]["create"] == 3
    assert [(c["kind"], c["key"], c["change"]) for c in plan["changes"]] == [
        ("connection", "snowflake-main", "create"),
        ("data model", "open-tickets", "create"),
        ("pipeline", "open-tickets-sync", "create"),
    ]
    assert task_context["ti"].xcom["change_plan"] == plan
    out = capsys.readouterr().out
    assert "[plan] Warehouse Sync plan for" in out
    assert "pipeline 'open-tickets-sync' (id acme-open-tickets-sync): apply would create" in out
    assert writes(mparticle_emulator.control) == []  # not even with no Airflow connection for the secret


def test_apply_twice_sends_nothing_the_second_time(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, task_context
):
    control = mparticle_emulator.control
    first = ensure(task_context)
    assert [a["outcome"] for a in first["applied"]] == ["created"] * 3
    assert writes(control) == [("POST", "connections"), ("POST", "data-models"), ("POST", "data-pipelines")]
    assert task_context["ti"].xcom["warehouse_sync_ids"]["pipelines"] == {"open-tickets-sync": PIPELINE}
    before = len(control.journal(bodies=False))
    second = ensure(task_context)
    assert [a["outcome"] for a in second["applied"]] == ["unchanged"] * 3
    assert len(writes(control)) == 3
    assert all(
        e["method"] == "GET" for e in control.journal(bodies=False)[before:] if "oauth" not in e["path"]
    )
    assert task_context["ti"].xcom["change_plan"]["has_changes"] is False


def test_drift_is_found_field_by_field_and_check_fails_without_retries(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, client, task_context
):
    ensure(task_context)
    api = client.warehouse_sync
    pipeline = api.get_pipeline(PIPELINE)
    api.update_pipeline(PIPELINE, {**pipeline.writable_body(), "environment": "production"})
    model = api.get_data_model("acme-open-tickets")
    api.update_data_model(model.id, {**model.raw, "config": {"sql_query": "SELECT 1 FROM a.b.c"}})
    before = len(writes(mparticle_emulator.control))
    with pytest.raises(MParticleTaskFailure) as caught:
        ensure(task_context, "check")
    message = str(caught.value)
    assert 'pipeline \'open-tickets-sync\' (id acme-open-tickets-sync) differs from the file: environment: "production" -> "development"' in message  # fmt: skip
    assert (
        "data model 'open-tickets' (id acme-open-tickets) differs from the file: config.sql_query" in message
    )
    assert (
        "connection 'snowflake-main'"
        not in message.split("Live differs from code:")[1].split("Warehouse Sync plan")[0]
    )
    plan = task_context["ti"].xcom["change_plan"]
    fields = {c["key"]: [f["path"] for f in c["fields"]] for c in plan["changes"]}
    assert fields == {
        "snowflake-main": [],
        "open-tickets": ["config.sql_query"],
        "open-tickets-sync": ["environment"],
    }
    assert len(writes(mparticle_emulator.control)) == before
    # An apply puts the file back; the check then passes.
    ensure(task_context)
    assert ensure(task_context, "check")["live_differs"] is False


def test_a_running_pipeline_is_not_updated_and_the_apply_can_be_retried(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, client, task_context, tmp_path
):
    control = mparticle_emulator.control
    ensure(task_context)
    control.plan_pipeline_runs(PIPELINE, hold=True)
    run_id = client.warehouse_sync.trigger(PIPELINE).pipeline_run_id
    renamed = tmp_path / "ws.yaml"
    renamed.write_text(TEXT.replace("name: Open tickets to user attributes", "name: Renamed"))
    before = len(writes(control))
    with pytest.raises(AirflowException) as caught:
        ensure(task_context, file=renamed)
    assert not isinstance(caught.value, MParticleTaskFailure)  # retryable: the run ends
    assert f"pipeline {PIPELINE} is running; a running pipeline is never updated mid-run" in str(caught.value)
    assert len(writes(control)) == before
    control.release_pipeline_run(run_id)
    client.warehouse_sync.run(PIPELINE, run_id)
    assert [a["outcome"] for a in ensure(task_context, file=renamed)["applied"]][-1] == "updated"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    pipeline_type: user_attributes\n", "    pipeline_type: user_attributes\n    colour: red\n",
         "pipelines.open-tickets-sync.colour (line 36): unknown key"),
        ("    data_model: open-tickets\n", "    data_model: nope\n",
         "pipelines.open-tickets-sync.data_model (line 37): 'nope' is not a key of data_models"),
        ("      role: mparticle_role\n", "      role: mparticle_role\n      password: hunter2\n",
         "connections.snowflake-main.config.password (line 17): secrets never go in the file"),
    ],
)  # fmt: skip
def test_a_bad_file_fails_naming_file_key_and_reason_before_sending(
    mparticle_conn_id, mparticle_emulator, task_context, tmp_path, old, new, expected
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT.replace(old, new, 1))
    with pytest.raises(MParticleTaskFailure) as caught:
        ensure(task_context, file=bad)
    assert str(caught.value).startswith(f"Invalid Warehouse Sync file {bad}")
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert mparticle_emulator.control.journal() == []


def test_a_missing_airflow_connection_for_the_secret_fails_before_sending(
    mparticle_conn_id, mparticle_emulator, task_context
):
    with pytest.raises(MParticleTaskFailure) as caught:
        ensure(task_context)
    assert str(caught.value) == (
        f"{EXAMPLE}: connections.snowflake-main.credentials.airflow_conn_id: the Airflow connection "
        "'snowflake_mparticle' does not exist. Nothing was sent."
    )
    assert writes(mparticle_emulator.control) == []


def test_the_secret_is_sent_but_never_shown(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, task_context, caplog, capsys, tmp_path
):
    caplog.set_level(logging.DEBUG)
    op = MParticleEnsureWarehouseSyncOperator(task_id="ensure", file=str(EXAMPLE))
    result = op.execute(task_context)
    changed = tmp_path / "ws.yaml"
    changed.write_text(TEXT.replace("warehouse: compute_wh", "warehouse: big_wh"))
    updated = MParticleEnsureWarehouseSyncOperator(task_id="update", file=str(changed)).execute(task_context)
    backend = mparticle_emulator.state.backends["warehouse_sync"]
    assert (
        backend.connections["acme-snowflake-main"].body["config"]["password"] == SECRET
    )  # sent on update too
    shown = {
        "xcom": json.dumps(task_context["ti"].xcom, default=str),
        "results": json.dumps([result, updated], default=str),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "output": "".join(capsys.readouterr()),
        "journal": json.dumps(mparticle_emulator.control.journal()),
        "fields": json.dumps({name: getattr(op, name) for name in op.template_fields}),
    }
    # The task's own lines were captured: the update, field by field.
    assert 'config.warehouse: "compute_wh" -> "big_wh"' in shown["logs"] + shown["output"]
    assert {name: SECRET in text for name, text in shown.items()} == dict.fromkeys(shown, False)


def test_a_kill_between_a_create_and_its_answer_resumes_without_a_duplicate(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, task_context
):
    """SIGKILL while the emulator holds the data model's create answer: the model exists, the killed
    apply never learnt it. The next apply finds it by its id and creates only the pipeline."""
    control = mparticle_emulator.control
    control.hold_create_answers("Data model", seconds=120)
    code = (
        "from airflow_provider_mparticle.operators.warehouse_sync import MParticleEnsureWarehouseSyncOperator\n"
        f"MParticleEnsureWarehouseSyncOperator(task_id='apply', file={str(EXAMPLE)!r}).execute({{}})\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_CONN_MPARTICLE_DEFAULT": json.dumps(mparticle_emulator.connection_uri_json()),
        "AIRFLOW_CONN_SNOWFLAKE_MPARTICLE": warehouse_conn,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    backend = mparticle_emulator.state.backends["warehouse_sync"]
    deadline = time.monotonic() + 120
    while not backend.data_models:
        assert child.poll() is None, child.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the data model's create never reached the emulator"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    control.release_trigger_answers()  # to nobody: the apply is gone
    assert writes(control) == [("POST", "connections"), ("POST", "data-models")]

    resumed = ensure(task_context)
    assert [a["outcome"] for a in resumed["applied"]] == ["unchanged", "unchanged", "created"]
    assert writes(control) == [("POST", "connections"), ("POST", "data-models"), ("POST", "data-pipelines")]
    assert (len(backend.connections), len(backend.data_models), len(backend.pipelines)) == (1, 1, 1)


def test_prune_never_deletes_a_running_pipeline(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, client, task_context, tmp_path
):
    ensure(task_context)
    create_pipeline(client)  # not the file's: never touched
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, hold=True)
    client.warehouse_sync.trigger(PIPELINE)
    only_models = tmp_path / "ws.yaml"
    only_models.write_text(TEXT[: TEXT.index("pipelines:")])
    plan = ensure(task_context, "plan", file=only_models, prune=True)
    refusal = f"pipeline {PIPELINE} is running; a running pipeline is never deleted mid-run"
    assert plan["refusals"] == [f"pipeline id {PIPELINE} (not in the file): {refusal}"]
    with pytest.raises(AirflowException, match="never deleted mid-run"):
        ensure(task_context, file=only_models, prune=True)
    assert {p.id for p in client.warehouse_sync.list_pipelines()} == {PIPELINE, "example-pipeline"}


BIGQUERY = """version: 1
id_prefix: "bq-"
connections:
  warehouse:
    name: BigQuery (analytics)
    service_provider: BigQuery
    config:
      region: us-east1
      project_id: my-gcp-project
      dataset_id: analytics
      service_account_id: mparticle@my-gcp-project.iam.gserviceaccount.com
    credentials:
      airflow_conn_id: bigquery_mparticle
"""


@pytest.mark.parametrize(
    ("extra", "password", "expected"),
    [
        ({"keyfile_dict": {"type": "service_account", "private_key": "k1"}}, None, '{"type": "service_account", "private_key": "k1"}'),
        ({"service_account_key": '{"private_key": "k2"}'}, "ignored", '{"private_key": "k2"}'),
        ({}, '{"private_key": "k3"}', '{"private_key": "k3"}'),
    ],
)  # fmt: skip
def test_a_bigquery_key_comes_from_the_connection_extra_or_its_password(
    mparticle_conn_id, mparticle_emulator, task_context, tmp_path, monkeypatch, extra, password, expected
):
    conn = {"conn_type": "generic", "extra": extra, **({"password": password} if password else {})}
    monkeypatch.setenv("AIRFLOW_CONN_BIGQUERY_MPARTICLE", json.dumps(conn))
    file = tmp_path / "bq.yaml"
    file.write_text(BIGQUERY)
    ensure(task_context, file=file)
    stored = mparticle_emulator.state.backends["warehouse_sync"].connections["bq-warehouse"]
    assert stored.body["config"]["service_account_key"] == expected
    assert "private_key" not in json.dumps(task_context["ti"].xcom)


def test_a_rotated_secret_is_resent_on_request_and_is_not_drift(
    mparticle_conn_id, mparticle_emulator, warehouse_conn, task_context, monkeypatch
):
    ensure(task_context)
    rotated = "zq-rotated-pw-5d20aa"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SNOWFLAKE_MPARTICLE", json.dumps({"conn_type": "generic", "password": rotated})
    )
    control = mparticle_emulator.control
    before = len(writes(control))
    assert [a["outcome"] for a in ensure(task_context)["applied"]] == ["unchanged"] * 3  # not seen
    assert ensure(task_context, "check", resend_secrets=True)["live_differs"] is False
    plan = ensure(task_context, "plan", resend_secrets=True)
    resent = "config.password: resent from the Airflow connection 'snowflake_mparticle'"
    assert plan["changes"][0]["writes"] == [f"{resent} (not compared: the API hands it back masked)"]
    assert len(writes(control)) == before
    outcomes = [a["outcome"] for a in ensure(task_context, resend_secrets=True)["applied"]]
    assert outcomes == ["updated", "unchanged", "unchanged"]
    assert writes(control)[before:] == [("PUT", "acme-snowflake-main")]
    stored = mparticle_emulator.state.backends["warehouse_sync"].connections["acme-snowflake-main"]
    assert stored.body["config"]["password"] == rotated
    assert rotated not in json.dumps(task_context["ti"].xcom)
