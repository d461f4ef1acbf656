"""Seed a calculated attribute for many users, sharded over workers with dynamic task mapping.

Each mapped task seeds one key range of the warehouse table, read in batches through the SQL
connection ``mparticle_seed_source`` (any ``common.sql`` connection: Postgres, Snowflake, BigQuery,
SQLite...). A failed shard retries on its own and resumes after its last acknowledged chunk; the
other shards are not touched. Sharding over files works the same way:
``.expand(path=["s3://bucket/seeds/part-0.csv", ...])``.

Create the calculated attribute (with its seeding cutoff date) before running this DAG, and activate
it after: seeds sent after activation are accepted, but users show wrong values until theirs arrive.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_mparticle.operators.seeding import MParticleSeedCalculatedAttributesOperator

SHARDS = 4
KEYS_PER_SHARD = 250

with DAG(
    dag_id="example_mparticle_sharded_seed",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1),
    catchup=False,
    tags=["mparticle", "example"],
) as dag:
    # [START howto_operator_mparticle_seed]
    seed_ltv = MParticleSeedCalculatedAttributesOperator.partial(
        task_id="seed_ltv",
        sql_conn_id="mparticle_seed_source",
        sql="SELECT customer_id, ltv FROM customer_ltv WHERE id > :low AND id <= :high ORDER BY id",
        calculated_attributes=[
            {"name": "LTV", "calculation_type": "sum", "cutoff_date": "2026-06-01", "column": "ltv"},
        ],
        identities={"customer_id": "customer_id"},
        on_invalid="skip",
        max_invalid_share=0.01,
        # Optional: a known budget for the whole workspace; each mapped task paces at its share.
        workspace_users_per_second=2000,
        retries=3,
        retry_delay=dt.timedelta(seconds=1),
    ).expand(
        parameters=[
            {"low": shard * KEYS_PER_SHARD, "high": (shard + 1) * KEYS_PER_SHARD} for shard in range(SHARDS)
        ]
    )
    # [END howto_operator_mparticle_seed]
