"""Snapshot and restore of the whole emulated state, saved workspaces in tests, journal export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from airflow_provider_mparticle.client import MParticleClient
from airflow_provider_mparticle.testing.emulator import EmulatorServer
from airflow_provider_mparticle.testing.emulator.control_client import read_journal
from airflow_provider_mparticle.testing.examples import LTV_DEFINITION, create_example_workspace, seed_users

pytest_plugins = ["pytester"]

WORKSPACE = "example_workspace.json"  # written by EmulatorControl.save_snapshot, see test_saved_file_*


def _observed(control):
    """Everything the control plane shows of the workspace (reads that do not advance anything)."""
    return {
        "cas": control.calculated_attributes(),
        "seeds": control.seeds(),
        "runs": control.pipeline_runs(),
        "plans": control.data_plans(),
        "faults": requests.get(control.url + "/faults", timeout=5).json(),
    }


def test_restore_brings_back_every_api_and_the_control_state(mparticle_emulator, client):
    control = mparticle_emulator.control
    create_example_workspace(client, control)
    control.add_fault(path="/never", status=503, times=2)
    control.set_rate_limit(50, path="bulk")
    control.advance_clock(3600)
    before = _observed(control)
    snapshot = control.snapshot()

    control.reset()
    assert control.calculated_attributes() == []
    control.restore(snapshot)

    assert _observed(control) == before
    assert control.journal() == []  # the journal is a record of requests, not state
    assert control.snapshot()["clock_offset"] == 3600
    limit = control.snapshot()["rate_limit"]
    assert (limit["per_second"], limit["path"]) == (50.0, "bulk")


def test_long_running_things_resume_where_the_snapshot_left_them(mparticle_emulator, client):
    control = mparticle_emulator.control
    create_example_workspace(client, control)  # LTV activated and read once: 1 of 3 reads
    ltv = client.calculated_attributes.find_by_name("LTV")
    snapshot = control.snapshot()
    assert client.calculated_attributes.calculation_status(ltv.id).calculation_percent_complete == 67
    control.restore(snapshot)
    assert client.calculated_attributes.calculation_status(ltv.id).calculation_percent_complete == 67
    assert client.calculated_attributes.calculation_status(ltv.id).is_calculated


def test_a_restored_workspace_takes_new_work_with_the_running_emulators_credentials(tmp_path):
    file = tmp_path / "workspace.json"
    with EmulatorServer(propagation_seconds=0) as first:
        with MParticleClient(first.client_settings()) as client:
            create_example_workspace(client, first.control)
        first.control.save_snapshot(file)
    assert "emulator-api-secret" not in file.read_text()
    with EmulatorServer(propagation_seconds=0, api_secret="other-secret", client_secret="other") as second:
        second.control.restore(file)
        with MParticleClient(second.client_settings()) as client:
            assert [ca.name for ca in client.calculated_attributes.list()] == ["LTV", "Orders"]
            seed_users(client, "LTV", 30)  # seeds land on the restored, propagated definition
            assert client.warehouse_sync.report("example-pipeline").latest_successful_pipeline_run_id == 1
            new = client.calculated_attributes.create("Third", LTV_DEFINITION)
        assert new == 3  # ids continue after the restored ones
        assert second.control.seeds_digest("LTV")["seeds"] == 30
        assert second.control.configure()["api_secret"] == "other-secret"


def test_a_bad_snapshot_is_refused_and_changes_nothing(mparticle_emulator, client):
    control = mparticle_emulator.control
    create_example_workspace(client, control)
    before = _observed(control)
    url = control.url + "/restore"
    for body, message in [
        ({"backends": {}}, "Not an emulator snapshot"),
        ({**control.snapshot(), "version": 99}, "version 99 is not supported"),
        ({**control.snapshot(), "backends": {"billing": {}}}, "unknown APIs: billing"),
    ]:
        answer = requests.post(url, json=body, timeout=5)
        assert answer.status_code == 400
        assert message in answer.json()["errors"][0]["message"]
    assert _observed(control) == before


@pytest.mark.mparticle_workspace(WORKSPACE)
def test_saved_workspace_marker_restores_the_file_for_the_test(mparticle_emulator, client):
    assert [ca.name for ca in client.calculated_attributes.list()] == ["LTV", "Orders"]
    assert mparticle_emulator.control.seeds_digest("LTV")["seeds"] == 25
    client.calculated_attributes.delete(client.calculated_attributes.find_by_name("Orders").id)


@pytest.mark.mparticle_workspace(WORKSPACE)
def test_saved_workspace_is_restored_again_for_each_test(mparticle_emulator, client):
    assert mparticle_emulator.control.journal() == []
    # The previous test deleted 'Orders'; this one starts from the file again.
    assert [ca.name for ca in client.calculated_attributes.list()] == ["LTV", "Orders"]


def test_saved_file_matches_what_the_example_workspace_builds(mparticle_emulator, client, tmp_path):
    # Keeps the checked-in workspace honest: rebuilt today, it holds the same things.
    create_example_workspace(client, mparticle_emulator.control)
    saved = json.loads((Path(__file__).parent / WORKSPACE).read_text())
    built = mparticle_emulator.control.snapshot()
    assert set(built["backends"]) == set(saved["backends"])
    assert len(built["backends"]["seeding"]["seeds"]) == len(saved["backends"]["seeding"]["seeds"])
    assert [i["name"] for i in built["backends"]["calculated_attributes"]["items"]] == [
        i["name"] for i in saved["backends"]["calculated_attributes"]["items"]
    ]


def test_export_journal_writes_filtered_json_lines_without_secrets(mparticle_emulator, client, tmp_path):
    create_example_workspace(client, mparticle_emulator.control)
    file = tmp_path / "journal.jsonl"
    written = mparticle_emulator.control.export_journal(file, path="bulkcalculatedattributes")
    entries = read_journal(file)
    assert written == len(entries) == 1  # 25 users in one bulk request
    assert len(entries[0]["body"]) == 25
    assert entries[0]["status"] == 202
    everything = tmp_path / "all.jsonl"
    total = mparticle_emulator.control.export_journal(everything)
    assert total == len(mparticle_emulator.control.journal()) > 5
    assert "emulator-client-secret" not in everything.read_text()


def test_journal_dir_option_writes_each_tests_journal(pytester):
    pytester.makepyfile(
        test_inner="""
        import requests

        def test_one(mparticle_emulator):
            requests.post(mparticle_emulator.url + "/v2/calculatedattributes", json={}, timeout=5)

        def test_two(mparticle_emulator):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--mparticle-journal-dir", "journals", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    files = sorted(p.name for p in (pytester.path / "journals").iterdir())
    assert files == ["test_inner.py_test_one.jsonl", "test_inner.py_test_two.jsonl"]
    [entry] = read_journal(pytester.path / "journals" / files[0])
    assert (entry["path"], entry["status"]) == ("/v2/calculatedattributes", 401)
    assert read_journal(pytester.path / "journals" / files[1]) == []
