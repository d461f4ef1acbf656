"""Example workspace resources that the example DAGs expect, for tests, the demo and the e2e run.

The emulator starts empty; a Warehouse Sync pipeline, unlike a DAG's other inputs, is configured once in
mParticle rather than by the DAG. These functions create it through the client, as a user would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_mparticle.client import MParticleClient
    from airflow_provider_mparticle.client.warehouse_sync.models import Pipeline
    from airflow_provider_mparticle.testing.emulator import EmulatorControl

CONNECTION = {
    "id": "example-snowflake-connection",
    "name": "Example Snowflake Connection",
    "state": "active",
    "service_provider": "Snowflake",
    "config": {
        "account_identifier": "gd12345",
        "region": "us-central1.gcp",
        "warehouse": "compute_wh",
        "database": "my_database",
        "role": "mparticle_role",
        "user": "mparticle_user",
        "password": "mParticleSecurePassword",
        "storage_integration": "mp_us1_123_123_s3",
    },
}
DATA_MODEL = {
    "id": "example-data-model",
    "name": "Example Data Model",
    "state": "active",
    "type": "sql",
    "config": {"sql_query": "SELECT email AS email, plan AS plan FROM mp.demo.users"},
}


def pipeline_body(pipeline_id: str = "example-pipeline", **changes: Any) -> dict[str, Any]:
    return {
        "id": pipeline_id,
        "name": f"Pipeline {pipeline_id}",
        "pipeline_type": "user_attributes",
        "connection_id": CONNECTION["id"],
        "data_model_id": DATA_MODEL["id"],
        "state": "active",
        "sync_mode": {
            "type": "incremental",
            "iterator_field": "updated_at",
            "iterator_data_type": "timestamp",
        },
        "schedule": {"type": "on_demand"},
        "environment": "development",
        **changes,
    }


def create_pipeline(
    client: MParticleClient, pipeline_id: str = "example-pipeline", **changes: Any
) -> Pipeline:
    """Create the connection and data model if missing, then the pipeline; returns the pipeline."""
    api = client.warehouse_sync
    if not any(c.id == CONNECTION["id"] for c in api.list_connections()):
        api.create_connection(CONNECTION)
        api.create_data_model(DATA_MODEL)
    return api.create_pipeline(pipeline_body(pipeline_id, **changes))


# --- Seeding examples ------------------------------------------------------------------------------

LTV_DEFINITION: dict[str, Any] = {
    "recipe_type": "event",
    "data_point": {
        "type": "event",
        "event_name": "Purchase",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
        "attribute_name": "Total Amount",
        "attribute_category": "product_attribute",
    },
    "conditions": [],
    "calculation_type": "sum",
    "time_period": {"type": "since", "date": "2026-01-01T00:00:00"},
    "seeding": {"cutoff_date": "2026-06-01T00:00:00"},
}


def create_ltv_attribute(client: MParticleClient, name: str = "LTV") -> int:
    """The calculated attribute the sharded seeding example seeds (created if missing); returns its id."""
    existing = client.calculated_attributes.find_by_name(name)
    if existing is not None:
        return existing.id
    return client.calculated_attributes.create(name, LTV_DEFINITION)


# The pipeline the pipeline-control example pauses and resumes: its own, so that it can run next to the
# Warehouse Sync example without pausing the pipeline that example triggers.
CONTROL_PIPELINE_ID = "example-control-pipeline"
# The calculated attribute whose draft the discard-draft example discards.
DRAFT_ATTRIBUTE_NAME = "Churn Score"


def create_attribute_with_draft(client: MParticleClient, name: str = DRAFT_ATTRIBUTE_NAME) -> int:
    """An active calculated attribute with a pending draft (a ``max`` instead of a ``sum``); returns its id."""
    ca_id = client.calculated_attributes.create(name, LTV_DEFINITION)
    client.calculated_attributes.activate(ca_id)
    client.calculated_attributes.update(
        ca_id, name=name, draft_definition={**LTV_DEFINITION, "calculation_type": "max"}
    )
    return ca_id


def create_example_warehouse(path: str, customers: int = 1000) -> dict[str, Any]:
    """A SQLite 'warehouse' with a ``customer_ltv`` table (id, customer_id, ltv) of ``customers`` rows.

    Returns the JSON form of a ``sqlite`` connection to it (for ``AIRFLOW_CONN_...``).
    """
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS customer_ltv")
        db.execute("CREATE TABLE customer_ltv (id INTEGER PRIMARY KEY, customer_id TEXT, ltv REAL)")
        db.executemany(
            "INSERT INTO customer_ltv VALUES (?, ?, ?)",
            [(i, f"c{i}", round(i * 1.5, 2)) for i in range(1, customers + 1)],
        )
    return {"conn_type": "sqlite", "host": path}


# --- A populated workspace (console screenshots, snapshot tests) -------------------------------------

PURCHASE_POINT: dict[str, Any] = {
    "description": "A purchase with its order total",
    "match": {
        "type": "custom_event",
        "criteria": {"event_name": "Purchase", "custom_event_type": "transaction"},
    },
    "validator": {
        "type": "json_schema",
        "definition": {
            "properties": {
                "data": {
                    "properties": {
                        "custom_attributes": {
                            "properties": {"total": {"type": "number"}},
                            "required": ["total"],
                        }
                    }
                }
            }
        },
    },
}


def seed_users(client: MParticleClient, name: str, count: int) -> None:
    """Seed ``count`` users (``customer_id`` c1..cN, value = 10 x N) into the sum attribute ``name``."""
    cutoff = LTV_DEFINITION["seeding"]["cutoff_date"][:10]
    users = [
        {
            "environment": "development",
            "identities": {"customer_id": f"c{i}"},
            "calculated_attributes": {
                "workspace": [
                    {
                        "attribute_name": name,
                        "calculation_type": "sum",
                        "cutoff_date": cutoff,
                        "seed": {"value": i * 10},
                    }
                ]
            },
        }
        for i in range(1, count + 1)
    ]
    for start in range(0, len(users), 100):
        client.seeding.seed_users(users[start : start + 100])


def create_example_workspace(client: MParticleClient, control: EmulatorControl) -> None:
    """Fill an emulator (reset, no propagation delay) with one of each thing its console shows.

    An active, part-calculated 'LTV' with 25 seeded users, a draft 'Orders', a pipeline with a
    successful and a failed run, and a data plan with two versions.
    """
    ltv = create_ltv_attribute(client)
    seed_users(client, "LTV", 25)
    client.calculated_attributes.activate(ltv)
    client.calculated_attributes.calculation_status(ltv)
    client.calculated_attributes.create("Orders", {**LTV_DEFINITION, "calculation_type": "count"})
    settings = control.configure()
    control.configure(progress_mode="immediate")
    try:
        pipeline = create_pipeline(client)
        control.plan_pipeline_runs(pipeline.id, successful_records=1200, failed_records=3)
        client.warehouse_sync.trigger(pipeline.id)
        control.plan_pipeline_runs(
            pipeline.id, outcome="failed", errors=["Warehouse query timed out."], successful_records=0
        )
        client.warehouse_sync.trigger(pipeline.id)
        client.warehouse_sync.report(pipeline.id)  # observed, so the failed run ends now
    finally:
        control.configure(progress_mode=settings["progress_mode"])
    versions = [
        {"version": n, "activated_environment": env, "version_document": {"data_points": [PURCHASE_POINT]}}
        for n, env in ((1, "production"), (2, "development"))
    ]
    client.data_planning.create_plan(
        {"data_plan_id": "web_events", "data_plan_name": "Web Events", "data_plan_versions": versions}
    )
