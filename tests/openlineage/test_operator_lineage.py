"""OpenLineage of the seed and pipeline operators, run against the emulator, with the provider's real facets."""

from __future__ import annotations

import csv
import json

import pytest
from openlineage.client.event_v2 import Dataset, OutputDataset
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    external_query_run,
    output_statistics_output_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

from airflow_provider_mparticle.openlineage import file_dataset, warehouse_database_info
from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator
from airflow_provider_mparticle.operators.warehouse_sync import MParticleTriggerPipelineOperator
from airflow_provider_mparticle.testing.examples import CONNECTION, create_example_warehouse, create_pipeline
from tests.conftest import VALID_DEFINITION, definition

LTV = {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"}


class FinishedTaskInstance:
    """What the OpenLineage listener hands over on completion: ids and the task's XCom."""

    def __init__(self, task_id, result):
        self.task_id = task_id
        self.map_index = -1
        self.result = result
        self.pulls = []

    def xcom_pull(self, task_ids, key, map_indexes):
        self.pulls.append((task_ids, key, map_indexes))
        return self.result if (task_ids, key) == (self.task_id, "return_value") else None


def run(operator, context=None):
    """Execute, then ask for lineage as the listener does on success."""
    result = operator.execute(context or {})
    ti = FinishedTaskInstance(operator.task_id, result)
    return result, operator.get_openlineage_facets_on_complete(ti), ti


def workspace(emulator):
    return f"mparticle://{emulator.connection_uri_json()['extra']['workspace_id']}"


def value_sources(output):
    fields = output.facets["columnLineage"].fields
    return {(f.namespace, f.name, f.field) for f in fields["value"].inputFields}


@pytest.fixture
def ltv(client, mparticle_conn_id):
    return client.calculated_attributes.create("LTV", VALID_DEFINITION)


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """The example SQLite warehouse (120 customers) as connection ``seed_db``; returns its path."""
    path = tmp_path / "warehouse.db"
    monkeypatch.setenv("AIRFLOW_CONN_SEED_DB", json.dumps(create_example_warehouse(str(path), customers=120)))
    return path


def sql_seed(sql, **kwargs):
    return MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        sql=sql,
        sql_conn_id="seed_db",
        **kwargs,
    )


def test_sql_seed_reads_the_parsed_tables_and_writes_the_attributes_with_a_row_count(
    ltv, mparticle_emulator, warehouse
):
    operator = sql_seed("SELECT c.customer_id, c.ltv FROM customer_ltv AS c WHERE c.id > ?", parameters=[20])
    summary, lineage, ti = run(operator)

    assert ti.pulls == [("seed", "return_value", -1)]
    source = Dataset(namespace=f"sqlite://{warehouse}", name="main.customer_ltv")
    assert lineage.inputs == [source]
    assert lineage.job_facets["sql"] == sql_job.SQLJobFacet(
        query="SELECT c.customer_id, c.ltv FROM customer_ltv AS c WHERE c.id > ?"
    )
    assert summary["users_sent"] == 100
    [output] = lineage.outputs
    assert isinstance(output, OutputDataset)
    assert (output.namespace, output.name) == (workspace(mparticle_emulator), "calculated-attributes/LTV")
    assert output.outputFacets["outputStatistics"] == (
        output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=100)
    )
    assert value_sources(output) == {(source.namespace, source.name, "ltv")}
    # The whole thing serialises as an OpenLineage event would carry it.
    assert json.loads(Serde.to_json(output))["outputFacets"]["outputStatistics"]["rowCount"] == 100


def test_user_attributes_sent_along_are_the_workspace_user_attributes_output(
    ltv, mparticle_emulator, warehouse
):
    operator = sql_seed(
        "SELECT customer_id, ltv, CASE WHEN ltv > 5 THEN 'gold' ELSE 'blue' END AS tier FROM customer_ltv",
        user_attributes={"Tier": "tier"},
    )
    _, lineage, _ = run(operator)
    assert [o.name for o in lineage.outputs] == ["calculated-attributes/LTV", "user-attributes"]
    users = lineage.outputs[1]
    assert users.outputFacets["outputStatistics"].rowCount == 120
    [source] = users.facets["columnLineage"].fields["Tier"].inputFields
    assert (source.name, source.field) == ("main.customer_ltv", "ltv")


def test_file_seed_reads_the_file_and_maps_an_average_to_its_two_columns(
    client, mparticle_conn_id, mparticle_emulator, tmp_path
):
    client.calculated_attributes.create("LTV", VALID_DEFINITION)
    client.calculated_attributes.create("Basket", definition(calculation_type="average"))
    path = tmp_path / "seeds.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, ["customer_id", "ltv", "total", "orders"])
        writer.writeheader()
        writer.writerows(
            {"customer_id": f"c{i}", "ltv": i, "total": 10 * i, "orders": i} for i in range(1, 31)
        )
    basket = {"name": "Basket", "calculation_type": "average", "cutoff_date": "2026-06-01", "sum_column": "total", "count_column": "orders"}  # fmt: skip
    operator = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=[LTV, basket],
        identities={"customer_id": "customer_id"},
        path=str(path),
    )
    _, lineage, _ = run(operator)

    assert lineage.inputs == [Dataset(namespace="file", name=str(path))]
    assert [(o.namespace, o.name) for o in lineage.outputs] == [
        (workspace(mparticle_emulator), "calculated-attributes/LTV"),
        (workspace(mparticle_emulator), "calculated-attributes/Basket"),
    ]
    assert value_sources(lineage.outputs[1]) == {("file", str(path), "total"), ("file", str(path), "orders")}
    assert all(o.outputFacets["outputStatistics"].rowCount == 30 for o in lineage.outputs)


def test_rows_seed_has_no_input_dataset_but_still_its_outputs(ltv, mparticle_emulator):
    operator = MParticleSeedCalculatedAttributesOperator(
        task_id="seed",
        calculated_attributes=[LTV],
        identities={"customer_id": "customer_id"},
        rows=[{"customer_id": "c1", "ltv": 3}],
    )
    _, lineage, _ = run(operator)
    assert lineage.inputs == []
    [output] = lineage.outputs
    assert output.name == "calculated-attributes/LTV"
    assert output.outputFacets["outputStatistics"].rowCount == 1
    assert "columnLineage" not in output.facets


def test_without_a_result_the_outputs_carry_no_statistics(ltv, mparticle_emulator):
    operator = MParticleSeedCalculatedAttributesOperator(
        task_id="seed", calculated_attributes=[LTV], identities={"customer_id": "customer_id"}, rows=[]
    )
    lineage = operator.get_openlineage_facets_on_complete(FinishedTaskInstance("seed", None))
    [output] = lineage.outputs
    assert output.outputFacets == {}


def test_a_connection_without_workspace_id_reports_inputs_only(
    ltv, mparticle_emulator, monkeypatch, tmp_path
):
    conn = mparticle_emulator.connection_uri_json()
    del conn["extra"]["workspace_id"]
    monkeypatch.setenv("AIRFLOW_CONN_MPARTICLE_DEFAULT", json.dumps(conn))
    operator = MParticleSeedCalculatedAttributesOperator(
        task_id="seed", calculated_attributes=[LTV], identities={"customer_id": "customer_id"}, path=str(tmp_path / "x.csv")
    )  # fmt: skip
    lineage = operator.get_openlineage_facets_on_complete(FinishedTaskInstance("seed", None))
    assert lineage.inputs == [Dataset(namespace="file", name=str(tmp_path / "x.csv"))]
    assert lineage.outputs == []


def test_a_mapped_column_matches_a_result_column_the_database_folds():
    from airflow_provider_mparticle.openlineage import _origins

    users = Dataset(namespace="postgres://db:5432", name="crm.public.users")
    # PostgreSQL returns SELECT LTV as a column named ltv, which is what the mapping names.
    assert _origins({"LTV": [(users, "ltv")], "id": []}, "ltv") == [(users, "ltv")]
    assert _origins({"LTV": [(users, "ltv")], "Ltv": [(users, "x")]}, "ltv") == []  # ambiguous: none


@pytest.mark.parametrize(
    ("path", "namespace", "name"),
    [
        ("s3://aws_default@bucket/exports/seeds.csv", "s3://bucket", "exports/seeds.csv"),
        ("gs://bucket/a%20b/seeds.jsonl", "gs://bucket", "a b/seeds.jsonl"),
        ("file:///data/seeds.csv", "file", "/data/seeds.csv"),
        ("https://example.com/seeds.csv", "https://example.com", "seeds.csv"),
    ],
)
def test_file_datasets_follow_the_openlineage_naming(path, namespace, name):
    assert file_dataset(path) == Dataset(namespace=namespace, name=name)


# --- Warehouse Sync ---------------------------------------------------------------------------------


PIPELINE = "example-pipeline"


def test_pipeline_run_reads_the_data_model_tables_and_writes_the_workspace(
    client, mparticle_conn_id, mparticle_emulator
):
    create_pipeline(client)
    mparticle_emulator.control.plan_pipeline_runs(PIPELINE, successful_records=42, failed_records=1)
    operator = MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id=PIPELINE, deferrable=False, poll_interval=0.01
    )
    result, lineage, _ = run(operator)

    source = Dataset(namespace="snowflake://gd12345.us-central1.gcp", name="MP.DEMO.USERS")
    assert lineage.inputs == [source]
    assert lineage.job_facets["sql"].query == "SELECT email AS email, plan AS plan FROM mp.demo.users"
    [output] = lineage.outputs
    assert (output.namespace, output.name) == (workspace(mparticle_emulator), "user-attributes")
    assert output.outputFacets["outputStatistics"].rowCount == 42
    fields = output.facets["columnLineage"].fields
    assert {name: [(f.name, f.field) for f in field.inputFields] for name, field in fields.items()} == {
        "email": [("MP.DEMO.USERS", "email")],
        "plan": [("MP.DEMO.USERS", "plan")],
    }
    assert lineage.run_facets["externalQuery"] == external_query_run.ExternalQueryRunFacet(
        externalQueryId=f"{PIPELINE}/{result['run_id']}", source=workspace(mparticle_emulator)
    )
    assert isinstance(output.facets["columnLineage"], column_lineage_dataset.ColumnLineageDatasetFacet)


WAREHOUSES = [
    (
        {
            "service_provider": "BigQuery",
            "config": {"project_id": "my-gcp-project", "service_account_key": "{}"},
        },
        "SELECT user_id AS customer_id FROM analytics.users",
        ("bigquery", "my-gcp-project.analytics.users"),
    ),
    (
        {
            "service_provider": "Redshift",
            "config": {
                "database": "dev",
                "host": "dwi-test.ab123yyxwwzz.us-east-1.redshift.amazonaws.com",
                "user": "mParticle",
                "password": "secret",
            },
        },
        "SELECT email FROM users",
        ("redshift://dwi-test.us-east-1:5439", "dev.public.users"),
    ),
    (
        {"service_provider": "Databricks", "config": {"provider": "acme-org", "schema": "crm"}},
        "SELECT email FROM users",
        ("databricks://acme-org", "crm.users"),
    ),
]


@pytest.mark.parametrize(
    ("connection", "sql", "expected"), WAREHOUSES, ids=["bigquery", "redshift", "databricks"]
)
def test_pipeline_inputs_are_named_for_each_warehouse(client, mparticle_conn_id, mparticle_emulator, connection, sql, expected):  # fmt: skip
    api = client.warehouse_sync
    api.create_connection({**CONNECTION, "id": "wh", "name": "Warehouse", **connection})
    api.create_data_model({"id": "model", "name": "Model", "type": "sql", "config": {"sql_query": sql}})
    create_pipeline(
        client,
        connection_id="wh",
        data_model_id="model",
        pipeline_type="events",
        field_transformation_id="ft",
    )
    operator = MParticleTriggerPipelineOperator(
        task_id="sync", pipeline_id=PIPELINE, deferrable=False, poll_interval=0.01
    )
    _, lineage, _ = run(operator)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [expected]
    assert [o.name for o in lineage.outputs] == ["events"]


def test_snowflake_namespace_is_the_account_locator_and_region():
    from airflow_provider_mparticle.client.warehouse_sync.models import WarehouseConnection

    info, dialect, schema = warehouse_database_info(WarehouseConnection.from_api(CONNECTION))
    assert (info.scheme, info.authority, info.database, info.is_uppercase_names) == (
        "snowflake",
        "gd12345.us-central1.gcp",
        "my_database",
        True,
    )
    assert (dialect, schema) == ("snowflake", "PUBLIC")


def test_pipeline_lineage_survives_a_pipeline_that_is_gone(client, mparticle_conn_id, mparticle_emulator):
    create_pipeline(client)
    operator = MParticleTriggerPipelineOperator(task_id="sync", pipeline_id=PIPELINE, deferrable=False, poll_interval=0.01)  # fmt: skip
    result = operator.execute({})
    client.warehouse_sync.delete_pipeline(PIPELINE)
    lineage = operator.get_openlineage_facets_on_complete(FinishedTaskInstance("sync", result))
    assert lineage.inputs == []
    assert lineage.outputs == []  # what it wrote is unknown: no made-up dataset
    assert lineage.run_facets["externalQuery"].externalQueryId == f"{PIPELINE}/{result['run_id']}"
