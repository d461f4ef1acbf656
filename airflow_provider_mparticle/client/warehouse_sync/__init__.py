"""Warehouse Sync API v2: the calls (:mod:`.api`) and the typed answers and status sets
(:mod:`.models`).

The names of the former ``client.warehouse_sync`` module are importable from here, loaded on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_mparticle.client.core.lazy import lazy_names

if TYPE_CHECKING:
    from airflow_provider_mparticle.client.warehouse_sync.api import (
        AsyncWarehouseSyncApi,
        WarehouseSyncApi,
        WarehouseSyncCalls,
    )
    from airflow_provider_mparticle.client.warehouse_sync.models import (
        ALREADY_IN_PROGRESS,
        FAILURE_RUN_STATUSES,
        PIPELINE_STATUSES,
        READ_ONLY_FIELDS,
        RUN_STATUSES,
        SUCCESS_RUN_STATUSES,
        TERMINAL_RUN_STATUSES,
        DataModel,
        KillPolicy,
        Pipeline,
        PipelineReport,
        PipelineRun,
        PipelineRunStatus,
        PipelineStatus,
        RunsPage,
        TriggerIntent,
        TriggerResult,
        WarehouseConnection,
        is_already_in_progress,
        parse_run_id,
        run_started_by,
    )

# Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "ALREADY_IN_PROGRESS": "airflow_provider_mparticle.client.warehouse_sync.models",
    "AsyncWarehouseSyncApi": "airflow_provider_mparticle.client.warehouse_sync.api",
    "DataModel": "airflow_provider_mparticle.client.warehouse_sync.models",
    "FAILURE_RUN_STATUSES": "airflow_provider_mparticle.client.warehouse_sync.models",
    "KillPolicy": "airflow_provider_mparticle.client.warehouse_sync.models",
    "PIPELINE_STATUSES": "airflow_provider_mparticle.client.warehouse_sync.models",
    "Pipeline": "airflow_provider_mparticle.client.warehouse_sync.models",
    "PipelineReport": "airflow_provider_mparticle.client.warehouse_sync.models",
    "PipelineRun": "airflow_provider_mparticle.client.warehouse_sync.models",
    "PipelineRunStatus": "airflow_provider_mparticle.client.warehouse_sync.models",
    "PipelineStatus": "airflow_provider_mparticle.client.warehouse_sync.models",
    "READ_ONLY_FIELDS": "airflow_provider_mparticle.client.warehouse_sync.models",
    "RUN_STATUSES": "airflow_provider_mparticle.client.warehouse_sync.models",
    "RunsPage": "airflow_provider_mparticle.client.warehouse_sync.models",
    "SUCCESS_RUN_STATUSES": "airflow_provider_mparticle.client.warehouse_sync.models",
    "TERMINAL_RUN_STATUSES": "airflow_provider_mparticle.client.warehouse_sync.models",
    "TriggerIntent": "airflow_provider_mparticle.client.warehouse_sync.models",
    "TriggerResult": "airflow_provider_mparticle.client.warehouse_sync.models",
    "WarehouseConnection": "airflow_provider_mparticle.client.warehouse_sync.models",
    "WarehouseSyncApi": "airflow_provider_mparticle.client.warehouse_sync.api",
    "WarehouseSyncCalls": "airflow_provider_mparticle.client.warehouse_sync.api",
    "is_already_in_progress": "airflow_provider_mparticle.client.warehouse_sync.models",
    "parse_run_id": "airflow_provider_mparticle.client.warehouse_sync.models",
    "run_started_by": "airflow_provider_mparticle.client.warehouse_sync.models",
}

__all__ = [
    "ALREADY_IN_PROGRESS",
    "FAILURE_RUN_STATUSES",
    "PIPELINE_STATUSES",
    "READ_ONLY_FIELDS",
    "RUN_STATUSES",
    "SUCCESS_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "AsyncWarehouseSyncApi",
    "DataModel",
    "KillPolicy",
    "Pipeline",
    "PipelineReport",
    "PipelineRun",
    "PipelineRunStatus",
    "PipelineStatus",
    "RunsPage",
    "TriggerIntent",
    "TriggerResult",
    "WarehouseConnection",
    "WarehouseSyncApi",
    "WarehouseSyncCalls",
    "is_already_in_progress",
    "parse_run_id",
    "run_started_by",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
