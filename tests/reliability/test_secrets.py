"""Known secrets through real flows: none in task logs, exception messages, XCom or rendered templates.

The emulator is given distinctive secrets (workspace API secret, Platform client secret, Adobe client
secret); the tokens it issues have a recognisable shape (``<base64url payload>.<24 hex>``). The example
DAGs run under ``dag.test()``; then every task log file under the Airflow home, the captured output, the
XCom rows and the rendered task instance fields of those runs, and the messages of errors raised with
wrong credentials, are scanned.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import re

import pytest

from airflow_provider_mparticle.client import MParticleClient, MParticleError, RetrySettings
from airflow_provider_mparticle.client.adobe import AdobeClientSettings
from airflow_provider_mparticle.client.core.config import ClientSettings
from airflow_provider_mparticle.testing.emulator.adobe.models import TOKEN_PATH
from airflow_provider_mparticle.testing.emulator.adobe.models import connection_json as adobe_json
from airflow_provider_mparticle.testing.examples import create_pipeline
from tests.conftest import load_example_dag, stored_outputs

pytestmark = pytest.mark.reliability

API_SECRET = "zq-api-secret-7f3c9e1d"
CLIENT_SECRET = "zq-platform-secret-2b8a6d40"
ADOBE_SECRET = "zq-adobe-secret-5e21c9aa"
WRONG_SECRET = "zq-wrong-secret-0d9f44b7"
SECRETS = (API_SECRET, CLIENT_SECRET, ADOBE_SECRET, WRONG_SECRET)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}\.[0-9a-f]{24}\b")


def found_in(text: str) -> list[str]:
    hits = [s for s in SECRETS if s in text]
    hits += TOKEN.findall(text)
    return hits


@pytest.fixture
def secret_emulator(mparticle_emulator, monkeypatch):
    control = mparticle_emulator.control
    control.reset(api_secret=API_SECRET, client_secret=CLIENT_SECRET, propagation_seconds=0)
    control.adobe_configure(client_secret=ADOBE_SECRET)
    conn = mparticle_emulator.connection_uri_json()
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_AEP_DEFAULT", json.dumps(adobe_json(mparticle_emulator.url, mparticle_emulator.state)))  # fmt: skip
    assert conn["password"] == API_SECRET
    assert conn["extra"]["client_secret"] == CLIENT_SECRET
    return mparticle_emulator


def error_messages(emulator) -> list[str]:
    """Errors raised with a wrong secret, a wrong Adobe secret, and a refused request, as users see them."""
    messages = []
    base = emulator.client_settings()
    wrong = ClientSettings(**{**base.__dict__, "api_secret": WRONG_SECRET, "client_secret": WRONG_SECRET, "retry": RetrySettings(max_attempts=1)})  # fmt: skip
    with MParticleClient(wrong) as client:
        for call in (lambda: client.seeding.seed_users(b"[{}]"), client.calculated_attributes.list):
            with pytest.raises(MParticleError) as info:
                call()
            messages += [str(info.value), repr(info.value), repr(info.value.__dict__)]
    from airflow_provider_mparticle.client.adobe import AdobeClient

    adobe = AdobeClientSettings(
        client_id="emulator-adobe-client-id", client_secret=WRONG_SECRET, org_id="x@AdobeOrg",
        sandbox_name="prod", platform_url=emulator.url, ims_token_url=emulator.url + TOKEN_PATH,
        retry=RetrySettings(max_attempts=1),
    )  # fmt: skip
    with AdobeClient(adobe) as client, pytest.raises(MParticleError) as info:
        client.computed_attributes.find_by_name("x")
    messages += [str(info.value), repr(info.value)]
    return messages


def test_no_secret_in_logs_errors_xcom_or_rendered_fields(
    airflow_db, secret_emulator, client, capfd, caplog, monkeypatch, figures, tmp_path
):
    caplog.set_level(logging.DEBUG)
    # The lifecycle example seeds from a SQL query on this "warehouse".
    warehouse = {"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_EXAMPLE_WAREHOUSE", json.dumps(warehouse))
    control = secret_emulator.control
    control.configure(progress_mode="immediate")
    with MParticleClient(secret_emulator.client_settings()) as platform:
        create_pipeline(platform)
    control.plan_pipeline_runs("example-pipeline", successful_records=5)

    logs = pathlib.Path(os.environ["AIRFLOW_HOME"]) / "logs"
    before = {p: p.stat().st_size for p in logs.rglob("*") if p.is_file()} if logs.exists() else {}
    runs = []
    for dag_id in (
        "example_mparticle_seed_and_activate",
        "example_mparticle_warehouse_sync",
        "example_adobe_computed_attributes",
    ):
        runs.append(load_example_dag(dag_id).test())
    # The seeding path (Basic auth with the API secret), with retries logged: 503s on the first requests.
    from airflow_provider_mparticle.operators.calculated_attributes import (
        MParticleSeedCalculatedAttributesOperator,
    )

    control.add_fault(path="bulk", status=503, times=2)
    summary = MParticleSeedCalculatedAttributesOperator(
        task_id="seed", rows=[{"id": f"u{i}", "v": i} for i in range(300)],
        calculated_attributes=[{"name": "Lifetime value", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "v"}],
        identities={"customer_id": "id"}, progress_interval=0,
    ).execute({})  # fmt: skip
    assert summary["users_sent"] == 300
    # A run that fails on a wrong secret: the failure's traceback goes to the task log too.
    bad = secret_emulator.connection_uri_json()
    bad["extra"]["client_secret"] = WRONG_SECRET
    bad["extra"]["max_attempts"] = 1
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(bad))
    failing = load_example_dag("example_mparticle_warehouse_sync")
    failing.get_task("sync_users_from_warehouse").retries = 0
    failed = failing.test()
    assert [r.state for r in runs] == ["success"] * 3
    assert failed.state == "failed"
    issued = [e for e in control.journal(path="/oauth/token") if e["status"] == 200]
    assert issued, "no token was issued: nothing to look for"

    sources: dict[str, str] = {}
    files = [p for p in logs.rglob("*") if p.is_file() and p.stat().st_size != before.get(p)]
    for path in files:
        sources[f"log {path.relative_to(logs)}"] = path.read_text(errors="replace")
    captured = capfd.readouterr()
    sources["stdout"], sources["stderr"] = captured.out, captured.err
    # dag.test() writes the task logs to the console (files only where a log handler writes them):
    # the scan is only worth something if the tasks' own lines are in what was captured.
    sources["caplog"] = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    console = captured.out + captured.err + sources["caplog"]
    for line in ("Triggered pipeline example-pipeline", "Seeding done", "Created calculated attribute"):
        assert line in console, line
    sources.update(stored_outputs(*runs, failed))
    assert any(k.startswith("xcom") for k in sources)
    assert any(k.startswith("rendered") for k in sources)
    for index, message in enumerate(error_messages(secret_emulator)):
        sources[f"error {index}"] = message

    hits = {name: found_in(text) for name, text in sources.items()}
    hits = {name: h for name, h in hits.items() if h}
    total = sum(len(h) for h in hits.values())
    lines = sum(text.count("\n") + 1 for text in sources.values())
    print(
        f"\nsecrets: scanned {len(sources)} sources ({lines:,} lines, {len(files)} task log files); found {total}"
    )
    figures.record("secrets_found", total, sources=len(sources), lines=lines, task_log_files=len(files))
    assert not hits, hits


def test_tls_is_verified_by_default_and_plain_http_only_to_loopback():
    from airflow_provider_mparticle.client import MParticleConfigError

    assert ClientSettings(workspace_id="1").verify is True
    ClientSettings(api_url="http://127.0.0.1:9", s2s_url="http://localhost:9", token_url="http://[::1]:9/t")
    for url in ("http://api.mparticle.com", "http://10.0.0.5", "http://127.0.0.1.example.com"):
        with pytest.raises(MParticleConfigError, match="plain http"):
            ClientSettings(api_url=url)
    with pytest.raises(MParticleConfigError):
        AdobeClientSettings(client_id="a", client_secret="b", org_id="o", sandbox_name="prod", platform_url="http://platform.adobe.io")  # fmt: skip
