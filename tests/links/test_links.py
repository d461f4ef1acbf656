"""Extra links: mParticle's UI for real hosts, the emulator's console when the connection points there."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_mparticle.links import emulator_console_url
from airflow_provider_mparticle.links.calculated_attributes import (
    XCOM_ID_KEY,
    XCOM_NAME_KEY,
    XCOM_URL_KEY,
    calculated_attribute_url,
    publish_calculated_attribute,
)
from airflow_provider_mparticle.links.warehouse_sync import PIPELINE_URL_XCOM_KEY, pipeline_url
from airflow_provider_mparticle.operators.calculated_attributes import (
    MParticleEnsureCalculatedAttributeOperator,
)
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.conftest import VALID_DEFINITION, RecordingTaskInstance


@pytest.mark.parametrize(
    "api_url",
    [
        None,
        "",
        "https://api.mparticle.com",
        "https://api.eu1.mparticle.com/",
        "https://API.US2.MPARTICLE.COM",
    ],
)
def test_real_hosts_keep_the_mparticle_ui(api_url):
    assert emulator_console_url(api_url) is None
    assert calculated_attribute_url("7", 5, "LTV", api_url) == (
        "https://app.mparticle.com/audiences/calculated-attributes/5?workspaceId=7"
    )
    assert (
        pipeline_url("7", "p1", api_url)
        == "https://app.mparticle.com/setup/inputs/warehouse-sync/p1?workspaceId=7"
    )


@pytest.mark.parametrize(
    ("api_url", "console"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/_emulator/ui"),
        ("http://localhost:8080/", "http://localhost:8080/_emulator/ui"),
        ("http://emulator.internal:9000", "http://emulator.internal:9000/_emulator/ui"),
        ("https://mparticle.com.example.org", "https://mparticle.com.example.org/_emulator/ui"),
    ],
)
def test_other_hosts_are_the_emulator_console(api_url, console):
    assert emulator_console_url(api_url) == console
    assert calculated_attribute_url("7", 5, "LTV", api_url) == console + "/calculated-attributes/5"
    assert pipeline_url("7", "p 1/x", api_url) == console + "/pipelines#p%201%2Fx"


def test_a_task_knowing_only_the_id_pushes_the_link_unless_the_url_needs_the_name(monkeypatch):
    # A sensor deferring without a call knows the id it was given, not the name.
    ti = RecordingTaskInstance()
    url = publish_calculated_attribute({"ti": ti}, "7", 5, None)
    assert url == "https://app.mparticle.com/audiences/calculated-attributes/5?workspaceId=7"
    assert ti.xcom == {XCOM_URL_KEY: url, XCOM_ID_KEY: 5}

    monkeypatch.setenv(
        "AIRFLOW__MPARTICLE__CALCULATED_ATTRIBUTE_URL_TEMPLATE",
        "https://ui.example/{workspace_id}/{name}/{ca_id}",
    )
    ti = RecordingTaskInstance()
    assert publish_calculated_attribute({"ti": ti}, "7", 5, None) is None
    assert ti.xcom == {XCOM_ID_KEY: 5}  # no link with a blank name
    assert publish_calculated_attribute({"ti": ti}, "7", 5, "L T V") == "https://ui.example/7/L%20T%20V/5"
    assert ti.xcom == {
        XCOM_URL_KEY: "https://ui.example/7/L%20T%20V/5",
        XCOM_ID_KEY: 5,
        XCOM_NAME_KEY: "L T V",
    }


def test_ensure_operator_links_to_the_attributes_console_page(
    mparticle_conn_id, mparticle_emulator, task_context
):
    op = MParticleEnsureCalculatedAttributeOperator(
        task_id="ensure", definition={"name": "LTV", "draft_definition": VALID_DEFINITION}
    )
    ca_id = op.execute(task_context)
    url = task_context["ti"].xcom[XCOM_URL_KEY]
    assert url == f"{mparticle_emulator.url}/_emulator/ui/calculated-attributes/{ca_id}"
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert "Calculated attribute LTV" in page.text


def test_pipeline_operator_links_to_the_pipelines_console_page(client, mparticle_conn_id, mparticle_emulator):
    create_pipeline(client)

    class TaskInstance:
        xcom: dict = {}
        stats_tags: dict = {}

        def xcom_push(self, key, value):
            self.xcom[key] = value

    ti = TaskInstance()
    op = MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id="example-pipeline", deferrable=False, poll_interval=0.01
    )
    op.execute({"ti": ti, "task_state_store": _Store()})
    url = ti.xcom[PIPELINE_URL_XCOM_KEY]
    assert url == f"{mparticle_emulator.url}/_emulator/ui/pipelines#example-pipeline"
    page = requests.get(url.split("#")[0], timeout=5)
    assert 'id="example-pipeline"' in page.text


class _Store:
    def __init__(self):
        self.values = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = value
