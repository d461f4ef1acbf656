"""The console pages under /_emulator/ui, read over real HTTP."""

from __future__ import annotations

import html
import re

import pytest
import requests

from airflow_provider_mparticle.testing.examples import create_example_workspace

PAGES = [
    "",
    "/calculated-attributes",
    "/calculated-attributes/1",
    "/seeds",
    "/pipelines",
    "/data-plans",
    "/journal",
    "/faults",
]


def get(emulator, page):
    answer = requests.get(emulator.url + "/_emulator/ui" + page, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer


def text_of(answer):
    """The page's visible text, one space between words."""
    body = re.sub(r"<(style|head)>.*?</\1>", " ", answer.text, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture
def workspace(mparticle_emulator, client):
    create_example_workspace(client, mparticle_emulator.control)
    return mparticle_emulator


@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_self_contained_html(workspace, page):
    answer = get(workspace, page)
    assert "script-src" not in answer.headers["content-security-policy"]
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    lowered = answer.text.lower()
    assert "<script" not in lowered
    assert " src=" not in lowered
    assert not re.search(r'href="(?!/_emulator/ui)', answer.text)  # only links to other console pages


def test_overview_counts_what_the_workspace_holds(workspace):
    text = text_of(get(workspace, ""))
    assert "2 Calculated attributes" in text
    assert "25 Seeded users" in text
    assert "2 Pipeline runs" in text
    assert "1 Data plans" in text


def test_calculated_attributes_show_state_progress_and_seeds(workspace):
    text = text_of(get(workspace, "/calculated-attributes"))
    assert re.search(r"1 LTV active sum 33% 25 ", text)
    assert re.search(r"2 Orders draft count not active 0 ", text)
    detail = text_of(get(workspace, "/calculated-attributes/1"))
    assert "Draft definition None." in detail
    assert '"calculation_type": "sum"' in detail.split("Active definition")[1]
    assert "Seeded users 25" in detail


def test_reading_the_console_advances_nothing(workspace, client):
    for _ in range(3):
        get(workspace, "/calculated-attributes/1")
        get(workspace, "/pipelines")
    ltv = client.calculated_attributes.find_by_name("LTV")
    # The workspace read the calculation once; this API read is the second of three.
    assert client.calculated_attributes.calculation_status(ltv.id).calculation_percent_complete == 67


def test_seeds_page_counts_per_attribute_with_a_sample(workspace):
    text = text_of(get(workspace, "/seeds?attribute=LTV"))
    assert "LTV 25" in text
    assert "LTV: sample of 10 of 25" in text
    assert 'identities:{"customer_id":"c1"} {"value": 10} sum 2026-06-01 development' in text
    assert '"c11"' not in text


def test_pipelines_page_shows_runs_with_record_counts_and_errors(workspace):
    text = text_of(get(workspace, "/pipelines"))
    assert "example-pipeline faulted user_attributes" in text
    assert re.search(r"1 success manual \S+ \S+ 1200 3 ", text)
    assert re.search(r"2 failed manual \S+ \S+ 0 0 Warehouse query timed out\.", text)
    assert '"password": "************"' in text
    assert "mParticleSecurePassword" not in text


def test_data_plans_page_lists_versions_and_environments(workspace):
    text = text_of(get(workspace, "/data-plans"))
    assert "Web Events (web_events)" in text
    assert re.search(r"1 production 1 \S+ \S+ 1 data points", text)
    assert re.search(r"2 development 1 \S+ \S+ 1 data points", text)


def test_journal_page_filters_by_path_method_and_status(workspace):
    text = text_of(get(workspace, "/journal?path=bulkcalculatedattributes"))
    assert "1 of 1 matching requests" in text
    assert "POST /v2/bulkcalculatedattributes 202" in text
    assert "/oauth/token" not in text
    assert "/oauth/token" in text_of(get(workspace, "/journal"))
    posts = text_of(get(workspace, "/journal?method=POST&status=202"))
    assert "GET /platform" not in posts
    assert "POST /v2/bulkcalculatedattributes 202" in posts


def test_no_secret_reaches_any_page(workspace):
    for page in PAGES:
        text = get(workspace, page).text
        for secret in ("emulator-api-secret", "emulator-client-secret", "emulator-adobe-client-secret"):
            assert secret not in text, page


def test_faults_page_shows_faults_latency_and_rate_limit(workspace):
    control = workspace.control
    control.add_fault(
        path="/inputs/data-pipelines/trigger", method="POST", status=503, times=2, retry_after="7"
    )
    control.set_rate_limit(270, path="bulk")
    control.set_latency(25)
    text = text_of(get(workspace, "/faults"))
    assert "/inputs/data-pipelines/trigger POST 503 7 2 1.0 0" in text
    assert "Rate limit 270 per second on paths matching bulk" in text
    assert "Added latency 25 ms" in text
    assert "api_secret" not in text
    assert "client_secret" not in text


def test_values_are_escaped(mparticle_emulator, client):
    from tests.conftest import VALID_DEFINITION

    client.calculated_attributes.create("<script>alert(1)</script>", VALID_DEFINITION)
    requests.get(mparticle_emulator.url + '/v2/"><img src=x>', timeout=5)
    page = get(mparticle_emulator, "/calculated-attributes").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    journal = get(mparticle_emulator, "/journal").text
    assert "<img" not in journal
    assert "&lt;img src=x&gt;" in journal


def test_unknown_attribute_page_is_404(mparticle_emulator):
    assert (
        requests.get(mparticle_emulator.url + "/_emulator/ui/calculated-attributes/99", timeout=5).status_code
        == 404
    )
