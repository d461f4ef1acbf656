"""Applying a Warehouse Sync file with the client, against the emulator over HTTP: dependency order,
idempotence, a create whose answer was lost, prune, and refusals before anything is sent."""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.client.warehouse_sync.apply import (
    WarehouseSyncApplyError,
    active_pipelines_after,
    apply_plan,
    check_before_writing,
    read_live,
)
from airflow_provider_mparticle.client.warehouse_sync.documents import load_document, plan_document
from airflow_provider_mparticle.testing.examples import create_pipeline

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "warehouse_sync.yaml"
TEXT = EXAMPLE.read_text()
SECRETS = {"snowflake-main": "s3cret-snowflake-pw"}


def document(text=TEXT):
    return load_document(text, "warehouse_sync.yaml")


def plan(api, text=TEXT, **kwargs):
    live, running = read_live(api)
    return plan_document(document(text), live, running=running, **kwargs), live


def apply(api, text=TEXT, **kwargs):
    result, live = plan(api, text, **kwargs)
    check_before_writing(result, live)
    return [a.outcome for a in apply_plan(api, result, SECRETS)]


def writes(control):
    """(method, last path segment) of every request that could change the workspace."""
    return [
        (e["method"], e["path"].rsplit("/", 1)[-1])
        for e in control.journal(bodies=False)
        if e["method"] not in ("GET", "HEAD") and "oauth" not in e["path"]
    ]


def test_apply_creates_in_dependency_order_then_sends_nothing(client, mparticle_emulator):
    control = mparticle_emulator.control
    assert apply(client.warehouse_sync) == ["created", "created", "created"]
    assert writes(control) == [("POST", "connections"), ("POST", "data-models"), ("POST", "data-pipelines")]
    stored = mparticle_emulator.state.backends["warehouse_sync"].connections["acme-snowflake-main"]
    assert stored.body["config"]["password"] == SECRETS["snowflake-main"]  # added at send time only
    before = len(writes(control))
    assert apply(client.warehouse_sync) == ["unchanged", "unchanged", "unchanged"]
    assert len(writes(control)) == before


def test_an_update_sends_the_whole_object_with_its_secret_and_computed_fields(client, mparticle_emulator):
    api = client.warehouse_sync
    apply(api)
    changed = TEXT.replace("warehouse: compute_wh", "warehouse: big_wh").replace(
        "environment: development", "environment: production"
    )
    result, _ = plan(api, changed)
    assert [(c.change, [f.path for f in c.fields]) for c in result.changes] == [
        ("update", ["config.warehouse"]),
        ("none", []),
        ("update", ["environment"]),
    ]
    assert apply(api, changed) == ["updated", "unchanged", "updated"]
    backend = mparticle_emulator.state.backends["warehouse_sync"]
    assert backend.connections["acme-snowflake-main"].body["config"]["password"] == SECRETS["snowflake-main"]
    assert api.get_pipeline("acme-open-tickets-sync").environment == "production"


def test_a_create_whose_answer_was_lost_is_adopted_not_made_twice(mparticle_settings, mparticle_emulator):
    control = mparticle_emulator.control
    # The data model's create is done but its answer never comes back in time: the client times out,
    # retries the POST, and is told the model exists.
    control.hold_create_answers("Data model", seconds=30)
    impatient = dataclasses.replace(mparticle_settings, timeout=0.5)
    with MParticleClient(impatient) as client:
        outcomes = apply(client.warehouse_sync)
    control.release_trigger_answers()
    assert outcomes == ["created", "adopted", "created"]
    posts = [path for method, path in writes(control) if method == "POST"]
    assert posts.count("data-models") == 2  # the retry, refused: the model already existed
    assert list(mparticle_emulator.state.backends["warehouse_sync"].data_models) == ["acme-open-tickets"]


def test_prune_deletes_what_the_file_no_longer_lists_in_reverse_order_and_only_its_own(
    client, mparticle_emulator
):
    api = client.warehouse_sync
    apply(api)
    create_pipeline(client)  # someone else's objects, outside the file's id prefix
    without_pipeline = TEXT[: TEXT.index("pipelines:")]
    kept, _ = plan(api, without_pipeline)
    assert [(c.id, c.change) for c in kept.changes][-1] == ("acme-open-tickets-sync", "absent")
    assert apply(api, without_pipeline) == ["unchanged", "unchanged", "kept"]
    without_all = TEXT[: TEXT.index("connections:")]
    assert apply(api, without_all, prune=True) == ["deleted", "deleted", "deleted"]
    deletes = [path for method, path in writes(mparticle_emulator.control) if method == "DELETE"]
    assert deletes == ["acme-open-tickets-sync", "acme-open-tickets", "acme-snowflake-main"]
    assert [p.id for p in api.list_pipelines()] == ["example-pipeline"]


def test_a_running_pipeline_and_what_it_uses_are_not_changed_and_nothing_is_sent(client, mparticle_emulator):
    control = mparticle_emulator.control
    api = client.warehouse_sync
    apply(api)
    control.plan_pipeline_runs("acme-open-tickets-sync", hold=True)
    api.trigger("acme-open-tickets-sync")
    changed = TEXT.replace("warehouse: compute_wh", "warehouse: big_wh").replace(
        "name: Open tickets to user attributes", "name: Renamed"
    )
    before = len(writes(control))
    with pytest.raises(WarehouseSyncApplyError) as caught:
        apply(api, changed)
    message = str(caught.value)
    assert "connection acme-snowflake-main is used by running pipeline(s) acme-open-tickets-sync" in message
    assert (
        "pipeline acme-open-tickets-sync is running; a running pipeline is never updated mid-run" in message
    )
    assert "Nothing was sent" in message
    assert caught.value.retryable
    assert len(writes(control)) == before
    with pytest.raises(WarehouseSyncApplyError, match="never deleted mid-run"):
        apply(api, TEXT[: TEXT.index("pipelines:")], prune=True)
    assert len(writes(control)) == before


def test_more_active_pipelines_than_the_limit_are_refused_before_writing(client, mparticle_emulator):
    for n in range(5):
        create_pipeline(client, f"p{n}")
    control = mparticle_emulator.control
    before = len(writes(control))
    result, live = plan(client.warehouse_sync)
    assert len(active_pipelines_after(result, live)) == 6
    with pytest.raises(WarehouseSyncApplyError) as caught:
        check_before_writing(result, live)
    assert "6 pipelines would be active (acme-open-tickets-sync, p0, p1, p2, p3, p4)" in str(caught.value)
    assert "more than the workspace's limit of 5" in str(caught.value)
    assert not caught.value.retryable
    assert len(writes(control)) == before
    paused = TEXT.replace(
        "    environment: development\n", "    environment: development\n    state: paused\n"
    )
    assert apply(client.warehouse_sync, paused) == ["created", "created", "created"]


def test_a_refusal_part_way_names_the_object_and_what_was_written_before(client, mparticle_emulator):
    mparticle_emulator.control.add_fault(path="data-pipelines", method="POST", status=400, message="Bad feed")
    with pytest.raises(WarehouseSyncApplyError) as caught:
        apply(client.warehouse_sync)
    assert str(caught.value) == (
        "mParticle refused to create pipeline 'open-tickets-sync' (id acme-open-tickets-sync): Bad feed. "
        "Written before this: connection snowflake-main (acme-snowflake-main): created; "
        "data model open-tickets (acme-open-tickets): created."
    )


def test_no_answer_after_the_retries_is_retryable_and_the_next_apply_goes_on(client, mparticle_emulator):
    control = mparticle_emulator.control
    control.add_fault(path="data-pipelines", method="POST", drop=True)
    with pytest.raises(WarehouseSyncApplyError) as caught:
        apply(client.warehouse_sync)
    assert caught.value.retryable
    assert str(caught.value).startswith(
        "Could not write pipeline 'open-tickets-sync' (id acme-open-tickets-sync)"
    )
    control.clear_faults()
    assert apply(client.warehouse_sync) == ["unchanged", "unchanged", "created"]
