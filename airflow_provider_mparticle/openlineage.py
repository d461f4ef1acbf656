"""OpenLineage for seeding and Warehouse Sync: what the operators read and what they write in mParticle.

The seeding operator reads a SQL query, a file or rows and writes calculated attributes; a Warehouse
Sync run reads a data model's SQL in a warehouse and writes user attributes or events. Both report it
through ``get_openlineage_facets_on_complete``, which delegates here:

- **inputs**: for a SQL source, what Airflow's SQL lineage makes of the query (the connection's
  ``DbApiHook`` database info and the OpenLineage SQL parser, as ``SQLExecuteQueryOperator`` does); a
  hook without database info (SQLite, for one) still gets its tables parsed, in a
  ``<conn type>://<host>`` namespace. For a file, its path or URL. For a pipeline, the data model's
  ``sql_query`` parsed in the namespace of the pipeline's warehouse connection (Snowflake, BigQuery,
  Redshift, Databricks, named as OpenLineage's naming conventions say).
- **outputs**: datasets in the ``mparticle://<workspace id>`` namespace: ``calculated-attributes/<name>``
  per seeded calculated attribute (the same identity as the ``mparticle://`` Airflow asset, see
  :mod:`airflow_provider_mparticle.assets`) and ``user-attributes`` when user attributes are sent along;
  ``user-attributes`` or ``events`` for a pipeline; with an
  ``outputStatistics`` facet (users sent, records synced) from the task's result, and a
  ``columnLineage`` facet from the source columns.

``apache-airflow-providers-openlineage`` is optional (the ``openlineage`` extra): without it this module
still imports (nothing here imports it at module level) and the functions return None. A failure while
gathering lineage never fails the task: OpenLineage's extractor catches and logs it, and lookups that
need the network here degrade to the datasets that are known without them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_mparticle.assets import CALCULATED_ATTRIBUTES, SCHEME, USER_ATTRIBUTES, parse_uri

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.providers.openlineage.sqlparser import DatabaseInfo
    from openlineage.client.event_v2 import Dataset

    from airflow_provider_mparticle.client.warehouse_sync.models import WarehouseConnection

log = logging.getLogger(__name__)

# Warehouse Sync pipeline types -> the dataset they write in the workspace (as in assets.workspace_asset).
PIPELINE_OUTPUTS = {"user_attributes": USER_ATTRIBUTES, "events": "events"}


def workspace_namespace(workspace_id: str | int) -> str:
    """The OpenLineage namespace of an mParticle workspace: ``mparticle://<workspace id>``."""
    return f"{SCHEME}://{workspace_id}"


def calculated_attribute_dataset_name(name: str) -> str:
    """The OpenLineage dataset name of a calculated attribute: ``calculated-attributes/<name>``."""
    return f"{CALCULATED_ATTRIBUTES}/{name}"


def openlineage_available() -> bool:
    """Whether ``apache-airflow-providers-openlineage`` can be imported."""
    try:
        import airflow.providers.openlineage.extractors  # noqa: F401
    except ImportError:
        return False
    return True


# --- Airflow asset -> OpenLineage dataset ----------------------------------------------------------


def convert_asset_to_openlineage(asset: Any, lineage_context: Any = None) -> Dataset:
    """Airflow's ``asset-uris`` OpenLineage converter for ``mparticle://`` assets.

    Declared outlets of operators without lineage methods of their own (ensure, activate) become the
    same datasets as the seeding operator's outputs.

    :param asset: an Airflow ``Asset`` with an ``mparticle://`` URI.
    :param lineage_context: unused (part of Airflow's converter signature).
    """
    from openlineage.client.event_v2 import Dataset

    workspace, dataset, name = parse_uri(asset.uri)
    return Dataset(namespace=workspace_namespace(workspace), name=f"{dataset}/{name}" if name else dataset)


# --- seeding --------------------------------------------------------------------------------------


def seed_lineage(operator: Any, task_instance: Any) -> OperatorLineage | None:
    """Lineage of a finished :class:`MParticleSeedCalculatedAttributesOperator` task.

    :param operator: the seeding operator (templates rendered).
    :param task_instance: the task instance; its return value (the run summary) gives the counts.
    """
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    lineage: OperatorLineage = OperatorLineage()
    column_lineage: dict[str, list[tuple[Dataset, str]]] = {}
    attributes = [ca for ca in operator.calculated_attributes or [] if isinstance(ca, Mapping)]
    user_attributes = operator.user_attributes if isinstance(operator.user_attributes, Mapping) else {}
    if operator.sql is not None and operator.sql_conn_id:
        lineage, column_lineage = _sql_lineage(operator.sql_conn_id, operator.sql)
    elif operator.path is not None:
        source = file_dataset(operator.path)
        lineage = OperatorLineage(inputs=[source])
        columns = [*(c for ca in attributes for c in _columns_of(ca)), *map(str, user_attributes.values())]
        column_lineage = {column: [(source, column)] for column in columns}

    workspace = MParticleHook(operator.mparticle_conn_id).settings.workspace_id
    if not workspace:
        log.warning(
            "OpenLineage: connection %r has no workspace_id, so the calculated attributes seeded cannot "
            "be named as datasets; set it to report them.",
            operator.mparticle_conn_id,
        )
        return lineage
    summary = task_result(task_instance)
    users = summary.get("users_sent_total", summary.get("users_sent")) if summary else None
    outputs = []
    for ca in attributes:
        sources = [origin for column in _columns_of(ca) for origin in _origins(column_lineage, column)]
        outputs.append(
            _output(
                workspace,
                calculated_attribute_dataset_name(str(ca.get("name"))),
                rows=users,
                columns={"value": sources},
                transformation=f"seeded as {ca.get('calculation_type')}",
            )
        )
    if user_attributes:
        # Sent along with the seeds: the same profile attributes a user_attributes pipeline writes.
        outputs.append(
            _output(
                workspace,
                PIPELINE_OUTPUTS["user_attributes"],
                rows=users,
                columns={
                    str(name): _origins(column_lineage, str(column))
                    for name, column in user_attributes.items()
                },
                transformation="sent with the seeds",
            )
        )
    lineage.outputs = [*lineage.outputs, *outputs]
    return lineage


def _columns_of(ca: Mapping[str, Any]) -> list[str]:
    return [str(ca[key]) for key in ("column", "sum_column", "count_column") if ca.get(key)]


def _origins(
    column_lineage: Mapping[str, list[tuple[Dataset, str]]], column: str
) -> list[tuple[Dataset, str]]:
    if column in column_lineage:
        return column_lineage[column]
    # Some databases fold unquoted names (PostgreSQL: SELECT LTV returns a column named ltv).
    folded = [origins for name, origins in column_lineage.items() if name.lower() == column.lower()]
    return folded[0] if len(folded) == 1 else []


def file_dataset(path: Any) -> Dataset:
    """The OpenLineage dataset of a file: ``file`` + absolute path, or ``<scheme>://<bucket>`` + key.

    :param path: a local path, a URL, or an ``ObjectStoragePath``.
    """
    import os

    from openlineage.client.event_v2 import Dataset

    text = str(path)
    parts = urlsplit(text)
    if len(parts.scheme) <= 1:  # no scheme, or a Windows drive letter
        return Dataset(namespace="file", name=os.path.abspath(text))
    # ObjectStoragePath URLs may carry a connection id as user info: not part of the dataset's identity.
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme == "file":
        return Dataset(namespace=f"file://{host}" if host else "file", name=unquote(parts.path))
    return Dataset(namespace=f"{parts.scheme}://{host}", name=unquote(parts.path).lstrip("/"))


def _sql_lineage(
    conn_id: str, sql: str | list[str]
) -> tuple[OperatorLineage, dict[str, list[tuple[Dataset, str]]]]:
    """Inputs and SQL facets of a query on an Airflow SQL connection, and its columns' origins."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.providers.openlineage.sqlparser import (
        DatabaseInfo,
        SQLParser,
        get_openlineage_facets_with_sql,
    )
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    hook = connection.get_hook()  # type: ignore[no-untyped-call]
    if not isinstance(hook, DbApiHook):
        return OperatorLineage(), {}
    lineage = get_openlineage_facets_with_sql(hook=hook, sql=sql, conn_id=conn_id, database=None)
    dialect = hook.get_openlineage_database_dialect(connection)
    default_schema = _default_schema(hook, connection)
    if lineage is None:
        # No database info from this hook: the parsed tables alone, in a namespace from the connection.
        info = DatabaseInfo(scheme=connection.conn_type or "sql", authority=_authority(connection))
        lineage = SQLParser(
            dialect=dialect, default_schema=default_schema
        ).generate_openlineage_metadata_from_sql(sql=sql, hook=hook, database_info=info, use_connection=False)
    return lineage, _column_origins(sql, dialect, default_schema, lineage.inputs)


def _default_schema(hook: Any, connection: Any) -> str | None:
    if connection.conn_type == "sqlite":
        return "main"  # SQLite's name for the database file's own schema
    default: str | None = hook.get_openlineage_default_schema()
    return default


def _authority(connection: Any) -> str | None:
    host = connection.host or None
    if host and connection.port:
        return f"{host}:{connection.port}"
    return host


def _column_origins(
    sql: str | list[str], dialect: str | None, default_schema: str | None, inputs: Sequence[Dataset]
) -> dict[str, list[tuple[Dataset, str]]]:
    """Result column -> the input datasets and columns it is computed from (OpenLineage's SQL parser)."""
    from airflow.providers.openlineage.sqlparser import SQLParser

    parser = SQLParser(dialect=dialect, default_schema=default_schema)
    parsed = parser.parse(parser.split_sql_string(sql))
    if parsed is None:
        return {}
    origins: dict[str, list[tuple[Dataset, str]]] = {}
    for column in parsed.column_lineage:
        for meta in column.lineage:
            dataset = _matching_input(meta.origin, inputs) if meta.origin else None
            if dataset is not None:
                origins.setdefault(column.descendant.name, []).append((dataset, meta.name))
    return origins


def _matching_input(table: Any, inputs: Sequence[Dataset]) -> Dataset | None:
    """The input dataset named after a parsed table (inputs may add the database or upper-case it)."""
    suffix = f"{table.schema}.{table.name}".lower() if table.schema else table.name.lower()
    for dataset in inputs:
        name = dataset.name.lower()
        if name == suffix or name.endswith("." + suffix):
            return dataset
    return None


def _output(
    workspace: str | int,
    name: str,
    *,
    rows: Any,
    columns: Mapping[str, Sequence[tuple[Dataset, str]]],
    transformation: str,
) -> Dataset:
    """An output dataset in the workspace, with row count and column lineage when known."""
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import column_lineage_dataset, output_statistics_output_dataset

    facets: dict[str, Any] = {}
    # DIRECT: the output's values come from these columns (not only filtered or joined by them).
    how = [column_lineage_dataset.Transformation(type="DIRECT", description=transformation)]
    fields = {
        field: column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(
                    namespace=d.namespace, name=d.name, field=column, transformations=how
                )
                for d, column in sources
            ]
        )
        for field, sources in columns.items()
        if sources
    }
    if fields:
        facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)
    output_facets: dict[str, Any] = {}
    if isinstance(rows, int) and not isinstance(rows, bool):
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
        )
    return OutputDataset(
        namespace=workspace_namespace(workspace), name=name, facets=facets, outputFacets=output_facets
    )


def task_result(task_instance: Any) -> Mapping[str, Any] | None:
    """The task's return value (its XCom), or None when it has none or it cannot be read."""
    if task_instance is None:
        return None
    try:
        value = task_instance.xcom_pull(
            task_ids=task_instance.task_id, key="return_value", map_indexes=task_instance.map_index
        )
    except Exception as error:  # lineage must not fail the task
        log.debug("OpenLineage: cannot read the task's result: %s", error)
        return None
    return value if isinstance(value, Mapping) else None


# --- Warehouse Sync -------------------------------------------------------------------------------


def pipeline_lineage(operator: Any, task_instance: Any) -> OperatorLineage | None:
    """Lineage of a finished :class:`MParticleTriggerPipelineOperator` task.

    Reads the pipeline, its data model and its warehouse connection from the Warehouse Sync API (the
    connection's secrets come back masked and are not used).

    :param operator: the pipeline operator (templates rendered).
    :param task_instance: the task instance; its return value gives the run id and records synced.
    """
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from airflow.providers.openlineage.sqlparser import SQLParser
        from openlineage.client.facet_v2 import external_query_run
    except ImportError:
        return None
    from airflow_provider_mparticle.client import MParticleError
    from airflow_provider_mparticle.hooks.mparticle import MParticleHook

    hook = MParticleHook(operator.mparticle_conn_id)
    workspace = hook.settings.workspace_id
    result = task_result(task_instance) or {}
    lineage: OperatorLineage = OperatorLineage()
    origins: dict[str, list[tuple[Dataset, str]]] = {}
    pipeline_type = None
    try:
        with hook.get_client() as client:
            api = client.warehouse_sync
            pipeline = api.get_pipeline(str(operator.pipeline_id))
            pipeline_type = pipeline.pipeline_type
            model = api.get_data_model(pipeline.data_model_id) if pipeline.data_model_id else None
            warehouse = api.get_connection(pipeline.connection_id) if pipeline.connection_id else None
    except MParticleError as error:
        log.warning("OpenLineage: cannot read pipeline %s: %s", operator.pipeline_id, error)
        model = warehouse = None
    if model is not None and model.sql_query and warehouse is not None:
        info, dialect, default_schema = warehouse_database_info(warehouse)
        parser = SQLParser(dialect=dialect, default_schema=default_schema)
        # The warehouse is mParticle's to reach, not Airflow's: no hook, no schema look-up.
        lineage = parser.generate_openlineage_metadata_from_sql(
            sql=model.sql_query,
            hook=None,  # type: ignore[arg-type]
            database_info=info,
            use_connection=False,
        )
        origins = _column_origins(model.sql_query, dialect, default_schema, lineage.inputs)
    if not workspace:
        log.warning(
            "OpenLineage: connection %r has no workspace_id; the pipeline's output cannot be named.",
            operator.mparticle_conn_id,
        )
        return lineage
    if result.get("run_id") is not None:
        lineage.run_facets = {
            **lineage.run_facets,
            "externalQuery": external_query_run.ExternalQueryRunFacet(
                externalQueryId=f"{operator.pipeline_id}/{result['run_id']}",
                source=workspace_namespace(workspace),
            ),
        }
    target = PIPELINE_OUTPUTS.get(str(pipeline_type)) or str(pipeline_type or "").replace("_", "-")
    if target:  # else the pipeline could not be read: what it writes is unknown
        output = _output(
            workspace,
            target,
            rows=result.get("successful_records"),
            columns=origins,
            transformation=f"Warehouse Sync pipeline {operator.pipeline_id}",
        )
        lineage.outputs = [*lineage.outputs, output]
    return lineage


def warehouse_database_info(connection: WarehouseConnection) -> tuple[DatabaseInfo, str, str | None]:
    """``(DatabaseInfo, SQL dialect, default schema)`` of a Warehouse Sync connection.

    Namespaces follow OpenLineage's naming conventions where the connection's (unmasked) settings
    allow: ``snowflake://<account locator>.<region>``, ``bigquery``, ``redshift://<cluster>.<region>:<port>``,
    ``databricks://<organization>``.

    :param connection: the warehouse connection, as the Warehouse Sync API returns it.
    """
    from airflow.providers.openlineage.sqlparser import DatabaseInfo

    config = connection.config
    provider = str(connection.service_provider or "").lower()
    if provider == "snowflake":
        account = str(config.get("account_identifier") or "")
        region = str(config.get("region") or "")
        if region and region.lower() not in account.lower():
            account = f"{account}.{region}"
        info = DatabaseInfo(
            scheme="snowflake",
            authority=account or None,
            database=config.get("database"),
            is_uppercase_names=True,
        )
        return info, "snowflake", "PUBLIC"
    if provider == "bigquery":
        return DatabaseInfo(scheme="bigquery", database=config.get("project_id")), "bigquery", None
    if provider == "redshift":
        host = str(config.get("host") or "")
        labels = host.split(".")
        # <cluster>.<id>.<region>.redshift.amazonaws.com -> <cluster>.<region>
        cluster = f"{labels[0]}.{labels[2]}" if len(labels) > 3 else host
        port = config.get("port") or 5439
        info = DatabaseInfo(
            scheme="redshift",
            authority=f"{cluster}:{port}" if cluster else None,
            database=config.get("database"),
        )
        return info, "redshift", "public"
    if provider == "databricks":
        info = DatabaseInfo(scheme="databricks", authority=config.get("provider") or None)
        return info, "databricks", config.get("schema") or "default"
    return DatabaseInfo(scheme=provider or "warehouse"), "generic", None
