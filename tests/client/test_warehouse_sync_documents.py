"""The Warehouse Sync file: schema, key paths and lines in errors, request bodies, the plan."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from airflow_provider_mparticle.client.warehouse_sync.documents import (
    SCHEMA_PATH,
    WarehouseSyncDocumentError,
    load_document,
    load_document_file,
    plan_document,
    with_secret,
)

EXAMPLE = pathlib.Path(__file__).parents[2] / "example_dags" / "warehouse_sync.yaml"
TEXT = EXAMPLE.read_text()


def problems(text, source="ws.yaml"):
    with pytest.raises(WarehouseSyncDocumentError) as caught:
        load_document(text, source)
    assert str(caught.value).startswith(f"Invalid Warehouse Sync file {source}")
    return caught.value.problems


def test_the_example_reads_into_bodies_in_dependency_order():
    document = load_document_file(EXAMPLE)
    assert [(r.kind, r.id) for r in document.resources] == [
        ("connection", "acme-snowflake-main"),
        ("data model", "acme-open-tickets"),
        ("pipeline", "acme-open-tickets-sync"),
    ]
    pipeline = document.resources[2].body
    assert (pipeline["connection_id"], pipeline["data_model_id"]) == (
        "acme-snowflake-main",
        "acme-open-tickets",
    )
    # YAML reads the unquoted timestamp as a datetime: it is sent as the API's text again.
    assert pipeline["sync_mode"]["from"] == "2026-01-01T00:00:00Z"
    assert document.resources[0].credentials_conn_id == "snowflake_mparticle"
    assert "password" not in json.dumps([r.body for r in document.resources])


def test_json_files_are_read_with_lines_too():
    data = yaml.safe_load(TEXT)
    data["pipelines"]["open-tickets-sync"]["colour"] = "red"
    data["pipelines"]["open-tickets-sync"]["sync_mode"]["from"] = "2026-01-01T00:00:00Z"
    text = json.dumps(data, indent=2)
    found = problems(text, "ws.json")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"colour"' in row)
    assert found == [
        f"pipelines.open-tickets-sync.colour (line {line}): unknown key " + found[0].split("unknown key ")[1]
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    pipeline_type: user_attributes\n",
            "    pipeline_type: user_attributes\n    colour: red\n",
            "pipelines.open-tickets-sync.colour (line 36): unknown key",
        ),
        (
            "      role: mparticle_role\n",
            "      role: mparticle_role\n      password: hunter2\n",
            "connections.snowflake-main.config.password (line 17): secrets never go in the file",
        ),
        (
            "    connection: snowflake-main\n",
            "    connection: snowflake-other\n",
            "pipelines.open-tickets-sync.connection (line 36): 'snowflake-other' is not a key of connections",
        ),
        (
            "    data_model: open-tickets\n",
            "    data_model: nope\n",
            "pipelines.open-tickets-sync.data_model (line 37): 'nope' is not a key of data_models",
        ),
        (
            "      type: on_demand\n",
            "      type: interval\n",
            "pipelines.open-tickets-sync.schedule (line 44): 'frequency' is required",
        ),
        (
            "      iterator_field: updated_at\n",
            "",
            "pipelines.open-tickets-sync.sync_mode (line 39): 'iterator_field' is required",
        ),
        (
            "    pipeline_type: user_attributes\n",
            "    pipeline_type: events\n",
            "pipelines.open-tickets-sync (line 33): 'field_transformation_id' is required",
        ),
        (
            "    pipeline_type: user_attributes\n",
            "    pipeline_type: user_attributes\n    field_transformation_id: f\n",
            "pipelines.open-tickets-sync.field_transformation_id (line 36): only for pipelines of type 'events'",
        ),
        (
            "    credentials:\n      airflow_conn_id: snowflake_mparticle\n",
            "",
            "connections.snowflake-main (line 8): 'credentials' is required",
        ),
        (
            "      type: on_demand\n",
            "      type: on_demand\n      delay: 5 minutes\n",
            "pipelines.open-tickets-sync.schedule.delay (line 46): '5 minutes' does not match",
        ),
        (
            "    environment: development\n",
            "    environment: staging\n",
            "pipelines.open-tickets-sync.environment (line 38): 'staging' is not one of",
        ),
        (
            "    environment: development\n",
            "    environment: development\n    data_plan_id: mobile\n",
            "pipelines.open-tickets-sync (line 33): 'data_plan_version' is a dependency of 'data_plan_id'",
        ),
        ("version: 1\n", "version: 2\n", "version (line 3): 1 was expected"),
    ],
)
def test_every_bad_file_names_the_file_key_path_line_and_reason(old, new, expected):
    assert old in TEXT
    found = problems(TEXT.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_empty_sql_and_duplicate_keys_are_errors():
    empty = TEXT.replace(
        TEXT[TEXT.index("    sql_query: |") : TEXT.index("pipelines:")], '    sql_query: "  "\n\n'
    )
    assert problems(empty) == ["data_models.open-tickets.sql_query (line 26): the SQL is empty"]
    twice = TEXT.replace(
        "    name: Snowflake (analytics)\n", "    name: Snowflake (analytics)\n    name: again\n"
    )
    assert "connections.snowflake-main.name (line 10): given twice" in problems(twice)


def test_sql_can_live_in_a_file_beside_it(tmp_path):
    (tmp_path / "tickets.sql").write_text("SELECT 1 FROM a.b.c\n")
    text = TEXT.replace(
        TEXT[TEXT.index("    sql_query: |") : TEXT.index("pipelines:")], "    sql_file: tickets.sql\n\n"
    )
    (tmp_path / "ws.yaml").write_text(text)
    document = load_document_file(tmp_path / "ws.yaml")
    assert document.resources[1].body["config"] == {"sql_query": "SELECT 1 FROM a.b.c"}
    (tmp_path / "tickets.sql").write_text("\n")
    with pytest.raises(WarehouseSyncDocumentError, match=r"sql_file \(line 26\): the SQL in .* is empty"):
        load_document_file(tmp_path / "ws.yaml")


def test_the_schema_ships_as_package_data_and_is_valid():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))
    assert SCHEMA_PATH.parent.name == "schemas"


def live_of(document):
    live = {}
    for spec in document.resources:
        body = {**spec.body, "status": "healthy", "created_on": "2026-01-01T00:00:00Z"}
        if spec.kind == "connection":
            body["config"] = {**body["config"], "password": "************", "aws_external_id": "GD1"}
        live.setdefault(spec.kind, []).append(body)
    return live


def test_plan_is_field_by_field_and_ignores_masked_secrets_and_computed_fields():
    document = load_document_file(EXAMPLE)
    live = live_of(document)
    assert plan_document(document, live).has_changes is False
    live["pipeline"][0]["schedule"] = {"type": "on-demand"}  # the reference's other spelling
    assert plan_document(document, live).live_differs is False
    live["data model"][0]["config"] = {"sql_query": "SELECT 2"}
    live["pipeline"][0]["environment"] = "production"
    plan = plan_document(document, live)
    assert [c.change for c in plan.changes] == ["none", "update", "update"]
    assert [f.path for f in plan.changes[2].fields] == ["environment"]
    assert plan.changes[2].fields[0].text() == 'environment: "production" -> "development"'
    assert plan.drift()[0].startswith(
        "data model 'open-tickets' (id acme-open-tickets) differs from the file: config.sql_query"
    )
    assert "environment" in plan.text()


def test_live_objects_absent_from_the_file_are_kept_unless_prune_and_outsiders_ignored():
    document = load_document_file(EXAMPLE)
    live = live_of(document)
    live["data model"].append({"id": "acme-old", "name": "old", "type": "sql", "config": {"sql_query": "x"}})
    live["data model"].append(
        {"id": "someone-else", "name": "x", "type": "sql", "config": {"sql_query": "x"}}
    )
    plan = plan_document(document, live)
    assert [(c.id, c.change) for c in plan.changes if c.key is None] == [("acme-old", "absent")]
    assert plan.has_changes is False
    assert plan.live_differs is True
    pruned = plan_document(document, live, prune=True)
    assert [(c.id, c.change) for c in pruned.changes if c.key is None] == [("acme-old", "delete")]


def test_a_running_pipeline_is_refused_an_update():
    document = load_document_file(EXAMPLE)
    live = live_of(document)
    live["pipeline"][0]["name"] = "renamed"
    plan = plan_document(document, live, running=["acme-open-tickets-sync"])
    assert plan.refusals == [
        (
            "pipeline 'open-tickets-sync' (id acme-open-tickets-sync): pipeline acme-open-tickets-sync is running; "
            "a running pipeline is never updated mid-run"
        )
    ]


def test_the_secret_is_added_only_to_the_request_and_never_to_the_plan():
    document = load_document_file(EXAMPLE)
    plan = plan_document(document, {})
    connection = plan.changes[0]
    body = with_secret(connection.spec, connection.request_body(), "s3cret-pw")
    assert body["config"]["password"] == "s3cret-pw"
    assert "s3cret-pw" not in json.dumps(plan.as_dict())
    assert "password" not in json.dumps(connection.request_body())
