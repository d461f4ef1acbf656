"""MParticleSeedCalculatedAttributesOperator against the emulator: sources, policies, preflight, resume."""

from __future__ import annotations

import csv
import json
import re
import sqlite3

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_mparticle.client import MParticleServerError
from airflow_provider_mparticle.operators.calculated_attributes import (
    SEED_CHECKPOINT_KEY,
    MParticleSeedCalculatedAttributesOperator,
)
from tests.conftest import VALID_DEFINITION, definition

LTV = {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}
BULK = "bulkcalculatedattributes"


class MemoryStore:
    """Stands in for Airflow's ``task_state_store`` (get / set / delete), kept across attempts."""

    def __init__(self):
        self.values = {}
        self.history = []

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, **_):
        self.values[key] = value
        self.history.append(value)

    def delete(self, key):
        self.values.pop(key, None)


@pytest.fixture
def conn(mparticle_emulator, monkeypatch):
    """The mparticle connection with quick retries (two attempts)."""
    uri = mparticle_emulator.connection_uri_json()
    uri["extra"]["max_attempts"] = 2
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(uri))
    return mparticle_emulator


@pytest.fixture
def ltv(client):
    return client.calculated_attributes.create("LTV", VALID_DEFINITION)


def rows(n, start=1):
    return [{"customer_id": f"c{i}", "ltv": i} for i in range(start, start + n)]


def operator(**kwargs):
    kwargs.setdefault("calculated_attributes", [LTV])
    kwargs.setdefault("identities", {"customer_id": "customer_id"})
    return MParticleSeedCalculatedAttributesOperator(task_id="seed", **kwargs)


def stored(emulator):
    return {k: v["LTV"]["seed"]["value"] for k, v in emulator.control.seeds().items()}


def bulk_bodies(emulator, status=202):
    return [e["body"] for e in emulator.control.journal(path=BULK) if e["status"] == status]


def test_simple_case_from_a_list(conn, ltv):
    summary = operator(rows=rows(250)).execute({})
    assert summary["users_sent"] == 250
    assert summary["requests"] == 3
    assert summary["rejected_rows"] == 0
    assert summary["rows_read"] == 250
    assert set(summary) >= {"retries", "duration_seconds", "throttled", "http_requests"}
    seeds = stored(conn)
    assert len(seeds) == 250
    assert seeds['identities:{"customer_id":"c42"}'] == 42


def test_csv_file(conn, ltv, tmp_path):
    path = tmp_path / "seeds.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["customer_id", "ltv", "tier"])
        writer.writeheader()
        writer.writerows({**r, "tier": "gold"} for r in rows(120))
    summary = operator(path=str(path), user_attributes={"Tier": "tier"}).execute({})
    assert summary["users_sent"] == 120
    assert stored(conn)['identities:{"customer_id":"c7"}'] == 7  # "7" in the file, a number on the wire
    assert conn.control.user_attributes()['identities:{"customer_id":"c7"}'] == {"Tier": "gold"}


def test_jsonl_file_as_object_storage_path(conn, client, tmp_path):
    from airflow.sdk import ObjectStoragePath

    client.calculated_attributes.create("Tags", definition(calculation_type="unique_list"))
    path = tmp_path / "seeds.jsonl"
    path.write_text("\n".join(json.dumps({"mpid": i, "tags": ["a", str(i)]}) for i in range(1, 31)) + "\n\n")
    summary = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=[{"name": "Tags", "calculation_type": "unique_list", "cutoff_date": "2026-06-01", "column": "tags"}],
        mpid_column="mpid",
        path=ObjectStoragePath(f"file://{path}"),
    ).execute({})  # fmt: skip
    assert summary["users_sent"] == 30
    assert conn.control.seeds()["mpid:3"]["Tags"]["seed"] == {"list": ["a", "3"]}


def test_sql_query_read_in_batches(conn, ltv, tmp_path, monkeypatch):
    db = tmp_path / "users.db"
    with sqlite3.connect(db) as c:
        c.execute("create table users (customer_id text, ltv real, region text)")
        c.executemany("insert into users values (?, ?, ?)", [(r["customer_id"], r["ltv"], "eu" if r["ltv"] % 2 else "us") for r in rows(500)])  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    summary = operator(
        sql="select customer_id, ltv from users where region = ?",
        parameters=["eu"],
        sql_conn_id="seed_db",
        fetch_size=37,
    ).execute({})
    assert summary["users_sent"] == 250
    assert summary["rows_read"] == 250
    assert stored(conn)['identities:{"customer_id":"c3"}'] == 3.0


def test_invalid_row_fails_before_anything_is_sent(conn, ltv):
    data = rows(300)
    data[250]["ltv"] = "lots"
    with pytest.raises(AirflowFailException) as info:
        operator(rows=data).execute({})
    assert "row 251, column 'ltv': seed of 'LTV' (sum) must be a number, got 'lots'" in str(info.value)
    assert "nothing was sent" in str(info.value)
    assert conn.control.journal(path=BULK) == []


def test_single_pass_fail_stops_at_the_row(conn, ltv):
    data = rows(300)
    data[250]["ltv"] = "lots"
    with pytest.raises(AirflowFailException, match="row 251"):
        operator(rows=data, validation_pass=False, concurrency=1).execute({})
    assert len(stored(conn)) <= 200


def test_skip_policy_writes_rejects_and_sends_the_rest(conn, ltv, tmp_path):
    data = rows(200)
    data[9]["ltv"] = None
    data[19]["customer_id"] = ""
    reject_path = tmp_path / "rejects.jsonl"
    summary = operator(
        rows=data, on_invalid="skip", max_invalid_share=0.02, reject_path=str(reject_path)
    ).execute({})
    assert summary["users_sent"] == 198
    assert summary["rejected_rows"] == 2
    assert [(r["row"], r["column"]) for r in summary["rejects"]] == [(10, "ltv"), (20, "customer_id")]
    lines = [json.loads(line) for line in reject_path.read_text().splitlines()]
    assert [line["row"] for line in lines] == [10, 20]
    assert lines[0]["data"] == {"customer_id": "c10", "ltv": None}
    assert len(stored(conn)) == 198


@pytest.mark.parametrize("validation_pass", [True, False])
def test_skip_policy_fails_above_the_share(conn, ltv, validation_pass):
    data = rows(100)
    for i in range(5):
        data[i]["ltv"] = "bad"
    with pytest.raises(AirflowFailException, match=r"5 of 100 rows are invalid \(5.00%\)"):
        operator(
            rows=data, on_invalid="skip", max_invalid_share=0.04, validation_pass=validation_pass
        ).execute({})
    sent = conn.control.journal(path=BULK)
    assert (sent == []) is validation_pass


def test_preflight_names_the_mismatch(conn, client):
    client.calculated_attributes.create("LTV", definition(calculation_type="max"))
    with pytest.raises(AirflowFailException) as info:
        operator(rows=rows(3)).execute({})
    message = str(info.value)
    assert (
        "'LTV' is mapped as sum with cutoff 2026-06-01, but its definition is draft: max, cutoff 2026-06-01"
        in message
    )
    assert conn.control.journal(path=BULK) == []
    with pytest.raises(AirflowFailException, match="'Nope' does not exist"):
        operator(rows=rows(3), calculated_attributes=[{**LTV, "name": "Nope"}]).execute({})
    # Skippable: the seeding API then answers for itself.
    with pytest.raises(AirflowFailException, match="No matching calculated attribute definition found"):
        operator(rows=rows(3), preflight=False, propagation_timeout=0).execute({})


def test_propagating_definition_is_waited_for(conn, client):
    conn.control.configure(propagation_seconds=0.6)
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    op = operator(rows=rows(10))
    op_summary = None
    from airflow_provider_mparticle.client.seeding import bulk as bulk_seeding

    original = bulk_seeding.BulkSeeder.__init__.__kwdefaults__["propagation_wait"]
    bulk_seeding.BulkSeeder.__init__.__kwdefaults__["propagation_wait"] = 0.2
    try:
        op_summary = op.execute({})
    finally:
        bulk_seeding.BulkSeeder.__init__.__kwdefaults__["propagation_wait"] = original
    assert op_summary["users_sent"] == 10
    assert op_summary["propagation_retries"] >= 1


def test_progress_lines_and_summary_in_the_log(conn, ltv, capsys, caplog):
    # The task logger is structlog's: it prints outside a task runner, and goes through the standard
    # logging module once a task runner (an earlier dag.test()) has configured it.
    caplog.set_level("INFO")
    caplog.set_level("INFO", logger="airflow.task")
    # One request at a time, so that every acknowledged chunk of 100 users shows as its own line.
    operator(rows=rows(500), progress_interval=0, concurrency=1).execute({})
    out = capsys.readouterr().out + "\n" + "\n".join(r.getMessage() for r in caplog.records)
    lines = [line[line.index("Seeded ") :] for line in out.splitlines() if "Seeded " in line]
    # Which counts show depends on timing; every line must be a whole number of acknowledged chunks
    # with its percentage, and some must come before the end.
    counts = [int(re.match(r"Seeded (\d+) / 500 users \((\d+\.\d)%\)", line).group(1)) for line in lines]
    assert all(n % 100 == 0 for n in counts), lines
    assert any(0 < n < 500 for n in counts), lines
    for line, n in zip(lines, counts, strict=True):
        assert f"({n / 5:.1f}%)" in line
    assert lines[-1].startswith("Seeded 500 / 500 users (100.0%), ")
    assert "users/s, ETA 0:00:00; 5 requests, 0 retries." in lines[-1]
    assert "Seeding done: 500 users in 5 requests (0 retries, 0 throttled, 0 rejected rows)" in out


def test_resume_after_a_failure_part_way(conn, ltv):
    control = conn.control

    class FailingAfterCheckpoint(MemoryStore):
        faulted = False

        def set(self, key, value, **kw):
            super().set(key, value, **kw)
            if value["last_row"] >= 300 and not self.faulted:
                self.faulted = True  # from here on every bulk request fails
                control.add_fault(path=BULK, status=500)

    store = FailingAfterCheckpoint()
    data = rows(1000)
    with pytest.raises(MParticleServerError):
        operator(rows=data, concurrency=2, checkpoint_interval=0).execute({"task_state_store": store})
    checkpoint = store.values[SEED_CHECKPOINT_KEY]
    first_attempt = bulk_bodies(conn)
    sent_first = {u["identities"]["customer_id"] for body in first_attempt for u in body}
    assert 300 <= checkpoint["last_row"] < 1000
    assert checkpoint["users_sent"] == checkpoint["last_row"]  # every row up to it was accepted

    control.clear_faults()
    before = len(control.journal(path=BULK))
    summary = operator(rows=data, concurrency=2, checkpoint_interval=0).execute({"task_state_store": store})
    second_attempt = [e["body"] for e in control.journal(path=BULK)[before:]]
    sent_second = [int(u["identities"]["customer_id"][1:]) for body in second_attempt for u in body]
    # Exactly the rows after the checkpoint are sent again; the accepted ones before it are not.
    assert sorted(sent_second) == list(range(checkpoint["last_row"] + 1, 1001))
    resent = {f"c{i}" for i in sent_second} & sent_first
    assert len(resent) <= 2 * 2 * 100  # in flight or accepted after the checkpoint
    assert summary["resumed_after_row"] == checkpoint["last_row"]
    assert summary["users_sent_total"] == 1000
    assert SEED_CHECKPOINT_KEY not in store.values  # deleted on success
    assert len(stored(conn)) == 1000


def test_checkpoint_of_another_job_is_ignored(conn, ltv):
    store = MemoryStore()
    store.set(SEED_CHECKPOINT_KEY, {"job": "other", "last_row": 50, "users_sent": 50})
    summary = operator(rows=rows(100)).execute({"task_state_store": store})
    assert summary["resumed_after_row"] == 0
    assert summary["users_sent"] == 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one source"),
        ({"rows": [], "sql": "select 1", "sql_conn_id": "x"}, "exactly one source"),
        ({"sql": "select 1"}, "'sql_conn_id' is required"),
        ({"rows": [], "on_invalid": "ignore"}, "'on_invalid'"),
        ({"rows": iter([])}, "one-shot iterator"),
        ({"rows": [], "max_users_per_request": 0}, "max_users_per_request"),
        ({"rows": [], "environment": "prod"}, "'environment'"),
        ({"path": "/tmp/x.parquet"}, "set file_format"),
    ],
)
def test_settings_errors_name_the_setting(conn, kwargs, message):
    with pytest.raises(AirflowFailException, match=message):
        operator(**kwargs).execute({})


def logged(capsys, caplog):
    """What the task logger wrote: structlog prints outside a task runner, else standard logging."""
    return capsys.readouterr().out + "\n" + caplog.text


def fail_after_checkpoint(control, at_row):
    """A store that makes every bulk request fail once a checkpoint reached ``at_row``."""

    class FailingAfterCheckpoint(MemoryStore):
        faulted = False

        def set(self, key, value, **kw):
            super().set(key, value, **kw)
            if value["last_row"] >= at_row and not self.faulted:
                self.faulted = True
                control.add_fault(path=BULK, status=500)

    return FailingAfterCheckpoint()


def second_attempt(conn, store, **kwargs):
    """Clear the faults, run again with the same store; returns (summary, customer ids sent)."""
    control = conn.control
    control.clear_faults()
    before = len(control.journal(path=BULK))
    summary = operator(concurrency=2, checkpoint_interval=0, **kwargs).execute({"task_state_store": store})
    sent = [u["identities"]["customer_id"] for e in control.journal(path=BULK)[before:] if e["status"] == 202 for u in e["body"]]  # fmt: skip
    return summary, sent


@pytest.mark.parametrize("validation_pass", [True, False])
def test_resume_after_another_list_of_the_same_length_sends_everything(
    conn, ltv, validation_pass, capsys, caplog
):
    caplog.set_level("WARNING", logger="airflow.task")
    store = fail_after_checkpoint(conn.control, 300)
    first = rows(1000)
    with pytest.raises(MParticleServerError):
        operator(rows=first, concurrency=2, checkpoint_interval=0, validation_pass=validation_pass).execute(
            {"task_state_store": store}
        )
    assert store.values[SEED_CHECKPOINT_KEY]["last_row"] >= 300
    other = list(reversed(first))  # the same users, another order
    summary, sent = second_attempt(conn, store, rows=other, validation_pass=validation_pass)
    assert sorted(sent) == sorted(r["customer_id"] for r in first)  # every user, none skipped
    assert summary["resumed_after_row"] == 0
    assert summary["checkpoint_mismatch"] is True
    assert summary["users_sent_total"] == 1000
    assert "Not resuming: the identities of rows 1-" in logged(capsys, caplog)


def test_resume_with_the_same_rows_skips_the_acknowledged_prefix(conn, ltv):
    store = fail_after_checkpoint(conn.control, 300)
    data = rows(1000)
    with pytest.raises(MParticleServerError):
        operator(rows=data, concurrency=2, checkpoint_interval=0).execute({"task_state_store": store})
    last_row = store.values[SEED_CHECKPOINT_KEY]["last_row"]
    summary, sent = second_attempt(conn, store, rows=[dict(r) for r in data])
    assert summary["checkpoint_mismatch"] is False
    assert sorted(int(c[1:]) for c in sent) == list(range(last_row + 1, 1001))


@pytest.mark.parametrize("validation_pass", [True, False])
def test_resume_after_rejected_rows_that_follow_the_checkpoint_row(conn, ltv, validation_pass):
    # Every request ends on a row followed by two invalid ones (skipped): the checkpoint's digest must be
    # that of the rows through its last row, not through the rejected rows read after it.
    data = []
    for block in range(10):
        data += rows(100, start=block * 100 + 1)
        data += [{"customer_id": f"bad{block}-{i}", "ltv": ""} for i in range(2)]
    kwargs = {
        "rows": data,
        "on_invalid": "skip",
        "max_invalid_share": 0.1,
        "validation_pass": validation_pass,
    }
    store = fail_after_checkpoint(conn.control, 300)
    with pytest.raises(MParticleServerError):
        operator(concurrency=2, checkpoint_interval=0, **kwargs).execute({"task_state_store": store})
    last_row = store.values[SEED_CHECKPOINT_KEY]["last_row"]
    assert last_row % 102 == 100  # the last user of a request, two rejected rows after it
    summary, sent = second_attempt(conn, store, **kwargs)
    assert summary["checkpoint_mismatch"] is False
    assert summary["resumed_after_row"] == last_row
    done = last_row // 102 * 100 + 100
    assert sorted(int(c[1:]) for c in sent) == list(range(done + 1, 1001))


def test_checkpoint_of_an_earlier_digest_version_is_not_resumed(conn, ltv, capsys, caplog):
    caplog.set_level("INFO", logger="airflow.task")
    store = fail_after_checkpoint(conn.control, 300)
    with pytest.raises(MParticleServerError):
        operator(rows=rows(1000), concurrency=2, checkpoint_interval=0).execute({"task_state_store": store})
    saved = dict(store.values[SEED_CHECKPOINT_KEY])
    del saved["digest_version"]  # as written before the digest became one running hash
    store.set(SEED_CHECKPOINT_KEY, saved)
    summary, sent = second_attempt(conn, store, rows=rows(1000))
    assert summary["resumed_after_row"] == 0
    assert len(sent) == 1000
    assert "written by an earlier version of the provider" in logged(capsys, caplog)


def test_resume_after_the_query_returns_fewer_rows_sends_everything(conn, ltv, tmp_path, monkeypatch, capsys, caplog):  # fmt: skip
    caplog.set_level("WARNING", logger="airflow.task")
    db = tmp_path / "users.db"
    with sqlite3.connect(db) as c:
        c.execute("create table users (customer_id text, ltv real)")
        c.executemany("insert into users values (?, ?)", [(r["customer_id"], r["ltv"]) for r in rows(1000)])
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    query = {"sql": "select customer_id, ltv from users order by ltv", "sql_conn_id": "seed_db"}
    store = fail_after_checkpoint(conn.control, 300)
    with pytest.raises(MParticleServerError):
        operator(**query, concurrency=2, checkpoint_interval=0, validation_pass=False).execute(
            {"task_state_store": store}
        )
    with sqlite3.connect(db) as c:
        c.execute("delete from users where ltv > 200")
    summary, sent = second_attempt(conn, store, **query, validation_pass=False)
    assert sorted(int(c[1:]) for c in sent) == list(range(1, 201))
    assert summary["checkpoint_mismatch"] is True
    assert "the source now has 200 rows, fewer than the" in logged(capsys, caplog)


def test_resume_after_a_replaced_file_sends_everything(conn, ltv, tmp_path, capsys, caplog):
    import os

    caplog.set_level("INFO", logger="airflow.task")
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(1000)))
    store = fail_after_checkpoint(conn.control, 300)
    with pytest.raises(MParticleServerError):
        operator(path=str(path), concurrency=2, checkpoint_interval=0).execute({"task_state_store": store})
    stat = path.stat()
    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows(1000))))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and time: the digest still sees it
    summary, sent = second_attempt(conn, store, path=str(path))
    assert len(sent) == 1000
    assert summary["checkpoint_mismatch"] is True
    path.write_text(path.read_text() + json.dumps({"customer_id": "c1001", "ltv": 1}) + "\n")
    store.set(SEED_CHECKPOINT_KEY, {**store.history[-1], "last_row": 10})
    summary, sent = second_attempt(conn, store, path=str(path))  # another size: another source
    assert summary["resumed_after_row"] == 0
    assert "Ignoring a checkpoint of a different mapping or source" in logged(capsys, caplog)


def test_sql_without_order_by_is_warned_about(conn, ltv, tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level("WARNING", logger="airflow.task")
    db = tmp_path / "users.db"
    with sqlite3.connect(db) as c:
        c.execute("create table users (customer_id text, ltv real)")
        c.executemany("insert into users values (?, ?)", [(r["customer_id"], r["ltv"]) for r in rows(10)])
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    operator(sql="select customer_id, ltv from users", sql_conn_id="seed_db").execute({})
    assert "The query has no ORDER BY" in logged(capsys, caplog)
    caplog.clear()
    operator(sql="select customer_id, ltv from users order\n by customer_id", sql_conn_id="seed_db").execute(
        {}
    )
    assert "ORDER BY" not in logged(capsys, caplog)


def test_excel_csv_with_a_byte_order_mark_is_read(conn, ltv, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        ("customer_id,ltv\r\n" + "".join(f"c{i},{i}\r\n" for i in range(1, 11))).encode("utf-8-sig")
    )
    assert operator(path=str(path)).execute({})["users_sent"] == 10


def test_file_errors_fail_without_retry_naming_file_line_and_column(conn, ltv, tmp_path):
    from airflow_provider_mparticle.exceptions import MParticleTaskFailure

    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,ltv\nc1,1\nZürich,2\n".encode("latin-1"))
    with pytest.raises(MParticleTaskFailure, match=r"latin.csv, line 3, column 2: not utf-8-sig text"):
        operator(path=str(path)).execute({})
    assert conn.control.journal(path=BULK) == []
    assert operator(path=str(path), encoding="latin-1").execute({})["users_sent"] == 2


def test_connection_ids_are_templated_and_rendered(conn, ltv, tmp_path, monkeypatch):
    db = tmp_path / "users.db"
    with sqlite3.connect(db) as c:
        c.execute("create table users (customer_id text, ltv real)")
        c.executemany("insert into users values (?, ?)", [(r["customer_id"], r["ltv"]) for r in rows(5)])
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    op = operator(
        sql="select customer_id, ltv from users order by customer_id",
        sql_conn_id="{{ params.source }}",
        mparticle_conn_id="{{ params.target }}",
    )
    assert {"mparticle_conn_id", "sql_conn_id"} <= set(op.template_fields)
    op.render_template_fields({"params": {"source": "seed_db", "target": "mparticle_default"}})
    assert (op.sql_conn_id, op.mparticle_conn_id) == ("seed_db", "mparticle_default")
    assert op.execute({})["users_sent"] == 5


def test_many_invalid_rows_are_all_counted_and_the_first_20_shown(conn, ltv):
    data = rows(600)
    for i in range(100, 600):
        data[i]["ltv"] = "lots"
    with pytest.raises(AirflowFailException) as info:
        operator(rows=data).execute({})
    message = str(info.value)
    assert message.startswith("500 invalid rows; first 20 shown, nothing was sent: row 101, column 'ltv'")
    assert re.findall(r"row (\d+), column", message) == [str(n) for n in range(101, 121)]
    assert conn.control.journal(path=BULK) == []


def test_reject_share_failure_counts_all_and_shows_the_first_20(conn, ltv):
    data = rows(100)
    for i in range(30):
        data[i]["ltv"] = "bad"
    with pytest.raises(AirflowFailException) as info:
        operator(rows=data, on_invalid="skip", max_invalid_share=0.1).execute({})
    message = str(info.value)
    assert "30 of 100 rows are invalid (30.00%)" in message
    assert "30 invalid rows; first 20 shown: row 1, column 'ltv'" in message
    assert len(re.findall(r"row \d+, column", message)) == 20
